"""Lake Formation logic moto gets wrong: revoking and listing permissions (call with the state
lock held).

AWS answers ``RevokePermissions`` with ``InvalidInputException`` ("No permissions revoked.
Grantee has no permissions and no grantable permissions on resource") when the principal
holds none of the permissions named on that resource; the Terraform AWS provider revokes
until it gets exactly that answer, which is how it knows the grant is gone. moto answers
200 and changes nothing when it finds no grant, and finds one only when the request's
``Resource`` is byte-for-byte the one granted (a ``CatalogId`` of the caller's own account,
which AWS treats as the default, makes them differ).

AWS answers ``ListPermissions`` filtered by ``Principal``, ``ResourceType`` and ``Resource``:
a ``Table`` resource with a ``Name`` lists the grants on that table, one with a
``TableWildcard`` the grants on all tables of the database. moto indexes
``["Table"]["Name"]`` of every table grant of the database and fails (HTTP 500) as soon as the
database holds both kinds, which is what the Terraform AWS provider meets when it reads a
single-table grant next to the tier's all-tables grants.

Here resources are compared with the account's ``CatalogId`` made implicit, and the
matching grant is changed through moto's own ``PermissionCatalog``. This module is the one
place that touches moto's Lake Formation grants for this.
"""

from __future__ import annotations

from typing import Any

from emulation.lakeformation.exceptions import InvalidInputException

RESOURCE_TYPES = {
    "CATALOG": ("Catalog",),
    "DATABASE": ("Database",),
    "TABLE": ("Table", "TableWithColumns"),
    "DATA_LOCATION": ("DataLocation",),
    "LF_TAG": ("LFTag",),
    "LF_TAG_POLICY": ("LFTagPolicy", "LFTagPolicyDatabase", "LFTagPolicyTable"),
    "LF_NAMED_TAG_EXPRESSION": ("LFTagExpression",),
}
DEFAULT_PAGE = 100

NOTHING_REVOKED = (
    "No permissions revoked. Grantee has no permissions and no grantable permissions on resource"
)


def lakeformation_backend(account: str, region: str) -> Any:
    from moto.lakeformation.models import lakeformation_backends

    return lakeformation_backends[account][region]


def normalized(value: Any, catalog_id: str) -> Any:
    """A resource with ``CatalogId`` left out wherever it names the catalog's own account."""
    if isinstance(value, dict):
        return {
            key: normalized(item, catalog_id)
            for key, item in value.items()
            if not (key == "CatalogId" and item == catalog_id)
        }
    if isinstance(value, list):
        return [normalized(item, catalog_id) for item in value]
    return value


def _permission_entry(
    account: str, params: dict[str, Any]
) -> tuple[str, dict[str, Any], dict[str, Any], list[str], list[str]]:
    """(catalog id, principal, resource, permissions, grantable) of one Grant/Revoke entry."""
    principal = params.get("Principal")
    resource = params.get("Resource")
    if not isinstance(principal, dict) or not isinstance(resource, dict) or not resource:
        raise InvalidInputException("Principal and Resource are required.")
    permissions = [str(p) for p in params.get("Permissions") or []]
    grantable = [str(p) for p in params.get("PermissionsWithGrantOption") or []]
    return str(params.get("CatalogId") or account), principal, resource, permissions, grantable


def revoke_permissions(account: str, region: str, params: dict[str, Any]) -> None:
    """RevokePermissions as AWS does it; raises InvalidInputException when nothing is revoked."""
    from moto.lakeformation.models import Permission

    catalog_id, principal, resource, permissions, grantable = _permission_entry(account, params)
    catalog = lakeformation_backend(account, region).grants.get(catalog_id)
    wanted = normalized(resource, catalog_id)
    held = None
    for permission in list(catalog.permissions) if catalog is not None else []:
        if permission.principal == principal and normalized(permission.resource, catalog_id) == wanted:
            held = permission
            break
    revoked = set(permissions) & set(held.permissions) if held is not None else set()
    revoked_grantable = (
        set(grantable) & set(held.permissions_with_grant_options) if held is not None else set()
    )
    if held is None or not (revoked or revoked_grantable):
        raise InvalidInputException(NOTHING_REVOKED)
    assert catalog is not None
    catalog.remove_permission(Permission(principal, held.resource, permissions, grantable))


def _table_matches(wanted: dict[str, Any], granted: dict[str, Any]) -> bool:
    """A granted Table/TableWithColumns resource is on the table (or all tables) asked for."""
    if granted.get("DatabaseName") != wanted.get("DatabaseName"):
        return False
    if "TableWildcard" in wanted:
        return "TableWildcard" in granted
    return "TableWildcard" not in granted and granted.get("Name") == wanted.get("Name")


