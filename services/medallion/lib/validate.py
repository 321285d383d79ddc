"""Validate and normalise a dataset's parsed rows, vectorised (no Python loop per record).

The checks come from the dataset's definition (:mod:`.datasets`): the time field first
(readable, present), then each field in order - missing when required, not a finite
number, outside its range, below ``min``, above ``max``, not one of its ``enum`` values -
and the unit conversion. A record's reason is the first check it fails; records without
one become silver rows (typed, normalised, with their lineage), the others go to
quarantine with their reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from services.medallion.lib.datasets import DatasetSpec, FieldSpec, LakeConfig, UnitSpec


@dataclass(frozen=True)
class Lineage:
    """Where a batch of records came from."""

    source_key: str
    source_version_id: str
    channel: str


@dataclass
class Checked:
    """Silver rows of one dataset, and the rejected records (``_line``, ``id``, ``reason``)."""

    valid: pa.Table
    rejected: pa.Table


class _Reasons:
    """The checks of a table, in order; the reason column is built only if a row fails one."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.checks: list[tuple[Any, str]] = []

    def add(self, mask: Any, text: str) -> None:
        failing = pc.fill_null(mask, False)
        if pc.any(failing).as_py():
            self.checks.append((failing, text))

    def reason(self) -> Any:
        """Per row the first failed check's text, or None when every row passed them all."""
        if not self.checks:
            return None
        reason = pa.nulls(self.rows, pa.string())
        for failing, text in self.checks:
            reason = pc.if_else(pc.and_(failing, pc.is_null(reason)), text, reason)
        return reason


def _missing_text(column: Any) -> Any:
    return pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0), True)


def _missing_number(column: Any) -> Any:
    if pa.types.is_floating(column.type):
        return pc.or_(pc.is_null(column), pc.fill_null(pc.is_nan(column), False))
    return pc.is_null(column)


def constant(value: str, rows: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pc.cast(pa.repeat(0, rows), pa.int32()), pa.array([value]))


def _number(spec: FieldSpec, values: Any, reasons: _Reasons) -> Any:
    path = spec.path
    if spec.required:
        reasons.add(_missing_number(values), f"missing {path}")
    if spec.type == "float" and spec.finite:
        reasons.add(pc.invert(pc.is_finite(values)), f"{path} is not a finite number")
    if spec.low is not None and spec.high is not None:
        inside = pc.and_(pc.greater_equal(values, spec.low), pc.less_equal(values, spec.high))
        reasons.add(pc.invert(inside), f"{path} outside [{spec.low:g}, {spec.high:g}]")
    if spec.minimum is not None:
        reasons.add(pc.less(values, spec.minimum), f"{path} must be >= {spec.minimum:g}")
    if spec.maximum is not None:
        reasons.add(pc.greater(values, spec.maximum), f"{path} must be <= {spec.maximum:g}")
    if spec.default is not None:
        values = pc.fill_null(values, pa.scalar(spec.default, values.type))
    if spec.wrap is not None:
        turns = pc.floor(pc.divide(values, spec.wrap))
        values = pc.subtract(values, pc.multiply(turns, spec.wrap))
    return values


def _text(spec: FieldSpec, values: Any, reasons: _Reasons) -> Any:
    if spec.required:
        reasons.add(_missing_text(values), f"missing {spec.path}")
    if spec.trim:
        values = pc.utf8_trim_whitespace(values)
    if spec.lower:
        values = pc.utf8_lower(values)
    if spec.default is not None:
        values = pc.if_else(_missing_text(values), spec.default, values)
    if spec.enum:
        keys = pa.array(list(spec.enum) + [alias for alias, _ in spec.aliases])
        targets = pa.array(list(spec.enum) + [target for _, target in spec.aliases])
        index = pc.index_in(values, value_set=keys)
        reasons.add(
            pc.and_(pc.invert(_missing_text(values)), pc.is_null(index)),
            f"{spec.path} is not one of {'|'.join(spec.enum)}",
        )
        values = pc.take(targets, index)
    return values


