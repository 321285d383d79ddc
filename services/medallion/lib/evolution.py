"""Schema evolution: which edits of a dataset file silver can take, and which need a new version.

The silver job keeps, with its manifests (``schemas``), the stored shape of every dataset it
has written: per column its type and whether it is required, the time field, the kept raw
columns and the canonical unit of each converted metric. A run compares the dataset files
with it before reading anything:

compatible (taken; the Glue table gains the column, old files stay readable)
    a new optional field; a required field made optional; new or changed ranges, enums,
    aliases, defaults, normalisation, paths, unit conversions of new metrics, match rules.
incompatible (refused with :class:`SchemaChangeError`, naming the file and the field)
    a field removed, a type changed, a new required field, an optional field made
    required, another time field, a metric's canonical unit changed, raw columns dropped.

To make an incompatible change, raise the file's ``version``: new rows then go to
``<name>_v<version>`` (its own prefix and Glue table) and the old data stays where it is;
gold reads every version of its inputs.
"""

from __future__ import annotations

from typing import Any

from services.medallion.lib.datasets import DatasetSpec, LakeConfig, LakeConfigError


class SchemaChangeError(LakeConfigError):
    """An incompatible change of a dataset file whose data silver already holds."""


def compare(old: dict[str, Any], spec: DatasetSpec) -> list[tuple[str, str]]:
    """(where, what) for every incompatible difference between ``old`` and ``spec``."""
    if spec.version < int(old.get("version", 1)):
        return [("version", f"went back from {old.get('version')} to {spec.version}")]
    if spec.version > int(old.get("version", 1)):
        return []
    problems: list[tuple[str, str]] = []
    columns = {f.name: f for f in spec.fields}
    for name, before in (old.get("columns") or {}).items():
        now = columns.get(name)
        if now is None:
            problems.append((f"fields.{name}", "removed"))
        elif now.type != before.get("type"):
            problems.append((f"fields.{name}", f"type changed from {before.get('type')} to {now.type}"))
        elif now.required and not before.get("required"):
            problems.append((f"fields.{name}", "became required (rows already stored may lack it)"))
    for name, now in columns.items():
        if name not in (old.get("columns") or {}) and now.required:
            problems.append(
                (f"fields.{name}", "is new and required (rows already stored lack it; make it optional)")
            )
    if old.get("time_field") and old["time_field"] != spec.time_field:
        problems.append(("time_field", f"changed from {old['time_field']} to {spec.time_field}"))
    raw_now = {name for name, _ in spec.raw_columns()}
    for column in old.get("raw_columns") or []:
        if column not in raw_now:
            problems.append(("units.raw", f"drops column {column}"))
    units_now = {m: unit for m, unit, _ in spec.units.metrics} if spec.units else {}
    for metric, unit in (old.get("canonical_units") or {}).items():
        if metric in units_now and units_now[metric] != unit:
            problems.append((f"units.metrics.{metric}.unit", f"changed from {unit} to {units_now[metric]}"))
    return problems


def check_evolution(config: LakeConfig, registry: dict[str, dict[str, Any]]) -> None:
    """Raise :class:`SchemaChangeError` for the first dataset with an incompatible change."""
    for spec in config.datasets:
        old = registry.get(spec.name)
        if not old:
            continue
        problems = compare(old, spec)
        if not problems:
            continue
        where, what = problems[0]
        stored = old.get("storage_name", spec.name)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        version = int(old.get("version", 1))
        raise SchemaChangeError(
            spec.source,
            where,
            f"{what}{more}: an incompatible change for silver.{stored}, which already holds data "
            f"(schema version {version}). Revert it, or set `version: {version + 1}` to write new rows "
            f"to silver.{spec.name}_v{version + 1} (the old rows stay in silver.{stored}; gold reads both)",
        )


def updated_registry(
    config: LakeConfig, registry: dict[str, dict[str, Any]], written: set[str]
) -> dict[str, dict[str, Any]]:
    """The registry after a run that wrote rows of the datasets (storage names) in ``written``
    (checked compatible first): those, and compatible edits of stored versions, are recorded."""
    result = {name: dict(entry) for name, entry in registry.items()}
    for spec in config.datasets:
        entry = result.get(spec.name)
        if spec.storage_name in written or (
            entry is not None and int(entry.get("version", 1)) == spec.version
        ):
            result[spec.name] = spec.storage()
    return result
