"""One record at a time: routing, derived ids, extra fields, timestamps, typing.

The parse stage reads clean blocks with pyarrow (:mod:`.parse`); these are the rules it
applies, written once for single records - the path of lines pyarrow cannot read, and of
the few rows of a fast block that need their raw text (a derived id, extra fields).

* **Routing** (:class:`Router`): the datasets whose ``match.prefixes`` match the object's
  key (the longest prefix wins) are the candidates, else every dataset without prefixes;
  the first candidate whose conditions hold takes the record - datasets with ``where``
  rules first, then those with ``types``, then prefix-only ones (which take everything).
  ``where`` values are compared as text (``3`` and ``"3"`` are equal).
* **Derived id**: ``sha256:`` and the first 32 hex digits of the SHA-256 of the record's
  canonical JSON (keys sorted, no spaces, UTF-8), for records without an ``id`` (or with a
  blank one); the same record always gets the same id, so dedupe and re-runs hold.
* **Extra fields**: everything a record holds beyond its dataset's fields, ``id``,
  ``run_id`` and the type field, as a JSON object with sorted keys (nested ones nested).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.medallion.lib.datasets import DatasetSpec, FieldSpec, LakeConfig
from services.medallion.lib.layout import UTC

EPOCH_MS_ABOVE = 1e11  # a number above this is epoch milliseconds, else seconds
ID_PREFIX = "sha256:"
Tree = dict[str, Any]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def derived_id(value: Any) -> str:
    """The id of a record that has none: a stable hash of its canonical JSON."""
    digest = hashlib.sha256(canonical_json(value).encode("utf-8", "surrogatepass")).hexdigest()
    return ID_PREFIX + digest[:32]


def where_text(value: Any) -> str:
    """How ``where`` values and record values are compared (as text, like Arrow casts them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def path_tree(paths: Iterable[str]) -> Tree:
    """``["a", "r.x", "r.y"]`` -> ``{"a": {}, "r": {"x": {}, "y": {}}}`` ({} is a leaf)."""
    tree: Tree = {}
    for path in paths:
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})
    return tree


def strip_known(value: dict[str, Any], tree: Tree) -> dict[str, Any]:
    """What is left of ``value`` once the paths of ``tree`` are taken out."""
    rest: dict[str, Any] = {}
    for key, item in value.items():
        if key not in tree:
            if item is not None:
                rest[key] = item
            continue
        sub = tree[key]
        if sub and isinstance(item, dict):
            left = strip_known(item, sub)
            if left:
                rest[key] = left
    return rest


def count_fields(value: Any) -> int:
    """The keys with a non-null value in a record, nested objects' keys included."""
    if isinstance(value, dict):
        return sum(1 + count_fields(item) for item in value.values() if item is not None)
    if isinstance(value, list):
        return sum(count_fields(item) for item in value)
    return 0


def lookup(value: dict[str, Any], path: str) -> tuple[Any, str | None]:
    """The value at a dotted path (None when absent), or the reason the path cannot be read."""
    node: Any = value
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if node is None:
            return None, None
        if not isinstance(node, dict):
            return None, f"{'.'.join(parts[:depth])} must be a JSON object"
        node = node.get(part)
    return node, None


def parse_ts_value(value: Any) -> tuple[datetime | None, bool]:
    """(timestamp, invalid) for one time value: ISO-8601 (naive = UTC) or epoch number."""
    if value is None:
        return None, False
    if isinstance(value, bool):
        return None, True
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return None, True
        seconds = value / 1000.0 if value > EPOCH_MS_ABOVE else float(value)
        try:
            return datetime.fromtimestamp(seconds, tz=UTC), False
        except (OverflowError, OSError, ValueError):
            return None, True
    if not isinstance(value, str):
        return None, True
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if "." in text:  # fromisoformat before 3.11 wants 3 or 6 fraction digits
        head, _, rest = text.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction, zone = rest[:digits], rest[digits:]
        text = f"{head}.{(fraction + '000000')[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None, True
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC), False


