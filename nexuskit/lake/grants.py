"""Who may read and write each tier: the default grants, applied in and read from Lake Formation.

Lake Formation grants are per Glue database (one per tier, see :mod:`nexuskit.lake.catalog`):
reading a tier is ``SELECT`` on all its tables (``TableWildcard``), writing is ``INSERT``
(objects put or copied) and ``DELETE`` (objects removed); a grant on one table (``silver``
table ``enrichment``) covers that dataset's keys only. Lake Formation administrators
(``lakeformation_admins``, else the provisioning identity) may do everything. Only
registered data locations are governed: with ``enable_lake_formation`` off, IAM alone decides.

The matrix is the parameter ``lake_grants`` of ``terraform/envs/<env>/terraform.tfvars.json``
(role key -> ``{read, write, write_datasets}``), the one source: Terraform's ``modules/lake``
grants it with one ``aws_lakeformation_permissions`` per principal and resource, and
:func:`apply_grants` (the embedded provisioner) grants the same. ``envs/local`` holds, keyed
by :attr:`StackSpec.roles` keys plus the medallion jobs' Glue role:

==================  ==============================  ====================================
principal           reads                           writes
==================  ==============================  ====================================
agent_irsa          silver, gold                    gold, vibranium, silver.enrichment
aws_mcp_irsa        bronze, silver, gold, vibranium silver, gold, vibranium
ui_irsa             -                               -
kinesis_bearer      -                               -
medallion_glue      bronze, silver, gold, vibranium silver, gold, vibranium
admins              everything                      everything
==================  ==============================  ====================================

``silver.enrichment`` is the one silver dataset agent-core writes (its findings); the
medallion jobs read every tier because a job reads its own tier's manifests. nexus-ui
(``ui_irsa``) reads the lake only through aws-mcp, so it gets nothing here; being one of the
stack's principals, any grant it holds is revoked by :func:`apply_grants`.
:func:`apply_grants` (called by ``up``) makes Lake Formation hold exactly this for the
stack's principals; :func:`load_grants` reads what Lake Formation holds and answers
:meth:`LakeGrants.allows` - the check the lake access layer makes before every call.

Still proposed (not in the tfvars yet): ``medallion_confidence_threshold`` (0.8), and a
``medallion_glue`` entry in ``StackSpec.roles`` (``${prefix}-medallion-glue``, Terraform's
``aws_iam_role.medallion_glue`` in ``modules/lake``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from nexuskit.aws import AwsTarget
from nexuskit.params import TIERS, StackSpec
from nexuskit.provision.context import ProvisionContext, aws_call
from nexuskit.provision.policies import ROLE_KEYS, StackArns
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState
from nexuskit.provision.storage import batch_permissions, iam_principal

log = logging.getLogger(__name__)


def database_name(catalog_prefix: str, tier: str) -> str:
    """A tier's Glue database (:func:`services.medallion.lib.catalog.database_name`, which
    is not imported here: its module loads pyarrow and numpy, which the grants never use)."""
    return f"{catalog_prefix.replace('-', '_').lower()}_{tier}"


READ, WRITE, DELETE = "read", "write", "delete"
JOB_ROLE_KEY = "medallion_glue"
IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
LF_PERMISSIONS_TYPE = "lakeformation.permissions"
LF_DEFAULTS_TYPE = "lakeformation.default-permissions"
# Any of these on a tier's tables lets the principal ...
ALLOWING = {READ: {"SELECT", "ALL"}, WRITE: {"INSERT", "ALL"}, DELETE: {"DELETE", "ALL"}}


def grant_matrix(spec: StackSpec) -> dict[str, dict[str, Any]]:
    """Role key -> ``{read, write, write_datasets}`` from the parameter ``lake_grants``."""
    return {
        key: {"read": tuple(g.read), "write": tuple(g.write), "write_datasets": dict(g.write_datasets)}
        for key, g in spec.params.lake_grants.items()
    }


_TABLE_READ = ("DESCRIBE", "SELECT")
_TABLE_WRITE = ("ALTER", "DELETE", "DESCRIBE", "INSERT")
_DATASET_WRITE = ("DELETE", "DESCRIBE", "INSERT")
_DATABASE_READ = ("DESCRIBE",)
_DATABASE_WRITE = ("ALTER", "CREATE_TABLE", "DESCRIBE")
_LOCATION = ("DATA_LOCATION_ACCESS",)


def job_role_name(spec: StackSpec) -> str:
    """The medallion jobs' Glue role (proposed as ``StackSpec.roles["medallion_glue"]``)."""
    return f"{spec.prefix}-medallion-glue"


