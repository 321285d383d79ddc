"""The medallion lake of spec §2.3: the four buckets and their Lake Formation governance."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from botocore.exceptions import ClientError

from nexuskit.errors import ProvisionError
from nexuskit.provision.context import ProvisionContext, aws_call, error_code, tag_list
from nexuskit.provision.policies import StackArns
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState, present

log = logging.getLogger(__name__)

BUCKET_TYPE = "s3.bucket"
LF_SETTINGS_TYPE = "lakeformation.settings"
LF_RESOURCE_TYPE = "lakeformation.resource"
LF_GRANT_TYPE = "lakeformation.grant"
DATA_LOCATION_ACCESS = "DATA_LOCATION_ACCESS"
#: entries Lake Formation takes in one BatchGrantPermissions / BatchRevokePermissions call
LF_BATCH = 20
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
#: ACLs off: the bucket owner owns every object (AWS's default for new buckets since 2023)
OWNERSHIP = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
NONCURRENT_VERSION_EXPIRATION_DAYS = 90
#: as Terraform's aws_s3_bucket_lifecycle_configuration.tier (modules/datalake)
LIFECYCLE = {
    "Rules": [
        {
            "ID": "abort-incomplete-multipart-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
        {
            "ID": "expire-noncurrent-versions",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_VERSION_EXPIRATION_DAYS},
        },
    ]
}
#: object events go to EventBridge, where the medallion jobs and audits subscribe
EVENTBRIDGE: dict[str, Any] = {"EventBridgeConfiguration": {}}
_ASSUMED_ROLE = re.compile(r"^arn:(?P<p>[\w-]+):sts::(?P<a>\d+):assumed-role/(?P<r>[^/]+)/.+$")


def bucket_tags(tags: dict[str, str], tier: str) -> dict[str, str]:
    return {**tags, "MedallionTier": tier}


def tls_only_policy(bucket: str) -> dict[str, Any]:
    """Refuse every request not made over TLS (Terraform's ``tls_only`` policy document)."""
    arn = f"arn:aws:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def _get_or_none(call: Any, missing_codes: set[str], **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except ClientError as exc:
        if error_code(exc) in missing_codes:
            return None
        raise


def _settle_bucket(ctx: ProvisionContext, name: str, tier: str, *, created: bool = False) -> list[str]:
    return settle_bucket(ctx, name, bucket_tags(ctx.tags, tier), created=created)


def settle_bucket(
    ctx: ProvisionContext, name: str, tags: dict[str, str], *, created: bool = False
) -> list[str]:
    """Bring versioning, encryption, public access block, ownership, the TLS-only policy,
    lifecycle, EventBridge notifications and ``tags`` in line; what changed. Every bucket of
    the stack is held to this (the tier buckets, and the Glue jobs' assets bucket).

    ``created``: the bucket was created a moment ago by this run, so nothing of it is set
    yet: every setting is put without reading it first (half the calls)."""
    s3 = ctx.client("s3")
    if created:
        _put_settings(s3, name, tags)
        return []
    fixed = []
    if s3.get_bucket_versioning(Bucket=name).get("Status") != "Enabled":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        fixed.append("versioning")
    encryption = _get_or_none(
        s3.get_bucket_encryption, {"ServerSideEncryptionConfigurationNotFoundError"}, Bucket=name
    )
    rules = (encryption or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    algorithms = {r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules}
    if algorithms != {"AES256"}:
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=ENCRYPTION)
        fixed.append("encryption")
    block = _get_or_none(s3.get_public_access_block, {"NoSuchPublicAccessBlockConfiguration"}, Bucket=name)
    if (block or {}).get("PublicAccessBlockConfiguration") != PUBLIC_ACCESS_BLOCK:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK)
        fixed.append("public access block")
    ownership = _get_or_none(
        s3.get_bucket_ownership_controls, {"OwnershipControlsNotFoundError"}, Bucket=name
    )
    if (ownership or {}).get("OwnershipControls") != OWNERSHIP:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=OWNERSHIP)
        fixed.append("ownership")
    policy = _get_or_none(s3.get_bucket_policy, {"NoSuchBucketPolicy"}, Bucket=name)
    wanted_policy = tls_only_policy(name)
    if policy is None or json.loads(policy["Policy"]) != wanted_policy:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(wanted_policy))
        fixed.append("TLS-only policy")
    lifecycle = _get_or_none(
        s3.get_bucket_lifecycle_configuration, {"NoSuchLifecycleConfiguration"}, Bucket=name
    )
    if _lifecycle_rules(lifecycle) != _lifecycle_rules(LIFECYCLE):
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=LIFECYCLE)
        fixed.append("lifecycle")
    notification = s3.get_bucket_notification_configuration(Bucket=name)
    if "EventBridgeConfiguration" not in notification:
        s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=EVENTBRIDGE)
        fixed.append("EventBridge notifications")
    tagging = _get_or_none(s3.get_bucket_tagging, {"NoSuchTagSet"}, Bucket=name)
    current = {t["Key"]: t["Value"] for t in (tagging or {}).get("TagSet", [])}
    wanted = tags
    if any(current.get(k) != v for k, v in wanted.items()):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list({**current, **wanted})})
        fixed.append("tags")
    return fixed


