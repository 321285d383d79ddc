"""The lake's dataset files: where they live, loading them, and what ``lake datasets`` shows.

The files live in ``lake/`` at the root of the checkout (``NEXUSKIT_LAKE_DIR`` points
elsewhere): ``lake/lake.yaml`` (routing, bronze reading) and one ``lake/datasets/<name>.yaml``
per silver dataset. :func:`load_lake_config` validates them (the format is documented in
:mod:`services.medallion.lib.datasets`); a wrong file raises :class:`DatasetError` naming
the file and the field. :func:`describe_datasets` compares them with what silver holds
(:mod:`services.medallion.lib.evolution`): new, stored, a compatible change, or refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexuskit.lake.errors import DatasetError
from nexuskit.params import repo_root
from services.medallion.lib.commit import latest_manifest
from services.medallion.lib.datasets import LakeConfig, LakeConfigError, load_folder
from services.medallion.lib.evolution import SchemaChangeError, compare

if TYPE_CHECKING:
    from nexuskit.lake.access import Lake

LAKE_DIR_ENV = "NEXUSKIT_LAKE_DIR"


def lake_dir() -> Path:
    """The folder of the dataset files (``$NEXUSKIT_LAKE_DIR``, else ``lake/`` of the checkout)."""
    return Path(os.environ.get(LAKE_DIR_ENV) or repo_root() / "lake")


@contextmanager
def dataset_errors() -> Iterator[None]:
    """The library's config errors as :class:`DatasetError` (file and field kept)."""
    try:
        yield
    except SchemaChangeError as exc:
        raise DatasetError(
            str(exc),
            "see `nexuskit lake datasets` for every dataset's state",
            file=exc.source,
            field=exc.where,
        ) from None
    except LakeConfigError as exc:
        raise DatasetError(
            str(exc),
            "the format is in services/medallion/README.md (Datasets); "
            "`nexuskit lake datasets` checks the files",
            file=exc.source,
            field=exc.where,
        ) from None


def load_lake_config(folder: Path | str | None = None) -> LakeConfig:
    """The validated dataset files of ``folder`` (default :func:`lake_dir`)."""
    with dataset_errors():
        return load_folder(folder or lake_dir())


def _status(spec_storage: dict[str, Any], old: dict[str, Any] | None, problems: list[tuple[str, str]]) -> str:
    if old is None:
        return "new (no rows stored yet)"
    if problems:
        where, what = problems[0]
        return f"refused: {where}: {what} (raise `version` to {int(old.get('version', 1)) + 1})"
    if int(old.get("version", 1)) != spec_storage["version"]:
        return (
            f"new version {spec_storage['version']} "
            f"(version {old.get('version', 1)} stays in silver.{old.get('storage_name')})"
        )
    added = sorted(set(spec_storage["columns"]) - set(old.get("columns") or {}))
    if added:
        return "compatible change: new column" + ("s " if len(added) > 1 else " ") + ", ".join(added)
    return "stored"


def describe_datasets(lake: Lake) -> dict[str, Any]:
    """Every dataset file: what it routes, its columns, and its state against silver."""
    config = lake.config
    registry: dict[str, Any] = {}
    readable = lake.can("silver", "read")
    if readable:
        from services.medallion.lib.silver import JOB as SILVER_JOB  # the jobs' library: pyarrow

        latest = latest_manifest(lake.store, lake.bucket("silver"), SILVER_JOB)
        registry = dict((latest or {}).get("schemas") or {})
    datasets = []
    for spec in config.datasets:
        old = registry.get(spec.name)
        problems = compare(old, spec) if old else []
        datasets.append(
            {
                "name": spec.name,
                "version": spec.version,
                "table": f"silver.{spec.storage_name}",
                "file": spec.source,
                "description": spec.description,
                "match": {
                    "types": list(spec.types),
                    "prefixes": list(spec.prefixes),
                    "where": dict(spec.where),
                },
                "time_field": spec.time_field,
                "fields": [
                    {"name": f.name, "type": f.type, "required": f.required, "path": f.path}
                    for f in spec.fields
                ],
                "units": bool(spec.units),
                "state": _status(spec.storage(), old, problems)
                if readable
                else "unknown (silver not readable)",
                "compatible": not problems,
            }
        )
    return {
        "folder": str(lake_dir()),
        "type_field": config.type_field,
        "bronze": dict(config.bronze),
        "datasets": datasets,
        "unmatched": f"records no dataset takes go to silver.quarantine ('unknown {config.type_field} ...')",
    }
