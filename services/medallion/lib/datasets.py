"""Dataset definitions users edit: ``lake/lake.yaml`` and ``lake/datasets/<name>.yaml``.

A dataset file says what one silver dataset holds and which bronze records go there::

    name: telemetry            # the silver dataset (and Glue table)
    version: 1                 # bump for an incompatible change: data then goes to telemetry_v2
    match:                     # which records (default: `types: [<name>]`)
      types: [telemetry]       #   the record's type field is one of these
      prefixes: [acme/]        #   or: every record of bronze objects under these key prefixes
      where: {kind: gps}       #   and/or: these fields equal these values
    time_field: ts             # the timestamp field that partitions by date (default ts)
    fields:                    # in column order
      device_id: {type: string, required: true}
      ts: {type: timestamp, required: true}
      lat: {type: float, required: true, range: [-90, 90]}
      temperature_c: {type: float, path: readings.temperature_c, range: [-90, 70]}

Field keys: ``type`` (string, float, integer, boolean, timestamp), ``required``, ``path``
(where the value sits in the record, dotted; default the field name), ``range: [low, high]``,
``min``, ``max``, ``finite`` (floats; default true), ``wrap`` (floats: value modulo it),
``enum`` with ``aliases``, ``normalize`` (``trim``, ``lower``), ``default``, ``description``.
A dataset may convert units (``units``: the value, unit and metric fields, the canonical
unit of each metric and the scale and offset from each accepted unit).

Every silver row also has ``id`` (the record's, or derived from its content), ``run_id``
(null when absent), ``extra`` (the record's other fields as a JSON object, null when none),
``channel``, ``source_key`` and ``source_version_id``. :func:`load_config` validates
everything at load and raises :class:`LakeConfigError` naming the file and the field.
Standard library only (PyYAML when YAML files are read; pyarrow only for the Arrow types
and schemas, imported when first asked for: loading and validating the files needs none,
so ``nexuskit up`` does without it); Python 3.9 syntax.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.medallion.lib.names import GOLD_INPUTS, SYSTEM_DATASETS

if TYPE_CHECKING:
    import pyarrow as pa

#: the field types a dataset file may name (their Arrow types: :func:`arrow_types`)
TYPE_NAMES = ("string", "float", "integer", "boolean", "timestamp")
_ARROW_TYPES: dict[str, pa.DataType] = {}


def arrow_types() -> dict[str, pa.DataType]:
    """Field type name -> Arrow type (pyarrow imported on the first call)."""
    if not _ARROW_TYPES:
        import pyarrow as pa

        from services.medallion.lib.schemas import TS

        kinds = (pa.string(), pa.float64(), pa.int64(), pa.bool_(), TS)
        _ARROW_TYPES.update(zip(TYPE_NAMES, kinds))  # noqa: B905 (Python 3.9 has no strict zip)
    return _ARROW_TYPES


ENVELOPE = ("id", "run_id")
LINEAGE = ("channel", "source_key", "source_version_id")
RESERVED_COLUMNS = frozenset(ENVELOPE + LINEAGE + ("extra", "date"))
CONFIG_ENV = "NEXUS_LAKE_CONFIG"
DEFAULT_DIR = Path(__file__).resolve().parents[3] / "lake"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")
_VERSIONED = re.compile(r"_v\d+$")
_FIELD_KEYS = {
    "type",
    "required",
    "path",
    "range",
    "min",
    "max",
    "finite",
    "wrap",
    "enum",
    "aliases",
    "normalize",
    "default",
    "description",
}
_DATASET_KEYS = {"name", "version", "description", "match", "time_field", "fields", "units"}
_LAKE_KEYS = {"routing", "bronze"}
BRONZE_DEFAULTS: dict[str, Any] = {
    "max_record_bytes": 8 << 20,
    "max_record_fields": 1000,
    "lookback_hours": 2,
    "full_scan_hours": 24,
}


class LakeConfigError(ValueError):
    """A dataset or lake file is wrong: which file, which field, what is wrong."""

    def __init__(self, source: str, where: str, message: str) -> None:
        self.source = source
        self.where = where
        super().__init__(f"{source}: {where}: {message}" if where else f"{source}: {message}")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    path: str
    required: bool = False
    low: float | None = None
    high: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    finite: bool = True
    wrap: float | None = None
    enum: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()
    trim: bool = False
    lower: bool = False
    default: Any = None

    @property
    def arrow(self) -> pa.DataType:
        return arrow_types()[self.type]

    def storage(self) -> dict[str, Any]:
        """What the stored column is (for schema evolution): its type and whether required."""
        return {"type": self.type, "required": self.required}


@dataclass(frozen=True)
class UnitSpec:
    value: str
    unit: str
    metric: str
    raw: bool
    metrics: tuple[
        tuple[str, str, tuple[tuple[str, float, float], ...]], ...
    ]  # metric, canonical, (unit, scale, offset)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    version: int
    source: str
    fields: tuple[FieldSpec, ...]
    time_field: str = "ts"
    types: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    where: tuple[tuple[str, Any], ...] = ()
    units: UnitSpec | None = None
    description: str = ""

    @property
    def storage_name(self) -> str:
        """The silver prefix and Glue table: ``telemetry``, or ``telemetry_v2`` from version 2."""
        return self.name if self.version == 1 else f"{self.name}_v{self.version}"

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    def raw_column_names(self) -> list[str]:
        """The raw value and unit columns kept beside converted values (none without ``raw``)."""
        if self.units is None or not self.units.raw:
            return []
        return [f"raw_{self.units.value}", f"raw_{self.units.unit}"]

    def raw_columns(self) -> list[tuple[str, pa.DataType]]:
        import pyarrow as pa

        return list(zip(self.raw_column_names(), (pa.float64(), pa.string())))  # noqa: B905 (Python 3.9)

    def arrow_schema(self) -> pa.Schema:
        import pyarrow as pa

        columns = [("id", pa.string()), ("run_id", pa.string())]
        columns += [(f.name, f.arrow) for f in self.fields] + self.raw_columns()
        columns += [("extra", pa.string())] + [(name, pa.string()) for name in LINEAGE]
        return pa.schema(columns)

    def storage(self) -> dict[str, Any]:
        """The registry entry schema evolution compares against (see :mod:`.evolution`)."""
        units = {m: canonical for m, canonical, _ in self.units.metrics} if self.units else {}
        return {
            "version": self.version,
            "storage_name": self.storage_name,
            "source": self.source,
            "time_field": self.time_field,
            "columns": {f.name: f.storage() for f in self.fields},
            "raw_columns": self.raw_column_names(),
            "canonical_units": units,
        }


@dataclass(frozen=True)
class LakeConfig:
    """The datasets bronze records are routed to, and how bronze is read."""

    datasets: tuple[DatasetSpec, ...]
    type_field: str = "type"
    bronze: dict[str, Any] = field(default_factory=lambda: dict(BRONZE_DEFAULTS))
    document: dict[str, Any] = field(default_factory=dict, compare=False)

    def dataset(self, name: str) -> DatasetSpec | None:
        return next((d for d in self.datasets if d.name == name), None)

    def storage_names(self) -> dict[str, DatasetSpec]:
        return {d.storage_name: d for d in self.datasets}

    def schemas(self) -> dict[str, pa.Schema]:
        """Silver dataset (storage name) -> Arrow schema, for the routed datasets."""
        return {d.storage_name: d.arrow_schema() for d in self.datasets}

    def to_json(self) -> str:
        """The compiled config (what ships to Glue as ``--lake_config``)."""
        return json.dumps(self.document, sort_keys=True, indent=1)


# -- reading files ------------------------------------------------------------------------------
def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise LakeConfigError(str(path), "", f"not valid JSON: {exc}") from None
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is in the checkout's environment
        raise LakeConfigError(
            str(path), "", "PyYAML is needed to read YAML (or write the file as JSON)"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LakeConfigError(str(path), "", f"not valid YAML: {exc}") from None


def load_folder(folder: Path | str) -> LakeConfig:
    """``<folder>/lake.yaml`` (optional) and ``<folder>/datasets/*.{yaml,yml,json}``, validated."""
    base = Path(folder)
    if not base.is_dir():
        raise LakeConfigError(str(base), "", "no such folder (the lake config: lake.yaml and datasets/)")
    lake_doc: dict[str, Any] = {}
    for name in ("lake.yaml", "lake.yml", "lake.json"):
        if (base / name).is_file():
            loaded = _read(base / name)
            if loaded is not None and not isinstance(loaded, dict):
                raise LakeConfigError(str(base / name), "", "must hold a mapping (routing, bronze)")
            lake_doc = {**(loaded or {}), "source": str(base / name)}
            break
    files = sorted(p for p in (base / "datasets").glob("*") if p.suffix in {".yaml", ".yml", ".json"})
    datasets = []
    for path in files:
        doc = _read(path)
        if not isinstance(doc, dict):
            raise LakeConfigError(str(path), "", "must hold a mapping (name, fields, ...)")
        datasets.append({**doc, "source": str(path)})
    return compile_config({"lake": lake_doc, "datasets": datasets})


def load_config(location: Path | str | None = None) -> LakeConfig:
    """A config folder, or a compiled ``.json`` (:meth:`LakeConfig.to_json`); default: ``$NEXUS_LAKE_CONFIG``
    or the checkout's ``lake/`` folder."""
    where = Path(location or os.environ.get(CONFIG_ENV) or DEFAULT_DIR)
    if where.is_file():
        return compile_config(json.loads(where.read_text(encoding="utf-8")))
    if not where.exists() and location is None:
        raise LakeConfigError(
            str(where), "", "no lake config found: pass --lake_config (a compiled JSON) or set " + CONFIG_ENV
        )
    return load_folder(where)


# -- validation ---------------------------------------------------------------------------------
def _number(source: str, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LakeConfigError(source, where, f"must be a finite number (got {value!r})")
    return float(value)


def _strings(source: str, where: str, value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise LakeConfigError(source, where, f"must be a string or a list of strings (got {value!r})")
    return tuple(items)


def _unknown(source: str, where: str, doc: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(doc) - allowed - {"source"})
    if extra:
        raise LakeConfigError(
            source, f"{where}{extra[0]}", f"unknown key (allowed: {', '.join(sorted(allowed))})"
        )


def _field(source: str, name: str, doc: Any) -> FieldSpec:
    where = f"fields.{name}"
    if isinstance(doc, str):
        doc = {"type": doc}
    if not isinstance(doc, dict):
        raise LakeConfigError(source, where, "must be a mapping like {type: float, required: true}")
    _unknown(source, where + ".", doc, _FIELD_KEYS)
    if not _COLUMN.match(name) or name in RESERVED_COLUMNS:
        reason = "is reserved" if name in RESERVED_COLUMNS else "must be lower case letters, digits and _"
        raise LakeConfigError(source, where, f"the column name {name!r} {reason}")
    kind = doc.get("type")
    if kind not in TYPE_NAMES:
        raise LakeConfigError(
            source, where + ".type", f"must be one of {', '.join(TYPE_NAMES)} (got {kind!r})"
        )
    path = doc.get("path", name)
    if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
        raise LakeConfigError(
            source, where + ".path", f"must be a dotted path like readings.temperature_c (got {path!r})"
        )
    numeric = kind in {"float", "integer"}
    for key in ("range", "min", "max", "wrap"):
        if key in doc and not numeric:
            raise LakeConfigError(
                source, f"{where}.{key}", f"only numeric fields take {key} ({name} is {kind})"
            )
    low = high = None
    if "range" in doc:
        bounds = doc["range"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise LakeConfigError(source, where + ".range", "must be [low, high]")
        low, high = _number(source, where + ".range", bounds[0]), _number(source, where + ".range", bounds[1])
        if low > high:
            raise LakeConfigError(source, where + ".range", f"low {low:g} is above high {high:g}")
    enum = _strings(source, where + ".enum", doc["enum"]) if "enum" in doc else ()
    aliases = doc.get("aliases") or {}
    if aliases and (not enum or not isinstance(aliases, dict)):
        raise LakeConfigError(source, where + ".aliases", "must map alias -> one of the field's enum values")
    for alias, target in aliases.items():
        if target not in enum:
            raise LakeConfigError(
                source, f"{where}.aliases.{alias}", f"{target!r} is not one of enum {list(enum)}"
            )
    normalize = _strings(source, where + ".normalize", doc["normalize"]) if "normalize" in doc else ()
    if set(normalize) - {"trim", "lower"} or (normalize and kind != "string"):
        raise LakeConfigError(source, where + ".normalize", "string fields only, with trim and/or lower")
    if (enum or aliases) and kind != "string":
        raise LakeConfigError(source, where + ".enum", "string fields only")
    default = doc.get("default")
    if default is not None:
        if kind == "string" and not isinstance(default, str):
            raise LakeConfigError(source, where + ".default", "must be a string")
        if numeric:
            default = _number(source, where + ".default", default)
        if kind in {"timestamp", "boolean"}:
            raise LakeConfigError(source, where + ".default", f"{kind} fields take no default")
    for key in ("required", "finite"):
        if key in doc and not isinstance(doc[key], bool):
            raise LakeConfigError(source, f"{where}.{key}", "must be true or false")
    return FieldSpec(
        name=name,
        type=kind,
        path=path,
        required=bool(doc.get("required", False)),
        low=low,
        high=high,
        minimum=_number(source, where + ".min", doc["min"]) if "min" in doc else None,
        maximum=_number(source, where + ".max", doc["max"]) if "max" in doc else None,
        finite=bool(doc.get("finite", True)),
        wrap=_number(source, where + ".wrap", doc["wrap"]) if "wrap" in doc else None,
        enum=enum,
        aliases=tuple(
            sorted((str(a).lower() if "lower" in normalize else str(a), t) for a, t in aliases.items())
        ),
        trim="trim" in normalize,
        lower="lower" in normalize,
        default=default,
    )


def _units(source: str, doc: Any, fields: dict[str, FieldSpec]) -> UnitSpec:
    if not isinstance(doc, dict):
        raise LakeConfigError(source, "units", "must be a mapping (value, unit, metric, metrics)")
    _unknown(source, "units.", doc, {"value", "unit", "metric", "raw", "metrics"})
    roles = {"value": "float", "unit": "string", "metric": "string"}
    for role, kind in roles.items():
        name = doc.get(role, role)
        if name not in fields or fields[name].type != kind:
            raise LakeConfigError(
                source, f"units.{role}", f"must name a {kind} field of the dataset (got {name!r})"
            )
    metrics = []
    for metric, spec in sorted((doc.get("metrics") or {}).items()):
        where = f"units.metrics.{metric}"
        if (
            not isinstance(spec, dict)
            or not isinstance(spec.get("unit"), str)
            or not isinstance(spec.get("from"), dict)
        ):
            raise LakeConfigError(
                source, where, "must be {unit: <canonical>, from: {<unit>: [scale, offset]}}"
            )
        conversions = []
        for unit, pair in sorted(spec["from"].items()):
            if not isinstance(pair, list) or len(pair) != 2:
                raise LakeConfigError(source, f"{where}.from.{unit}", "must be [scale, offset]")
            scale, offset = (
                _number(source, f"{where}.from.{unit}", pair[0]),
                _number(source, f"{where}.from.{unit}", pair[1]),
            )
            conversions.append((str(unit).lower(), scale, offset))
        metrics.append((str(metric).lower(), spec["unit"], tuple(conversions)))
    raw = doc.get("raw", True)
    if not isinstance(raw, bool):
        raise LakeConfigError(source, "units.raw", "must be true or false")
    return UnitSpec(
        doc.get("value", "value"), doc.get("unit", "unit"), doc.get("metric", "metric"), raw, tuple(metrics)
    )


def _dataset(doc: dict[str, Any]) -> DatasetSpec:
    source = str(doc.get("source", "<dataset>"))
    _unknown(source, "", doc, _DATASET_KEYS)
    name = doc.get("name") or Path(source).stem
    if not isinstance(name, str) or not _NAME.match(name) or _VERSIONED.search(name):
        raise LakeConfigError(
            source, "name", f"must be lower case letters, digits and _, not ending in _v<n> (got {name!r})"
        )
    if name in SYSTEM_DATASETS:
        raise LakeConfigError(source, "name", f"{name!r} is a dataset the lake writes itself")
    version = doc.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise LakeConfigError(source, "version", f"must be a whole number >= 1 (got {version!r})")
    raw_fields = doc.get("fields")
    if not isinstance(raw_fields, dict) or not raw_fields:
        raise LakeConfigError(source, "fields", "must map field names to their definitions")
    fields = {str(key): _field(source, str(key), value) for key, value in raw_fields.items()}
    time_field = doc.get("time_field", "ts")
    if time_field not in fields or fields[time_field].type != "timestamp" or not fields[time_field].required:
        raise LakeConfigError(
            source,
            "time_field",
            f"must name a required timestamp field (got {time_field!r}; "
            "add e.g. ts: {type: timestamp, required: true})",
        )
    paths: dict[str, str] = {}
    for spec in fields.values():
        clash = next(
            (
                p
                for p in paths
                if p == spec.path or p.startswith(spec.path + ".") or spec.path.startswith(p + ".")
            ),
            None,
        )
        if clash is not None:
            raise LakeConfigError(
                source,
                f"fields.{spec.name}.path",
                f"{spec.path!r} overlaps field {paths[clash]}'s path {clash!r}",
            )
        paths[spec.path] = spec.name
    units = _units(source, doc["units"], fields) if "units" in doc else None
    if units is not None and units.raw:
        for column in (f"raw_{units.value}", f"raw_{units.unit}"):
            if column in fields:
                raise LakeConfigError(
                    source, f"fields.{column}", "is the column units.raw keeps the raw value in"
                )
    match = doc.get("match", {"types": [name]})
    if not isinstance(match, dict):
        raise LakeConfigError(source, "match", "must be a mapping (types, prefixes, where)")
    _unknown(source, "match.", match, {"types", "prefixes", "where"})
    where = match.get("where") or {}
    if not isinstance(where, dict) or any(isinstance(v, (dict, list)) or v is None for v in where.values()):
        raise LakeConfigError(
            source, "match.where", "must map field paths to plain values (string, number, true/false)"
        )
    types = _strings(source, "match.types", match["types"]) if "types" in match else ()
    prefixes = _strings(source, "match.prefixes", match["prefixes"]) if "prefixes" in match else ()
    if not (types or prefixes or where):
        raise LakeConfigError(
            source, "match", "names no types, prefixes or where rule: no record would reach it"
        )
    return DatasetSpec(
        name=name,
        version=version,
        source=source,
        fields=tuple(fields.values()),
        time_field=time_field,
        types=types,
        prefixes=prefixes,
        where=tuple(sorted((str(k), v) for k, v in where.items())),
        units=units,
        description=str(doc.get("description") or ""),
    )


def _check_shared(datasets: list[DatasetSpec], type_field: str) -> None:
    """Across datasets: unique names, types routed once, gold's inputs present and typed."""
    seen: dict[str, DatasetSpec] = {}
    routed: dict[str, DatasetSpec] = {}
    for spec in datasets:
        if spec.name in seen:
            raise LakeConfigError(
                spec.source, "name", f"dataset {spec.name!r} is also defined in {seen[spec.name].source}"
            )
        seen[spec.name] = spec
        for value in spec.types:
            other = routed.get(value)
            if other is not None and not (spec.prefixes or spec.where or other.prefixes or other.where):
                raise LakeConfigError(
                    spec.source,
                    "match.types",
                    f"type {value!r} already goes to {other.name} ({other.source})",
                )
            routed.setdefault(value, spec)
        for f in spec.fields:
            if f.path == type_field and f.type != "string":
                raise LakeConfigError(
                    spec.source, f"fields.{f.name}", f"{type_field!r} names the dataset: it must be a string"
                )
    for name, needs in GOLD_INPUTS.items():
        source = seen.get(name)
        if source is None:
            continue
        columns = {f.name: f for f in source.fields}
        for column, kind in needs.items():
            found = columns.get(column)
            if found is None or found.type != kind:
                raise LakeConfigError(
                    source.source,
                    f"fields.{column}",
                    f"gold reads {name}.{column} as {kind}: keep it "
                    f"({'missing' if found is None else 'now ' + found.type})",
                )


def compile_config(document: dict[str, Any]) -> LakeConfig:
    """Validate a config document ``{"lake": {...}, "datasets": [{..., "source": file}]}``."""
    lake = dict(document.get("lake") or {})
    source = str(lake.get("source", "lake.yaml"))
    _unknown(source, "", lake, _LAKE_KEYS)
    routing = lake.get("routing") or {}
    if not isinstance(routing, dict):
        raise LakeConfigError(source, "routing", "must be a mapping (type_field)")
    _unknown(source, "routing.", routing, {"type_field"})
    type_field = routing.get("type_field", "type")
    if not isinstance(type_field, str) or not type_field:
        raise LakeConfigError(source, "routing.type_field", "must name a record field")
    bronze = dict(BRONZE_DEFAULTS)
    given = lake.get("bronze") or {}
    if not isinstance(given, dict):
        raise LakeConfigError(source, "bronze", "must be a mapping")
    _unknown(source, "bronze.", given, set(BRONZE_DEFAULTS))
    for key, value in given.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise LakeConfigError(source, f"bronze.{key}", f"must be a positive number (got {value!r})")
        bronze[key] = value
    raw = document.get("datasets") or []
    if not isinstance(raw, list) or not raw:
        raise LakeConfigError(source, "datasets", "no dataset is defined (add lake/datasets/<name>.yaml)")
    datasets = [_dataset(dict(doc)) for doc in raw]
    _check_shared(datasets, type_field)
    return LakeConfig(
        datasets=tuple(datasets),
        type_field=type_field,
        bronze=bronze,
        document={"lake": lake, "datasets": [dict(d) for d in raw]},
    )