def principal_arns(spec: StackSpec, account_id: str) -> dict[str, str]:
    """Role key -> role ARN for the stack's roles and the jobs' Glue role."""
    arns = StackArns(spec, account_id)
    found = {key: arns.role(key) for key in ROLE_KEYS}
    found[JOB_ROLE_KEY] = f"arn:{arns.partition}:iam::{account_id}:role/{job_role_name(spec)}"
    return found


def _strip_catalog(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_catalog(v) for k, v in value.items() if k != "CatalogId"}
    return value


def resource_key(resource: dict[str, Any]) -> str:
    """A comparable form of a Lake Formation resource (``CatalogId`` left out)."""
    return json.dumps(_strip_catalog(resource), sort_keys=True)


def _tables(account: str, database: str, name: str | None = None) -> dict[str, Any]:
    table: dict[str, Any] = {"CatalogId": account, "DatabaseName": database}
    if name is None:
        table["TableWildcard"] = {}
    else:
        table["Name"] = name
    return {"Table": table}


def _database(account: str, database: str) -> dict[str, Any]:
    return {"Database": {"CatalogId": account, "Name": database}}


def _location(account: str, arn: str) -> dict[str, Any]:
    return {"DataLocation": {"CatalogId": account, "ResourceArn": arn}}


def desired_permissions(
    spec: StackSpec, account_id: str
) -> dict[tuple[str, str], tuple[dict[str, Any], set[str]]]:
    """(principal ARN, resource key) -> (resource, permissions) of the ``lake_grants`` parameter."""
    arns = StackArns(spec, account_id)
    roles = principal_arns(spec, account_id)
    wanted: dict[tuple[str, str], tuple[dict[str, Any], set[str]]] = {}

    def add(principal: str, resource: dict[str, Any], permissions: tuple[str, ...]) -> None:
        slot = (principal, resource_key(resource))
        wanted.setdefault(slot, (resource, set()))[1].update(permissions)

    for key, entry in grant_matrix(spec).items():
        principal = roles[key]
        for tier in entry["read"]:
            database = database_name(spec.prefix, tier)
            add(principal, _tables(account_id, database), _TABLE_READ)
            add(principal, _database(account_id, database), _DATABASE_READ)
        for tier in entry["write"]:
            database = database_name(spec.prefix, tier)
            add(principal, _tables(account_id, database), _TABLE_WRITE)
            add(principal, _database(account_id, database), _DATABASE_WRITE)
            add(principal, _location(account_id, arns.bucket(spec.bucket(tier))), _LOCATION)
        for tier, datasets in entry.get("write_datasets", {}).items():
            database = database_name(spec.prefix, tier)
            for dataset in datasets:
                add(principal, _tables(account_id, database, dataset), _DATASET_WRITE)
    return wanted