def _put_settings(s3: Any, name: str, tags: dict[str, str]) -> None:
    """Every setting :func:`settle_bucket` holds a bucket to, put on a new bucket."""
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=ENCRYPTION)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK)
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=OWNERSHIP)
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(tls_only_policy(name)))
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=LIFECYCLE)
    s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=EVENTBRIDGE)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags)})


def _lifecycle_rules(config: dict[str, Any] | None) -> list[dict[str, Any]]:
    return sorted((config or {}).get("Rules", []), key=lambda rule: str(rule.get("ID")))


def _buckets(ctx: ProvisionContext) -> list[ResourceState]:
    s3 = ctx.client("s3")
    with aws_call(BUCKET_TYPE, ctx.spec.prefix):
        owned = {b["Name"]: b for b in s3.list_buckets().get("Buckets", [])}

    def settle(tier_and_name: tuple[str, str]) -> ResourceState:
        tier, name = tier_and_name
        detail = f"{tier}, versioned, AES256"
        with aws_call(BUCKET_TYPE, name):
            if name in owned:
                where = owned[name].get("BucketRegion")
                if where and where != ctx.region:
                    raise ProvisionError(
                        f"{BUCKET_TYPE} {name}: exists in {where}, the stack is in {ctx.region}",
                        "delete the bucket or choose another project/environment",
                    )
                fixed = _settle_bucket(ctx, name, tier)
                if fixed:
                    log.info("updated bucket %s: %s", name, ", ".join(fixed))
                    return ResourceState(BUCKET_TYPE, name, UPDATED, f"{detail}; fixed {', '.join(fixed)}")
                return ResourceState(BUCKET_TYPE, name, EXISTS, detail)
            kwargs: dict[str, Any] = {}
            if ctx.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
            s3.create_bucket(Bucket=name, **kwargs)
            _settle_bucket(ctx, name, tier, created=True)
        log.info("created bucket %s", name)
        return ResourceState(BUCKET_TYPE, name, CREATED, detail)

    return ctx.each(settle, ctx.spec.buckets.items())


def iam_principal(arn: str) -> str:
    """An IAM principal for an STS session ARN (Lake Formation wants the role, not the session)."""
    match = _ASSUMED_ROLE.match(arn)
    if match:
        return f"arn:{match['p']}:iam::{match['a']}:role/{match['r']}"
    return arn


def lake_admins(ctx: ProvisionContext, admin_arn: str | None = None) -> list[str]:
    """``lakeformation_admins`` from the parameters, else the given or calling identity."""
    configured = list(ctx.spec.params.lakeformation_admins)
    return configured or [iam_principal(admin_arn or ctx.caller_arn)]


def _granted(lf: Any) -> set[tuple[str, str]]:
    """(principal, resource ARN) pairs that hold DATA_LOCATION_ACCESS."""
    pairs: set[tuple[str, str]] = set()
    kwargs: dict[str, Any] = {"ResourceType": "DATA_LOCATION"}
    while True:
        page = lf.list_permissions(**kwargs)
        for grant in page.get("PrincipalResourcePermissions", []):
            if DATA_LOCATION_ACCESS not in grant.get("Permissions", []):
                continue
            principal = grant.get("Principal", {}).get("DataLakePrincipalIdentifier", "")
            location = grant.get("Resource", {}).get("DataLocation", {}).get("ResourceArn", "")
            pairs.add((principal, location))
        if not page.get("NextToken"):
            return pairs
        kwargs["NextToken"] = page["NextToken"]