def coerce(spec: FieldSpec, item: Any) -> tuple[Any, str | None]:
    """A JSON value as the field's type, or why it cannot be (strict numbers, lenient strings)."""
    if item is None:
        return None, None
    if spec.type == "float":
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            return None, f"{spec.path} must be a number"
        return float(item), None
    if spec.type == "integer":
        if (
            isinstance(item, bool)
            or not isinstance(item, (int, float))
            or (isinstance(item, float) and not item.is_integer())
        ):
            return None, f"{spec.path} must be a whole number"
        return int(item), None
    if spec.type == "boolean":
        if not isinstance(item, bool):
            return None, f"{spec.path} must be true or false"
        return item, None
    if spec.type == "timestamp":
        return item, None  # parsed by the caller, which records whether it was readable
    if isinstance(item, str):
        return item, None
    if isinstance(item, (int, float)):
        return json.dumps(item), None
    return None, f"{spec.path} must be a string"


class Router:
    """Which dataset a record goes to (see the module docstring)."""

    def __init__(self, config: LakeConfig) -> None:
        self.config = config
        self.type_field = config.type_field

        def rank(spec: DatasetSpec) -> int:
            return 0 if spec.where else (1 if spec.types else 2)

        self.ordered = sorted(config.datasets, key=lambda d: (rank(d), d.source, d.name))
        self._by_key: dict[str, list[DatasetSpec]] = {}

    def candidates(self, key: str) -> list[DatasetSpec]:
        """The datasets that may take records of the object at ``key``, in the order they try."""
        found = self._by_key.get(key)
        if found is None:
            best = max((len(p) for d in self.ordered for p in d.prefixes if key.startswith(p)), default=-1)
            if best >= 0:
                found = [
                    d for d in self.ordered if any(key.startswith(p) and len(p) == best for p in d.prefixes)
                ]
            else:
                found = [d for d in self.ordered if not d.prefixes]
            if len(self._by_key) > 4096:
                self._by_key.clear()
            self._by_key[key] = found
        return found

    def route(self, value: dict[str, Any], key: str) -> tuple[DatasetSpec | None, str | None]:
        """(dataset, None), or (None, the reason no dataset takes the record)."""
        kind, _ = lookup(value, self.type_field)
        for spec in self.candidates(key):
            if spec.types and not (isinstance(kind, str) and kind in spec.types):
                continue
            if any(where_text(lookup(value, path)[0]) != where_text(want) for path, want in spec.where):
                continue
            return spec, None
        return None, self.unrouted_reason(kind)

    def unrouted_reason(self, kind: Any) -> str:
        if kind is None or (isinstance(kind, str) and not kind.strip()):
            return f"missing {self.type_field}"
        return (
            f"unknown {self.type_field} {kind!r}"
            if isinstance(kind, str)
            else f"{self.type_field} must be a string"
        )


class RecordShape:
    """Per dataset: the paths it consumes (for extra fields)."""

    def __init__(self, spec: DatasetSpec, type_field: str) -> None:
        consumed = ["id", "run_id"] + [f.path for f in spec.fields]
        if spec.types:
            consumed.append(type_field)
        self.tree = path_tree(consumed)

    def extra(self, value: dict[str, Any]) -> str | None:
        rest = strip_known(value, self.tree)
        return canonical_json(rest) if rest else None


def record_row(
    value: dict[str, Any], spec: DatasetSpec, shape: RecordShape, line: int
) -> tuple[dict[str, Any] | None, str | None]:
    """A parse row of ``spec`` for one record, or the reason it has the wrong shape."""
    row: dict[str, Any] = {"_line": line}
    for name in ("id", "run_id"):
        item = value.get(name)
        if item is not None and not isinstance(item, str):
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                return None, f"{name} must be a string"
            item = json.dumps(item)
        row[name] = item
    if row["id"] is None or not str(row["id"]).strip():
        row["id"] = derived_id(value)
    for spec_field in spec.fields:
        item, problem = lookup(value, spec_field.path)
        if problem is None:
            item, problem = coerce(spec_field, item)
        if problem is not None:
            return None, problem
        if spec_field.type == "timestamp":
            item, invalid = parse_ts_value(item)
            row[f"_bad_{spec_field.name}"] = invalid
        row[spec_field.name] = item
    row["extra"] = shape.extra(value)
    return row, None