def _list_permissions(lf: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = lf.list_permissions(**kwargs)
        found += page.get("PrincipalResourcePermissions", [])
        if not page.get("NextToken"):
            return found
        kwargs["NextToken"] = page["NextToken"]


def _ours(spec: StackSpec, account_id: str, resource: dict[str, Any]) -> bool:
    """Whether a Lake Formation resource is one of the stack's tier databases/tables/buckets."""
    databases = {database_name(spec.prefix, tier) for tier in TIERS}
    buckets = {StackArns(spec, account_id).bucket(b) for b in spec.buckets.values()}
    if "Table" in resource:
        return resource["Table"].get("DatabaseName") in databases
    if "Database" in resource:
        return resource["Database"].get("Name") in databases
    if "DataLocation" in resource:
        return resource["DataLocation"].get("ResourceArn") in buckets
    return False


def _settle_defaults(ctx: ProvisionContext) -> ResourceState:
    """New databases and tables must not grant ALL to IAM_ALLOWED_PRINCIPALS (LF enforced)."""
    lf = ctx.client("lakeformation")
    with aws_call(LF_DEFAULTS_TYPE, ctx.account_id):
        settings = dict(lf.get_data_lake_settings()["DataLakeSettings"])
        if not settings.get("CreateDatabaseDefaultPermissions") and not settings.get(
            "CreateTableDefaultPermissions"
        ):
            return ResourceState(LF_DEFAULTS_TYPE, ctx.account_id, EXISTS, "Lake Formation permissions only")
        settings["CreateDatabaseDefaultPermissions"] = []
        settings["CreateTableDefaultPermissions"] = []
        lf.put_data_lake_settings(DataLakeSettings=settings)
    return ResourceState(LF_DEFAULTS_TYPE, ctx.account_id, UPDATED, "Lake Formation permissions only")


def _settle_permissions(ctx: ProvisionContext) -> list[ResourceState]:
    spec, lf = ctx.spec, ctx.client("lakeformation")
    wanted = desired_permissions(spec, ctx.account_id)
    managed = set(principal_arns(spec, ctx.account_id).values())
    with aws_call(LF_PERMISSIONS_TYPE, spec.prefix):
        current: dict[tuple[str, str], tuple[dict[str, Any], set[str]]] = {}
        for grant in _list_permissions(lf):
            principal = grant.get("Principal", {}).get("DataLakePrincipalIdentifier", "")
            resource = grant.get("Resource", {})
            if principal not in managed or not _ours(spec, ctx.account_id, resource):
                continue
            slot = (principal, resource_key(resource))
            current.setdefault(slot, (resource, set()))[1].update(grant.get("Permissions", []))
    names = {arn: key for key, arn in principal_arns(spec, ctx.account_id).items()}
    changes: dict[str, list[str]] = {}
    grants: list[tuple[str, dict[str, Any]]] = []
    revokes: list[tuple[str, dict[str, Any]]] = []
    for slot, (resource, permissions) in sorted(wanted.items()):
        missing = permissions - current.get(slot, (resource, set()))[1]
        if missing:
            entry = {"Principal": {"DataLakePrincipalIdentifier": slot[0]}, "Resource": resource}
            grants.append((slot[0], {**entry, "Permissions": sorted(missing)}))
            changes.setdefault(slot[0], []).append(f"+{','.join(sorted(missing))} {slot[1]}")
    for slot, (resource, permissions) in sorted(current.items()):
        surplus = permissions - wanted.get(slot, (resource, set()))[1]
        if surplus:
            entry = {"Principal": {"DataLakePrincipalIdentifier": slot[0]}, "Resource": resource}
            revokes.append((slot[0], {**entry, "Permissions": sorted(surplus)}))
            changes.setdefault(slot[0], []).append(f"-{','.join(sorted(surplus))} {slot[1]}")
    # one call per 20 grants (and revokes) instead of one each
    batch_permissions(lf, LF_PERMISSIONS_TYPE, grants)
    batch_permissions(lf, LF_PERMISSIONS_TYPE, revokes, grant=False)
    states = []
    matrix = grant_matrix(spec)
    for principal in sorted(managed):
        name = f"{names[principal]} ({principal})"
        summary = _summary(matrix[names[principal]]) if names[principal] in matrix else "none"
        if names[principal] not in matrix and principal not in changes:
            continue
        if principal in changes:
            had_any = any(slot[0] == principal for slot in current)
            states.append(ResourceState(LF_PERMISSIONS_TYPE, name, UPDATED if had_any else CREATED, summary))
            log.info("Lake Formation grants of %s: %s", principal, "; ".join(changes[principal]))
        else:
            states.append(ResourceState(LF_PERMISSIONS_TYPE, name, EXISTS, summary))
    return states


def _summary(entry: dict[str, Any]) -> str:
    reads = ",".join(entry["read"]) or "-"
    writes = [*entry["write"], *(f"{t}.{d}" for t, ds in entry.get("write_datasets", {}).items() for d in ds)]
    return f"read {reads}; write {','.join(writes) or '-'}"


def apply_grants(
    spec: StackSpec, target: AwsTarget, *, admin_arn: str | None = None, job_role: bool = True
) -> list[ResourceState]:
    """Make Lake Formation hold the default grants (idempotent; one state per resource).

    Creates what the grants refer to first: the jobs' Glue role and the Glue databases and
    tables of the tiers. Then turns off the IAM_ALLOWED_PRINCIPALS defaults for new
    databases and tables, and grants (and revokes) so that the stack's principals hold
    exactly the ``lake_grants`` parameter. Does nothing when ``enable_lake_formation`` is off.
    ``admin_arn`` is accepted for symmetry with :func:`nexuskit.provision.provisioner.provision`.
    ``job_role=False``: the caller has just made the jobs' role (``up`` grants after its jobs
    step), so it is neither checked again nor reported twice.
    """
    if not spec.params.enable_lake_formation:
        return []
    from nexuskit.lake.catalog import ensure_catalog
    from nexuskit.lake.glue import ensure_job_role

    ctx = ProvisionContext.connect(spec, target)
    states = ensure_job_role(ctx) if job_role else []
    states += ensure_catalog(ctx)
    states.append(_settle_defaults(ctx))
    states += _settle_permissions(ctx)
    return states


# -- reading and evaluating what Lake Formation holds --------------------------------------------
@dataclass(frozen=True)
class Permission:
    """What one principal holds on one tier (or one dataset of it)."""

    principal: str
    tier: str
    dataset: str | None
    permissions: frozenset[str]


@dataclass
class LakeGrants:
    """Lake Formation's grants on the tiers, as the lake access layer evaluates them."""

    admins: frozenset[str]
    governed: frozenset[str]
    permissions: list[Permission] = field(default_factory=list)

    def allows(self, principal: str, tier: str, mode: str, dataset: str | None = None) -> bool:
        """May ``principal`` (an IAM or STS ARN) ``read``/``write``/``delete`` in ``tier``?"""
        if tier not in self.governed:
            return True
        who = iam_principal(principal)
        if who in self.admins:
            return True
        wanted = ALLOWING[mode]
        for grant in self.permissions:
            if grant.principal not in {who, IAM_ALLOWED_PRINCIPALS} or grant.tier != tier:
                continue
            if grant.dataset is not None and grant.dataset != dataset:
                continue
            if wanted & grant.permissions:
                return True
        return False

    def principals(self) -> list[str]:
        return sorted({p.principal for p in self.permissions} | set(self.admins))


def load_grants(spec: StackSpec, target: AwsTarget) -> LakeGrants:
    """What Lake Formation holds for the stack's tiers (admins, governed tiers, grants).

    Needs ``lakeformation:GetDataLakeSettings``, ``ListResources`` and ``ListPermissions``;
    botocore errors are left to the caller (:class:`nexuskit.lake.access.Lake` maps them).
    """
    lf = target.client("lakeformation")
    settings = lf.get_data_lake_settings()["DataLakeSettings"]
    registered = {r["ResourceArn"] for r in lf.list_resources().get("ResourceInfoList", [])}
    raw = _list_permissions(lf)
    admins = frozenset(a["DataLakePrincipalIdentifier"] for a in settings.get("DataLakeAdmins", []))
    by_database = {database_name(spec.prefix, tier): tier for tier in TIERS}
    governed = frozenset(
        tier
        for tier, bucket in spec.buckets.items()
        if any(r.rstrip("/").endswith(f":::{bucket}") for r in registered)
    )
    merged: dict[tuple[str, str, str | None], set[str]] = {}
    for grant in raw:
        table = grant.get("Resource", {}).get("Table")
        if not table or table.get("DatabaseName") not in by_database:
            continue
        dataset = None if "TableWildcard" in table else table.get("Name")
        slot = (
            grant["Principal"]["DataLakePrincipalIdentifier"],
            by_database[table["DatabaseName"]],
            dataset,
        )
        merged.setdefault(slot, set()).update(grant.get("Permissions", []))
    permissions = [
        Permission(p, t, d, frozenset(perms)) for (p, t, d), perms in sorted(merged.items(), key=str)
    ]
    return LakeGrants(admins=admins, governed=governed, permissions=permissions)


def grants_matrix(spec: StackSpec, target: AwsTarget, account_id: str) -> dict[str, Any]:
    """``lake grants``: per principal and tier ``rw``/``r``/``w``/``-``, plus dataset grants."""
    with aws_call("lakeformation.grants", spec.prefix):
        grants = load_grants(spec, target)
    roles = principal_arns(spec, account_id)
    names = {arn: key for key, arn in roles.items()}
    rows = []
    order = sorted(grants.admins) + [roles[k] for k in (*ROLE_KEYS, JOB_ROLE_KEY)]
    order += [p for p in grants.principals() if p not in order]
    for principal in order:
        cells = {}
        for tier in TIERS:
            read = grants.allows(principal, tier, READ)
            write = grants.allows(principal, tier, WRITE)
            cells[tier] = ("r" if read else "") + ("w" if write else "") or "-"
        datasets = {
            f"{g.tier}.{g.dataset}": ("r" if ALLOWING[READ] & g.permissions else "")
            + ("w" if ALLOWING[WRITE] & g.permissions else "")
            for g in grants.permissions
            if g.principal == principal and g.dataset is not None
        }
        rows.append(
            {
                "principal": principal,
                "name": "admin" if principal in grants.admins else names.get(principal, "other"),
                "tiers": cells,
                "datasets": datasets,
            }
        )
    return {
        "governed": sorted(grants.governed, key=TIERS.index),
        "admins": sorted(grants.admins),
        "principals": rows,
    }