def _lake_formation(ctx: ProvisionContext, admin_arn: str | None) -> list[ResourceState]:
    lf = ctx.client("lakeformation")
    arns = StackArns(ctx.spec, ctx.account_id)
    admins = lake_admins(ctx, admin_arn)
    states = []
    with aws_call(LF_SETTINGS_TYPE, ctx.account_id):
        settings = dict(lf.get_data_lake_settings()["DataLakeSettings"])
        current = [a["DataLakePrincipalIdentifier"] for a in settings.get("DataLakeAdmins", [])]
        missing = [a for a in admins if a not in current]
        detail = "admins " + ", ".join(admins)
        if missing:
            settings["DataLakeAdmins"] = [{"DataLakePrincipalIdentifier": a} for a in current + missing]
            lf.put_data_lake_settings(DataLakeSettings=settings)
            log.info("Lake Formation admins added: %s", ", ".join(missing))
        outcome = EXISTS if not missing else (UPDATED if current else CREATED)
        states.append(ResourceState(LF_SETTINGS_TYPE, ctx.account_id, outcome, detail))
        registered = {r["ResourceArn"] for r in lf.list_resources().get("ResourceInfoList", [])}
        granted = _granted(lf)
    grants: list[tuple[str, dict[str, Any]]] = []
    for bucket in ctx.spec.buckets.values():
        location = arns.bucket(bucket)
        with aws_call(LF_RESOURCE_TYPE, location):
            if location in registered:
                states.append(ResourceState(LF_RESOURCE_TYPE, location, EXISTS, "data location"))
            else:
                lf.register_resource(ResourceArn=location, UseServiceLinkedRole=True)
                states.append(ResourceState(LF_RESOURCE_TYPE, location, CREATED, "data location"))
        for admin in admins:
            name = f"{location} -> {admin}"
            if (admin, location) in granted:
                states.append(ResourceState(LF_GRANT_TYPE, name, EXISTS, DATA_LOCATION_ACCESS))
                continue
            grant = {
                "Principal": {"DataLakePrincipalIdentifier": admin},
                "Resource": {"DataLocation": {"ResourceArn": location}},
                "Permissions": [DATA_LOCATION_ACCESS],
            }
            grants.append((name, grant))
            states.append(ResourceState(LF_GRANT_TYPE, name, CREATED, DATA_LOCATION_ACCESS))
    batch_permissions(lf, LF_GRANT_TYPE, grants)
    return states


def batch_permissions(
    lf: Any, type_: str, entries: list[tuple[str, dict[str, Any]]], *, grant: bool = True
) -> None:
    """Grant (or revoke) Lake Formation permissions with ``BatchGrantPermissions`` /
    ``BatchRevokePermissions``, up to :data:`LF_BATCH` entries a call instead of one call
    each. ``entries`` are (resource name for errors, ``{Principal, Resource, Permissions}``).
    An entry AWS refuses fails the run, as a single grant would (:class:`ProvisionError`)."""
    call = lf.batch_grant_permissions if grant else lf.batch_revoke_permissions
    for start in range(0, len(entries), LF_BATCH):
        chunk = entries[start : start + LF_BATCH]
        with aws_call(type_, chunk[0][0] if len(chunk) == 1 else f"{len(chunk)} permissions"):
            answer = call(Entries=[{"Id": str(i), **entry} for i, (_, entry) in enumerate(chunk)])
        failures = answer.get("Failures") or []
        if failures:
            failure = failures[0]
            index = int(failure.get("RequestEntry", {}).get("Id", 0))
            error = failure.get("Error", {})
            raise ProvisionError(
                f"{type_} {chunk[index][0]}: {error.get('ErrorCode', '')}: {error.get('ErrorMessage', '')}"
                + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
            )


def provision_storage(ctx: ProvisionContext, admin_arn: str | None = None) -> list[ResourceState]:
    """The buckets, then (when enabled) Lake Formation admins, locations and grants."""
    return provision_buckets(ctx) + provision_lake_formation(ctx, admin_arn)


def provision_buckets(ctx: ProvisionContext) -> list[ResourceState]:
    """The medallion buckets, each held to :func:`settle_bucket`."""
    return _buckets(ctx)


def provision_lake_formation(ctx: ProvisionContext, admin_arn: str | None = None) -> list[ResourceState]:
    """Lake Formation admins, the buckets as data locations and their grants (when enabled;
    the buckets must exist)."""
    if not ctx.spec.params.enable_lake_formation:
        return []
    return _lake_formation(ctx, admin_arn)


def inventory_storage(ctx: ProvisionContext, admin_arn: str | None = None) -> list[ResourceState]:
    spec = ctx.spec
    with aws_call(BUCKET_TYPE, spec.prefix):
        owned = {b["Name"] for b in ctx.client("s3").list_buckets().get("Buckets", [])}
    states = [present(BUCKET_TYPE, name, name in owned, tier) for tier, name in spec.buckets.items()]
    if not spec.params.enable_lake_formation:
        return states
    lf = ctx.client("lakeformation")
    arns = StackArns(spec, ctx.account_id)
    admins = lake_admins(ctx, admin_arn)
    with aws_call(LF_SETTINGS_TYPE, ctx.account_id):
        settings = lf.get_data_lake_settings()["DataLakeSettings"]
        current = {a["DataLakePrincipalIdentifier"] for a in settings.get("DataLakeAdmins", [])}
        registered = {r["ResourceArn"] for r in lf.list_resources().get("ResourceInfoList", [])}
        granted = _granted(lf)
    states.append(
        present(LF_SETTINGS_TYPE, ctx.account_id, set(admins) <= current, "admins " + ", ".join(admins))
    )
    for bucket in spec.buckets.values():
        location = arns.bucket(bucket)
        states.append(present(LF_RESOURCE_TYPE, location, location in registered, "data location"))
        for admin in admins:
            states.append(
                present(
                    LF_GRANT_TYPE,
                    f"{location} -> {admin}",
                    (admin, location) in granted,
                    DATA_LOCATION_ACCESS,
                )
            )
    return states
