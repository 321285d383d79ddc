"""The grants :func:`~emulation.lakeformation.enforcement.lake_formation_allows` evaluates,
read from moto's Lake Formation and Glue backends (call with the engine's state lock held).

Registered data locations give the governed buckets; ``DataLakeAdmins`` the admins; a
permission on a ``Table`` (all tables of a database, or one table) is placed on the bucket
of the database's ``LocationUri`` (or the table's location). ``DATA_LOCATION_ACCESS``
grants no data access, as in Lake Formation.
"""

from __future__ import annotations

from typing import Any

from emulation.core import moto_compat
from emulation.core.moto_compat import existing_regions
from emulation.lakeformation.enforcement import S3_ARN, Grant, LakeGrants


def _bucket_of(uri: str | None) -> str | None:
    if not uri or not uri.startswith("s3://"):
        return None
    return uri[5:].split("/", 1)[0] or None


def _location(arn: str) -> tuple[str, str] | None:
    """``arn:aws:s3:::bucket[/prefix]`` -> (bucket, prefix)."""
    match = S3_ARN.match(arn)
    return (match["bucket"], match["key"] or "") if match else None


def _database_buckets(account_id: str) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    from moto.glue.models import glue_backends

    databases: dict[str, str] = {}
    tables: dict[tuple[str, str], str] = {}
    for _region, backend in existing_regions(glue_backends, account_id):
        for name, database in list(backend.databases.items()):
            bucket = _bucket_of(database.input.get("LocationUri"))
            if bucket:
                databases[name] = bucket
            for table_name, table in list(getattr(database, "tables", {}).items()):
                current = moto_compat.current_table_version(table)
                table_bucket = _bucket_of(current.get("StorageDescriptor", {}).get("Location"))
                if table_bucket:
                    tables[(name, table_name)] = table_bucket
    return databases, tables


def grants_from_moto(account_id: str) -> LakeGrants:
    """Lake Formation's admins, locations and table grants in ``account_id`` (all regions)."""
    from moto.lakeformation.models import lakeformation_backends

    admins: set[str] = set()
    locations: dict[str, set[str]] = {}
    raw: list[Any] = []
    for _region, backend in existing_regions(lakeformation_backends, account_id):
        for resource_arn in list(backend.resources):
            found = _location(resource_arn)
            if found:
                locations.setdefault(found[0], set()).add(found[1])
        for settings in list(backend.settings.values()):
            admins.update(
                a.get("DataLakePrincipalIdentifier", "") for a in settings.get("DataLakeAdmins", [])
            )
        for catalog in list(backend.grants.values()):
            raw += list(catalog.permissions)
    if not locations:
        return LakeGrants(admins=frozenset(admins))
    databases, tables = _database_buckets(account_id)
    grants = []
    for permission in raw:
        table = permission.resource.get("Table") if isinstance(permission.resource, dict) else None
        if not table:
            continue
        database = table.get("DatabaseName", "")
        name = None if "TableWildcard" in table else table.get("Name")
        bucket = tables.get((database, name)) if name else None
        bucket = bucket or databases.get(database)
        if bucket is None:
            continue
        principal = permission.principal.get("DataLakePrincipalIdentifier", "")
        grants.append(Grant(principal, bucket, name, frozenset(permission.permissions)))
    return LakeGrants(
        admins=frozenset(admins),
        locations={bucket: tuple(sorted(prefixes)) for bucket, prefixes in locations.items()},
        grants=tuple(grants),
    )
