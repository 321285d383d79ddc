"""Lake Formation logic moto gets wrong: revoking permissions (call with the state lock held).

AWS answers ``RevokePermissions`` with ``InvalidInputException`` ("No permissions revoked.
Grantee has no permissions and no grantable permissions on resource") when the principal
holds none of the permissions named on that resource; the Terraform AWS provider revokes
until it gets exactly that answer, which is how it knows the grant is gone. moto answers
200 and changes nothing when it finds no grant, and finds one only when the request's
``Resource`` is byte-for-byte the one granted (a ``CatalogId`` of the caller's own account,
which AWS treats as the default, makes them differ).

Here resources are compared with the account's ``CatalogId`` made implicit, and the
matching grant is changed through moto's own ``PermissionCatalog``. This module is the one
place that touches moto's Lake Formation grants for this.
"""

from __future__ import annotations

from typing import Any

from emulation.lakeformation.exceptions import InvalidInputException

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


def revoke_permissions(account: str, region: str, params: dict[str, Any]) -> None:
    """RevokePermissions as AWS does it; raises InvalidInputException when nothing is revoked."""
    from moto.lakeformation.models import Permission

    catalog_id = str(params.get("CatalogId") or account)
    principal = params.get("Principal")
    resource = params.get("Resource")
    if not isinstance(principal, dict) or not isinstance(resource, dict) or not resource:
        raise InvalidInputException("Principal and Resource are required.")
    permissions = [str(p) for p in params.get("Permissions") or []]
    grantable = [str(p) for p in params.get("PermissionsWithGrantOption") or []]
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
