"""Does Lake Formation let a principal make an S3 call on a governed bucket? (pure)

Used only with ``--lake-formation strict``, a local mode stricter than AWS: in AWS, and by
default in the engine, direct S3 calls are IAM's alone (Lake Formation governs its
catalog, the query engines and the credentials it vends).

Semantics (the same as nexuskit's lake access layer, ``nexuskit.lake.grants``):

* A bucket is governed when a Lake Formation data location registers it (or a prefix of
  it: then only keys under that prefix are governed). Calls on other buckets: allowed.
* S3 data actions are classified: object and listing reads need ``SELECT``, puts and
  copies ``INSERT``, deletes ``DELETE`` (``ALL`` counts for each); every other action
  (bucket configuration, ACL reads, ...) is not Lake Formation's to decide: allowed.
* Lake Formation administrators may do everything; grants to ``IAM_ALLOWED_PRINCIPALS``
  apply to every principal.
* A grant on all tables of a database (``TableWildcard``) covers the database's bucket
  (``LocationUri``); a grant on one table covers the keys of that dataset, i.e. keys whose
  dataset segment (:func:`dataset_of_key`) is the table's name.
* An assumed-role session counts as its role.

How the IAM extension calls it in strict mode (after IAM allowed the request, for
``target.service == "s3"``; ``check.resource.arn`` is ``arn:aws:s3:::bucket[/key]``)::

    from emulation.lakeformation.enforcement import lake_formation_allows_arn
    from emulation.lakeformation.state import grants_from_moto

    grants = grants_from_moto(identity.account_id or DEFAULT_ACCOUNT_ID)
    for check in target.checks:
        if not lake_formation_allows_arn(identity.role_arn or identity.arn, check.action,
                                         str(check.resource.arn), grants):
            return Denial(identity.arn, check.action, str(check.resource.arn),
                          "no Lake Formation permission on the tier", AccessDeniedException(...))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
READ, INSERT, DELETE = "read", "insert", "delete"
ALLOWING = {
    READ: frozenset({"SELECT", "ALL"}),
    INSERT: frozenset({"INSERT", "ALL"}),
    DELETE: frozenset({"DELETE", "ALL"}),
}

_READ_ACTIONS = frozenset(
    a.lower()
    for a in (
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetObjectAttributes",
        "s3:GetObjectVersionAttributes",
        "s3:GetObjectTagging",
        "s3:GetObjectVersionTagging",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:ListMultipartUploadParts",
        "s3:RestoreObject",
    )
)
_INSERT_ACTIONS = frozenset(
    a.lower()
    for a in (
        "s3:PutObject",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
        "s3:AbortMultipartUpload",
        "s3:PutObjectRetention",
        "s3:PutObjectLegalHold",
    )
)
_DELETE_ACTIONS = frozenset(
    a.lower()
    for a in (
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:DeleteObjectTagging",
        "s3:DeleteObjectVersionTagging",
    )
)
_ASSUMED_ROLE = re.compile(r"^arn:(?P<p>[\w-]+):sts::(?P<a>\d+):assumed-role/(?P<r>[^/]+)/.+$")
S3_ARN = re.compile(r"^arn:[\w-]+:s3:::(?P<bucket>[^/]+)(?:/(?P<key>.*))?$")


@dataclass(frozen=True)
class Grant:
    """Permissions of one principal on one governed bucket (all tables, or one dataset)."""

    principal: str
    bucket: str
    dataset: str | None
    permissions: frozenset[str]


@dataclass(frozen=True)
class LakeGrants:
    """What :func:`lake_formation_allows` needs to know about Lake Formation."""

    admins: frozenset[str] = frozenset()
    #: bucket -> registered key prefixes ("" = the whole bucket)
    locations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    grants: tuple[Grant, ...] = ()


def normalize_principal(arn: str) -> str:
    """``arn:aws:sts::1:assumed-role/R/s`` -> ``arn:aws:iam::1:role/R``; others unchanged."""
    match = _ASSUMED_ROLE.match(arn)
    return f"arn:{match['p']}:iam::{match['a']}:role/{match['r']}" if match else arn


def data_mode(action: str) -> str | None:
    """``read``, ``insert`` or ``delete`` for S3 data actions; None for everything else."""
    name = action.lower()
    if name in _READ_ACTIONS:
        return READ
    if name in _INSERT_ACTIONS:
        return INSERT
    if name in _DELETE_ACTIONS:
        return DELETE
    return None


def dataset_of_key(key: str) -> str | None:
    """The dataset a lake key belongs to (``_staging/<job>/<run>/...``, ``_manifests/<x>/...``
    and ``_index/<x>/...`` included) - mirrors ``services.medallion.lib.layout``."""
    parts = key.split("/")
    if parts[0] == "_staging" and len(parts) > 1:
        # _staging/<job>/<run>/<final key>: the final key's dataset, else the job's
        return dataset_of_key("/".join(parts[3:])) or (parts[1] or None)
    if parts[0] in {"_manifests", "_index"}:
        parts = parts[1:]
    if not parts or not parts[0] or parts[0].startswith("_"):
        return None
    return parts[0]


def governed(bucket: str, key: str | None, grants: LakeGrants) -> bool:
    prefixes = grants.locations.get(bucket)
    if prefixes is None:
        return False
    if key is None or "" in prefixes:
        return True
    return any(key.startswith(prefix) for prefix in prefixes)


def lake_formation_allows(
    principal_arn: str, bucket: str, action: str, grants: LakeGrants, key: str | None = None
) -> bool:
    """Whether Lake Formation lets ``principal_arn`` do ``action`` on ``bucket`` (``key``)."""
    mode = data_mode(action)
    if mode is None or not governed(bucket, key, grants):
        return True
    principal = normalize_principal(principal_arn)
    if principal in grants.admins:
        return True
    wanted = ALLOWING[mode]
    dataset = dataset_of_key(key) if key else None
    for grant in grants.grants:
        if grant.bucket != bucket or grant.principal not in {principal, IAM_ALLOWED_PRINCIPALS}:
            continue
        if grant.dataset is not None and grant.dataset != dataset:
            continue
        if wanted & grant.permissions:
            return True
    return False


def lake_formation_allows_arn(principal_arn: str, action: str, resource_arn: str, grants: LakeGrants) -> bool:
    """:func:`lake_formation_allows` for an S3 resource ARN (``arn:aws:s3:::bucket[/key]``)."""
    match = S3_ARN.match(resource_arn)
    if not match:
        return True
    return lake_formation_allows(principal_arn, match["bucket"], action, grants, match["key"] or None)