def _resource_matches(wanted: dict[str, Any], granted: dict[str, Any]) -> bool:
    """The grant's resource is the resource ``ListPermissions`` names (catalog ids normalised)."""
    if "Catalog" in wanted:
        return "Catalog" in granted
    if "Database" in wanted:
        return "Database" in granted and granted["Database"].get("Name") == wanted["Database"].get("Name")
    if "Table" in wanted or "TableWithColumns" in wanted:
        table = wanted.get("Table") or wanted.get("TableWithColumns") or {}
        return any(
            kind in granted and _table_matches(table, granted[kind]) for kind in ("Table", "TableWithColumns")
        )
    if "DataLocation" in wanted:
        return "DataLocation" in granted and granted["DataLocation"].get("ResourceArn") == wanted[
            "DataLocation"
        ].get("ResourceArn")
    return granted == wanted


def list_permissions(account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
    """ListPermissions as AWS answers it: the account's grants filtered by principal, resource
    type and resource, in pages of ``MaxResults`` (``NextToken`` is the next grant's index)."""
    catalog_id = str(params.get("CatalogId") or account)
    principal = params.get("Principal")
    resource = params.get("Resource")
    resource_type = params.get("ResourceType")
    if principal is not None and not resource:
        raise InvalidInputException("Resource is mandatory if Principal is set in the input.")
    if resource is not None and not isinstance(resource, dict):
        raise InvalidInputException("Resource must be an object.")
    if resource_type is not None and resource_type not in RESOURCE_TYPES:
        raise InvalidInputException(f"Unknown ResourceType {resource_type!r}.")
    catalog = lakeformation_backend(account, region).grants.get(catalog_id)
    wanted = normalized(resource, catalog_id) if resource else None
    listed = []
    for permission in list(catalog.permissions) if catalog is not None else []:
        if principal is not None and permission.principal != principal:
            continue
        granted = normalized(permission.resource, catalog_id)
        if resource_type is not None and not any(kind in granted for kind in RESOURCE_TYPES[resource_type]):
            continue
        if wanted is not None and not _resource_matches(wanted, granted):
            continue
        listed.append(permission.to_external_form())
    try:
        start = int(params.get("NextToken") or 0)
        size = int(params.get("MaxResults") or DEFAULT_PAGE)
    except ValueError as error:
        raise InvalidInputException("NextToken or MaxResults is not valid.") from error
    answer: dict[str, Any] = {"PrincipalResourcePermissions": listed[start : start + size]}
    if start + size < len(listed):
        answer["NextToken"] = str(start + size)
    return answer


#: entries AWS takes in one BatchGrantPermissions / BatchRevokePermissions request
BATCH_LIMIT = 20


def grant_permissions(account: str, region: str, params: dict[str, Any]) -> None:
    """GrantPermissions of one entry through moto's ``PermissionCatalog`` (moto's own batch
    reads ``PermissionsWithGrantOptions``, not AWS's ``PermissionsWithGrantOption``)."""
    catalog_id, principal, resource, permissions, grantable = _permission_entry(account, params)
    if not permissions and not grantable:
        raise InvalidInputException("Permissions or PermissionsWithGrantOption is required.")
    lakeformation_backend(account, region).grant_permissions(
        catalog_id=catalog_id,
        principal=principal,
        resource=resource,
        permissions=permissions,
        permissions_with_grant_options=grantable,
    )


def batch_permissions(account: str, region: str, params: dict[str, Any], grant: bool) -> dict[str, Any]:
    """BatchGrantPermissions / BatchRevokePermissions as AWS answers them: each entry (``Id``,
    ``Principal``, ``Resource``, ``Permissions``, ``PermissionsWithGrantOption``) on its own,
    in order; an entry that fails is reported in ``Failures`` (with the request entry and its
    error) and the others still apply. Up to :data:`BATCH_LIMIT` entries, each ``Id`` unique."""
    catalog_id = str(params.get("CatalogId") or account)
    entries = params.get("Entries")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InvalidInputException("Entries must be a list of permission entries.")
    if len(entries) > BATCH_LIMIT:
        raise InvalidInputException(f"Entries may hold at most {BATCH_LIMIT} entries.")
    ids = [entry.get("Id") for entry in entries]
    if not all(isinstance(i, str) and i for i in ids) or len(set(ids)) != len(ids):
        raise InvalidInputException("Every entry needs an Id, unique within the request.")
    failures = []
    for entry in entries:
        try:
            one = {**entry, "CatalogId": catalog_id}
            if grant:
                grant_permissions(account, region, one)
            else:
                revoke_permissions(account, region, one)
        except InvalidInputException as error:
            failures.append(
                {"RequestEntry": entry, "Error": {"ErrorCode": error.code, "ErrorMessage": error.message}}
            )
    return {"Failures": failures}