def _units(units: UnitSpec, columns: dict[str, Any], reasons: _Reasons) -> dict[str, Any]:
    keys, scales, offsets, canonical = [], [], [], []
    for metric, unit, conversions in units.metrics:
        for accepted, scale, offset in conversions:
            keys.append(f"{metric}|{accepted}")
            scales.append(scale)
            offsets.append(offset)
            canonical.append(unit)
    metric = pc.utf8_lower(pc.utf8_trim_whitespace(columns[units.metric]))
    unit = columns[units.unit]
    key = pc.binary_join_element_wise(metric, pc.utf8_lower(pc.utf8_trim_whitespace(unit)), "|")
    index = pc.index_in(key, value_set=pa.array(keys, pa.string()))
    known = pc.fill_null(
        pc.is_in(metric, value_set=pa.array([m for m, _, _ in units.metrics], pa.string())), False
    )
    reasons.add(pc.and_(known, pc.is_null(index)), f"{units.unit} is not a unit of the {units.metric}")
    scale = pc.fill_null(pc.take(pa.array(scales, pa.float64()), index), 1.0)
    offset = pc.fill_null(pc.take(pa.array(offsets, pa.float64()), index), 0.0)
    converted = dict(columns)
    converted[units.value] = pc.add(pc.multiply(columns[units.value], scale), offset)
    converted[units.unit] = pc.if_else(known, pc.take(pa.array(canonical, pa.string()), index), unit)
    return converted


def check(spec: DatasetSpec, table: pa.Table, lineage: Lineage) -> Checked:
    """Silver rows of ``spec`` and the rejected rows of one parse table (see :mod:`.parse`)."""
    rows = table.num_rows
    reasons = _Reasons(rows)
    time = spec.field(spec.time_field)
    reasons.add(table[f"_bad_{time.name}"], f"{time.path} is not an ISO-8601 timestamp or epoch number")
    reasons.add(pc.is_null(table[time.name]), f"missing {time.path}")
    columns: dict[str, Any] = {"id": table["id"], "run_id": table["run_id"]}
    for f in spec.fields:
        values = table[f.name]
        if f.name == time.name:
            columns[f.name] = values
        elif f.type == "timestamp":
            reasons.add(table[f"_bad_{f.name}"], f"{f.path} is not an ISO-8601 timestamp or epoch number")
            if f.required:
                reasons.add(pc.is_null(values), f"missing {f.path}")
            columns[f.name] = values
        elif f.type in ("float", "integer"):
            columns[f.name] = _number(f, values, reasons)
        elif f.type == "string":
            columns[f.name] = _text(f, values, reasons)
        else:
            if f.required:
                reasons.add(pc.is_null(values), f"missing {f.path}")
            columns[f.name] = values
    if spec.units is not None:
        raw = {
            f"raw_{spec.units.value}": table[spec.units.value],
            f"raw_{spec.units.unit}": table[spec.units.unit],
        }
        columns = _units(spec.units, columns, reasons)
        if spec.units.raw:
            columns.update(raw)
    columns["extra"] = table["extra"]
    columns["channel"] = constant(lineage.channel, rows)
    columns["source_key"] = constant(lineage.source_key, rows)
    columns["source_version_id"] = constant(lineage.source_version_id, rows)
    schema = spec.arrow_schema()
    full = pa.table([columns[name] for name in schema.names], names=schema.names)
    reason = reasons.reason()
    if reason is None:
        empty = pa.table(
            {
                "_line": pa.array([], pa.int64()),
                "id": pa.array([], pa.string()),
                "reason": pa.array([], pa.string()),
            }
        )
        return Checked(valid=full, rejected=empty)
    ok = pc.is_null(reason)
    rejected = pa.table({"_line": table["_line"], "id": table["id"], "reason": reason}).filter(pc.invert(ok))
    return Checked(valid=full.filter(ok), rejected=rejected)


class _DefaultChecks(Mapping[str, Callable[[pa.Table, Lineage], Checked]]):
    """``CHECKS[name](table, lineage)``: :func:`check` for the datasets of the default lake
    config (the checkout's ``lake/`` folder), for tools and tests."""

    def __init__(self) -> None:
        self._config: LakeConfig | None = None

    def _lake(self) -> LakeConfig:
        if self._config is None:
            from services.medallion.lib.datasets import load_config

            self._config = load_config()
        return self._config

    def __getitem__(self, name: str) -> Callable[[pa.Table, Lineage], Checked]:
        spec = self._lake().dataset(name)
        if spec is None:
            raise KeyError(name)
        return partial(check, spec)

    def __iter__(self) -> Iterator[str]:
        return iter([d.name for d in self._lake().datasets])

    def __len__(self) -> int:
        return len(self._lake().datasets)


CHECKS = _DefaultChecks()
