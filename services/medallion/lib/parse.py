"""Blocks of JSON lines to one Arrow table per dataset, fast where clean, line by line where not.

The fast path hands a block (up to 8 MB of JSON lines, :mod:`.decode`) to
``pyarrow.json.read_json`` with the union of every dataset's fields as the explicit schema
(time fields read as text, or as numbers on a retry - producers that send epoch times),
refusing undeclared fields. A block it refuses is read again ignoring them, and they are
never lost: counting the keys of the block (and, only when that count is higher than what
pyarrow found, of each line) tells which records hold more. Rows are then routed to their datasets
(:class:`~.records.Router`), typed per dataset, and the few that need their raw text - no
``id`` (it is derived from the content), extra fields (kept as JSON in ``extra``) - get it
from the block. A record with more than ``bronze.max_record_fields`` keys is rejected.

A block pyarrow cannot read (a broken line, a field of the wrong JSON type) is split in
halves until the pieces parse; pieces of at most :data:`LINE_BY_LINE` lines are read one
line at a time with the same rules (:mod:`.records`), and every line that is not a record of
the right shape becomes a :class:`Rejected` entry with its reason - nothing is dropped.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from services.medallion.lib.datasets import DatasetSpec, FieldSpec, LakeConfig, arrow_types
from services.medallion.lib.decode import MAX_RAW, Block
from services.medallion.lib.records import (
    RecordShape,
    Router,
    count_fields,
    derived_id,
    parse_ts_value,
    record_row,
    where_text,
)
from services.medallion.lib.schemas import TS

LINE_BY_LINE = 64
_READ_OPTIONS = pj.ReadOptions(use_threads=True, block_size=1 << 20)
_EPOCH_MS_ABOVE = 1e11


@dataclass
class Rejected:
    """A line, or a record, that does not become a silver row."""

    line: int | None
    reason: str
    raw: str | None = None
    record_id: str | None = None
    type: str | None = None


@dataclass
class BlockResult:
    """Per dataset the typed rows of one block (a table per piece), and what was rejected."""

    tables: dict[str, list[pa.Table]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)

    def add(self, dataset: str, table: pa.Table) -> None:
        if table.num_rows:
            self.tables.setdefault(dataset, []).append(table)


def _nested(paths: dict[str, pa.DataType]) -> list[pa.Field]:
    tree: dict[str, Any] = {}
    for path, kind in paths.items():
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = kind

    def build(node: dict[str, Any]) -> list[pa.Field]:
        return [pa.field(k, pa.struct(build(v)) if isinstance(v, dict) else v) for k, v in node.items()]

    return build(tree)


def _schemas(explicit: dict[str, str]) -> list[pa.Schema]:
    """The explicit schemas to try: time fields as text, then (when there are any) as numbers."""
    found = [
        pa.schema(
            _nested({p: (pa.string() if k == "timestamp" else arrow_types()[k]) for p, k in explicit.items()})
        )
    ]
    if "timestamp" in explicit.values():
        found.append(
            pa.schema(
                _nested(
                    {p: (pa.float64() if k == "timestamp" else arrow_types()[k]) for p, k in explicit.items()}
                )
            )
        )
    return found


class ParsePlan:
    """What the parse stage needs from the lake config, computed once per run.

    ``hint`` is the set of datasets the last block held: the next block is first read with
    only their fields (objects of one delivery stream are usually of one kind, and a smaller
    schema parses a fifth faster); a record with other fields makes that read fail, and the
    block is read again with every dataset's fields."""

    def __init__(self, config: LakeConfig) -> None:
        self.config = config
        self.router = Router(config)
        self.type_field = config.type_field
        self.shapes = {d.name: RecordShape(d, config.type_field) for d in config.datasets}
        kinds: dict[str, set[str]] = {"id": {"string"}, "run_id": {"string"}, config.type_field: {"string"}}
        for spec in config.datasets:
            for f in spec.fields:
                kinds.setdefault(f.path, set()).add(f.type)
        for spec in config.datasets:  # fields only rules look at are read as text
            for path, _value in spec.where:
                kinds.setdefault(path, {"string"})
        conflicting = {
            p for p, k in kinds.items() if len(k) > 1 or any(o.startswith(p + ".") for o in kinds if o != p)
        }
        conflicting |= {p for p in kinds if any(p.startswith(c + ".") for c in conflicting)}
        explicit = {p: next(iter(k)) for p, k in kinds.items() if p not in conflicting}
        self.explicit = explicit
        self.max_fields = int(config.bronze["max_record_fields"])
        self.variants = _schemas(explicit)
        self.hint: frozenset[str] = frozenset()
        self._narrow: dict[frozenset[str], list[pa.Schema]] = {}
        self.others: dict[str, list[str]] = {}
        self.parse_schemas: dict[str, pa.Schema] = {}
        for spec in config.datasets:
            consumed = {"id", "run_id", *(f.path for f in spec.fields)}
            if spec.types:
                consumed.add(config.type_field)
            self.others[spec.name] = [p for p in explicit if p not in consumed]
            columns = [
                ("id", pa.string()),
                ("run_id", pa.string()),
                *((f.name, f.arrow) for f in spec.fields),
            ]
            columns += [(f"_bad_{f.name}", pa.bool_()) for f in spec.fields if f.type == "timestamp"]
            self.parse_schemas[spec.name] = pa.schema(
                [*columns, ("_line", pa.int64()), ("extra", pa.string())]
            )

    def narrowed(self, names: frozenset[str]) -> list[pa.Schema]:
        """The schemas with only the fields of datasets ``names`` (and the envelope)."""
        if names not in self._narrow:
            paths = {"id", "run_id", self.type_field}
            for spec in self.config.datasets:
                if spec.name in names:
                    paths |= {f.path for f in spec.fields} | {p for p, _ in spec.where}
            self._narrow[names] = _schemas({p: k for p, k in self.explicit.items() if p in paths})
        return self._narrow[names]


def parse_block(block: Block, plan: ParsePlan, key: str) -> BlockResult:
    """Every record of one block, typed per dataset; raw text filled in for rejected lines."""
    result = BlockResult()
    lines = block.lines if block.lines >= 0 else block.data.count(b"\n")
    _parse(block.data, block.first_line, plan, key, result, lines)
    if result.tables:
        plan.hint = frozenset(result.tables)
    missing = [r for r in result.rejected if r.raw is None and r.line is not None]
    if missing:
        fill_raw(missing, block)
    return result


def fill_raw(entries: list[Rejected], block: Block) -> None:
    """Give rejected entries the text of their line (up to 64 KB)."""
    lines = block.data.split(b"\n")
    for entry in entries:
        index = (entry.line or 0) - block.first_line
        if 0 <= index < len(lines):
            entry.raw = lines[index][:MAX_RAW].decode("utf-8", "replace")


def _parse(
    data: bytes, first_line: int, plan: ParsePlan, key: str, result: BlockResult, newlines: int
) -> None:
    if newlines <= LINE_BY_LINE:
        if data.strip():
            _parse_lines(data, first_line, plan, key, result)
        return
    bad = _not_utf8(data)
    if bad is not None:  # pyarrow would take the bytes as they are: read that line on its own
        start = data.rfind(b"\n", 0, bad) + 1
        end = data.find(b"\n", bad)
        end = len(data) if end < 0 else end + 1
        head, line, tail = data[:start], data[start:end], data[end:]
        head_lines = head.count(b"\n")
        _parse(head, first_line, plan, key, result, head_lines)
        _parse_lines(line, first_line + head_lines, plan, key, result)
        _parse(tail, first_line + head_lines + 1, plan, key, result, newlines - head_lines - 1)
        return
    found = _read_fast(data, plan)
    if found is not None:
        _from_table(found[0], data, first_line, newlines, plan, key, result, found[1])
        return
    middle = data.rfind(b"\n", 0, len(data) // 2)
    if middle <= 0:
        _parse_lines(data, first_line, plan, key, result)
        return
    head, tail = data[: middle + 1], data[middle + 1 :]
    head_lines = head.count(b"\n")
    _parse(head, first_line, plan, key, result, head_lines)
    _parse(tail, first_line + head_lines, plan, key, result, newlines - head_lines)


def _not_utf8(data: bytes) -> int | None:
    """Where ``data`` stops being UTF-8 (None when it is; ASCII is checked at memory speed)."""
    if data.isascii():
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return int(exc.start)
    return None


def _read(data: bytes, schema: pa.Schema, unexpected: str) -> pa.Table:
    return pj.read_json(
        io.BytesIO(data),
        read_options=_READ_OPTIONS,
        parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior=unexpected),
    )


def _read_fast(data: bytes, plan: ParsePlan) -> tuple[pa.Table, bool] | None:
    """(the block as the union schema, whether a record holds fields no dataset declares), or None.

    Read first with pyarrow refusing undeclared fields - the common case, and the fastest
    read; when it refuses, read again ignoring them (and count keys to find them)."""
    if plan.hint and len(plan.hint) < len(plan.config.datasets):
        for schema in plan.narrowed(plan.hint):
            try:
                return _read(data, schema, "error"), False
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                continue
    for schema in plan.variants:
        try:
            return _read(data, schema, "error"), False
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            if "unexpected field" not in str(exc):
                continue
        try:
            return _read(data, schema, "ignore"), True
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            continue
    return None


def _line_numbers(table: pa.Table, data: bytes, first_line: int, newlines: int) -> pa.Array:
    if table.num_rows == newlines + (0 if data.endswith(b"\n") else 1):
        return pa.arange(first_line, first_line + table.num_rows)
    numbers = [first_line + n for n, line in enumerate(data.split(b"\n")) if line.strip()]
    return pa.array(numbers[: table.num_rows], pa.int64())


def column(table: pa.Table, path: str) -> Any:
    """The values at a dotted path (None when no record of the table has it)."""
    parts = path.split(".")
    if parts[0] not in table.column_names:
        return None
    values: Any = table[parts[0]]
    for part in parts[1:]:
        kind = values.type
        if not pa.types.is_struct(kind) or kind.get_field_index(part) < 0:
            return None
        values = pc.struct_field(values, part)
    return values


def _valid_total(values: Any) -> int:
    """How many keys with a value a column accounts for (nested children included)."""
    total = len(values) - values.null_count
    if pa.types.is_struct(values.type):
        for child in values.type:
            total += _valid_total(pc.struct_field(values, child.name))
    return int(total)


def _valid_per_row(values: Any) -> Any:
    count = pc.cast(pc.is_valid(values), pa.int64())
    if pa.types.is_struct(values.type):
        for child in values.type:
            count = pc.add(count, _valid_per_row(pc.struct_field(values, child.name)))
    return count


def too_many_fields(count: int, limit: int) -> str:
    return f"record has {count:,} fields, over the limit of {limit:,} (bronze.max_record_fields)"


def key_count(text: bytes, nulls: bool = True) -> int:
    """The keys with a non-null value in JSON text (``"k":``, less ``null`` values; a ``":`` or
    ``null`` inside a string counts too, which only costs a closer look)."""
    return text.count(b'":') - (text.count(b"null") if nulls else 0)


def _beyond_schema(
    table: pa.Table, data: bytes, first_line: int, lines: Any, plan: ParsePlan, result: BlockResult
) -> tuple[pa.Table, Any, Any]:
    """(table, lines, rows holding fields no dataset declares - or None), wide records rejected.

    pyarrow reads only the declared fields. Whether a record holds others is told by counting
    its keys: first for the whole block (one ``bytes.count``), and per line only when the
    block's count is higher than the values pyarrow found."""
    known = sum(_valid_total(table[name]) for name in table.column_names)
    if key_count(data, nulls=False) == known or key_count(data) == known:
        return table, lines, None
    raw = data.split(b"\n")
    numbers = lines.to_pylist()
    counts = [key_count(raw[n - first_line]) for n in numbers]
    per_row = pa.array([0] * table.num_rows, pa.int64())
    for name in table.column_names:
        per_row = pc.add(per_row, _valid_per_row(table[name]))
    outside = pc.not_equal(pa.array(counts, pa.int64()), per_row)
    limit = plan.max_fields
    wide = [position for position, count in enumerate(counts) if count > limit]
    if not wide:
        return table, lines, outside
    for position in wide:
        result.rejected.append(Rejected(numbers[position], too_many_fields(counts[position], limit)))
    keep = pc.invert(pa.array([c > limit for c in counts]))
    return table.filter(keep), lines.filter(keep), outside.filter(keep)


def _any(masks: list[Any]) -> Any:
    found = None
    for mask in masks:
        filled = pc.fill_null(mask, False)
        found = filled if found is None else pc.or_(found, filled)
    return found


def _route(table: pa.Table, plan: ParsePlan, key: str) -> tuple[list[DatasetSpec], Any]:
    """(candidate datasets, per row the index of its dataset in them or -1)."""
    candidates = plan.router.candidates(key)
    rows = table.num_rows
    kind = column(table, plan.type_field)
    index = pa.repeat(pa.scalar(-1, pa.int32()), rows)
    for number, spec in enumerate(candidates):
        cond = pc.equal(index, -1)
        if spec.types:
            if kind is None or not pa.types.is_string(kind.type):
                continue
            cond = pc.and_(cond, pc.fill_null(pc.is_in(kind, value_set=pa.array(spec.types)), False))
        for path, want in spec.where:
            values = column(table, path)
            if values is None or pa.types.is_null(values.type):
                cond = pc.and_(cond, pa.repeat(False, rows))
                continue
            if not (
                pa.types.is_string(values.type)
                or pa.types.is_integer(values.type)
                or pa.types.is_floating(values.type)
                or pa.types.is_boolean(values.type)
            ):
                cond = pc.and_(cond, pa.repeat(False, rows))
                continue
            text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
            cond = pc.and_(cond, pc.fill_null(pc.equal(text, where_text(want)), False))
        index = pc.if_else(cond, number, index)
    return candidates, index


def _from_table(
    table: pa.Table,
    data: bytes,
    first_line: int,
    newlines: int,
    plan: ParsePlan,
    key: str,
    result: BlockResult,
    undeclared: bool,
) -> None:
    lines = _line_numbers(table, data, first_line, newlines)
    outside = None
    if undeclared:
        table, lines, outside = _beyond_schema(table, data, first_line, lines, plan, result)
    candidates, index = _route(table, plan, key)
    unrouted = pc.equal(index, -1)
    if pc.any(unrouted).as_py():
        kind = column(table, plan.type_field)
        ids = column(table, "id")
        picked = pa.table(
            {
                "line": lines,
                "id": ids if ids is not None else pa.nulls(table.num_rows, pa.string()),
                "type": kind
                if kind is not None and pa.types.is_string(kind.type)
                else pa.nulls(table.num_rows, pa.string()),
            }
        ).filter(unrouted)
        for row in picked.to_pylist():
            result.rejected.append(
                Rejected(row["line"], plan.router.unrouted_reason(row["type"]), None, row["id"], row["type"])
            )
    for number, spec in enumerate(candidates):
        mask = pc.equal(index, number)
        count = pc.sum(mask).as_py() or 0
        if count == 0:
            continue
        whole = count == table.num_rows
        sub = table if whole else table.filter(mask)
        sub_lines = lines if whole else lines.filter(mask)
        sub_outside = None if outside is None else (outside if whole else outside.filter(mask))
        _dataset_rows(sub, sub_lines, sub_outside, spec, plan, data, first_line, result)


def _typed(values: Any, spec: FieldSpec, rows: int) -> tuple[Any, Any, Any]:
    """(values as the field's type, rows whose JSON type was wrong or None, ts-invalid or None)."""
    if values is None or pa.types.is_null(values.type):
        invalid = pa.repeat(False, rows) if spec.type == "timestamp" else None
        return pa.nulls(rows, spec.arrow), None, invalid
    kind = values.type
    if spec.type == "timestamp":
        if pa.types.is_string(kind):
            ts, invalid = _iso_to_ts(values)
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
            ts, invalid = _epoch_to_ts(pc.cast(values, pa.float64()))
        else:
            return pa.nulls(rows, TS), None, pc.is_valid(values)
        return ts, None, invalid
    if kind == spec.arrow:
        return values, None, None
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    if spec.type == "float" and numeric:
        return pc.cast(values, pa.float64()), None, None
    if spec.type == "integer" and pa.types.is_floating(kind):
        whole = pc.fill_null(pc.equal(values, pc.floor(values)), True)
        return pc.cast(pc.if_else(whole, values, None), pa.int64(), safe=False), pc.invert(whole), None
    if spec.type == "string" and (numeric or pa.types.is_boolean(kind)):
        return pc.cast(values, pa.string()), None, None
    return pa.nulls(rows, spec.arrow), pc.is_valid(values), None


_TYPE_REASON = {
    "float": "must be a number",
    "integer": "must be a whole number",
    "string": "must be a string",
    "boolean": "must be true or false",
}


def _dataset_rows(
    sub: pa.Table,
    lines: Any,
    outside: Any,
    spec: DatasetSpec,
    plan: ParsePlan,
    data: bytes,
    first_line: int,
    result: BlockResult,
) -> None:
    rows = sub.num_rows
    columns: dict[str, Any] = {}
    wrong: list[tuple[Any, str]] = []
    for name in ("id", "run_id"):
        values, bad, _ = _typed(column(sub, name), FieldSpec(name, "string", name), rows)
        columns[name] = values
        if bad is not None:
            wrong.append((bad, f"{name} must be a string"))
    for f in spec.fields:
        values, bad, invalid = _typed(column(sub, f.path), f, rows)
        columns[f.name] = values
        if invalid is not None:
            columns[f"_bad_{f.name}"] = invalid
        if bad is not None:
            wrong.append((bad, f"{f.path} {_TYPE_REASON[f.type]}"))
    blank = pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(columns["id"])), 0), True)
    extra_rows = _any(
        [pc.is_valid(v) for v in (column(sub, p) for p in plan.others[spec.name]) if v is not None]
        + ([outside] if outside is not None else [])
    )
    need = blank if extra_rows is None else pc.or_(blank, extra_rows)
    extra = pa.nulls(rows, pa.string())
    if pc.any(need).as_py():
        positions = pc.indices_nonzero(need).to_pylist()
        raw_lines = data.split(b"\n")
        numbers = lines.to_pylist() if not isinstance(lines, list) else lines
        shape = plan.shapes[spec.name]
        ids = columns["id"].to_pylist()
        extras: list[str | None] = [None] * rows
        for position in positions:
            value = json.loads(raw_lines[numbers[position] - first_line])
            if not ids[position] or not str(ids[position]).strip():
                ids[position] = derived_id(value)
            extras[position] = shape.extra(value)
        columns["id"] = pa.array(ids, pa.string())
        extra = pa.array(extras, pa.string())
    columns["_line"] = lines
    columns["extra"] = extra
    table = pa.table({name: columns[name] for name in plan.parse_schemas[spec.name].names})
    if wrong:
        bad_any = _any([m for m, _ in wrong])
        reasons = pa.nulls(rows, pa.string())
        for mask, text in wrong:
            reasons = pc.if_else(pc.and_(pc.fill_null(mask, False), pc.is_null(reasons)), text, reasons)
        kind = column(sub, plan.type_field)
        kinds = kind.to_pylist() if kind is not None and pa.types.is_string(kind.type) else [None] * rows
        for position in pc.indices_nonzero(bad_any).to_pylist():
            result.rejected.append(
                Rejected(
                    lines[position].as_py(),
                    reasons[position].as_py(),
                    None,
                    columns["id"][position].as_py(),
                    kinds[position],
                )
            )
        table = table.filter(pc.invert(bad_any))
    result.add(spec.name, table.cast(plan.parse_schemas[spec.name]))


# -- time values --------------------------------------------------------------------------------
def _epoch_to_ts(values: Any) -> tuple[Any, Any]:
    finite = pc.fill_null(pc.and_(pc.is_finite(values), pc.less(pc.abs(values), 1e16)), True)
    safe = pc.if_else(finite, values, pa.scalar(None, pa.float64()))
    micros = pc.if_else(
        pc.greater(safe, _EPOCH_MS_ABOVE), pc.multiply(safe, 1000.0), pc.multiply(safe, 1_000_000.0)
    )
    return pc.cast(pc.cast(pc.round(micros), pa.int64()), TS), pc.invert(finite)


def _iso_to_ts(values: Any) -> tuple[Any, Any]:
    try:
        ts = pc.cast(pc.cast(values, pa.timestamp("ns", tz="UTC")), TS, safe=False)
        return ts, pa.repeat(False, len(values))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    parsed = [parse_ts_value(v) for v in values.to_pylist()]
    return pa.array([p for p, _ in parsed], type=TS), pa.array([bad for _, bad in parsed], type=pa.bool_())


# -- line by line -------------------------------------------------------------------------------
def _values_of(raw: bytes) -> tuple[list[Any], str | None]:
    """The JSON values on one line (several when they are concatenated), or why none."""
    try:
        return [json.loads(raw)], None
    except UnicodeDecodeError as exc:
        return [], f"not UTF-8 text: {exc}"
    except ValueError as exc:
        if not str(exc).startswith("Extra data"):
            return [], f"not valid JSON: {exc}"
        first_error = f"not valid JSON: {exc}"
    text = raw.decode("utf-8")
    decoder = json.JSONDecoder()
    found: list[Any] = []
    position = 0
    while position < len(text):
        while position < len(text) and text[position] in " \t\r":
            position += 1
        if position >= len(text):
            break
        try:
            value, position = decoder.raw_decode(text, position)
        except ValueError:
            return [], first_error
        found.append(value)
    return found, None


def _parse_lines(data: bytes, first_line: int, plan: ParsePlan, key: str, result: BlockResult) -> None:
    rows: dict[str, list[dict[str, Any]]] = {}
    for offset, raw in enumerate(data.split(b"\n")):
        if not raw.strip():
            continue
        number = first_line + offset
        text = raw[:MAX_RAW].decode("utf-8", "replace")
        values, problem = _values_of(raw)
        if problem is not None:
            result.rejected.append(Rejected(number, problem, text))
            continue
        for value in values:
            if not isinstance(value, dict):
                result.rejected.append(Rejected(number, "not a JSON object", text))
                continue
            fields = count_fields(value)
            if fields > plan.max_fields:
                result.rejected.append(Rejected(number, too_many_fields(fields, plan.max_fields), text))
                continue
            record_id = value.get("id") if isinstance(value.get("id"), str) else None
            kind = value.get(plan.type_field) if isinstance(value.get(plan.type_field), str) else None
            spec, reason = plan.router.route(value, key)
            if spec is None:
                result.rejected.append(Rejected(number, reason or "no dataset", text, record_id, kind))
                continue
            row, reason = record_row(value, spec, plan.shapes[spec.name], number)
            if row is None:
                result.rejected.append(Rejected(number, reason or "wrong shape", text, record_id, kind))
                continue
            rows.setdefault(spec.name, []).append(row)
    for name, found in rows.items():
        result.add(name, pa.Table.from_pylist(found, schema=plan.parse_schemas[name]))


# -- a whole object at once (tools and tests; the job streams blocks) ----------------------------
@dataclass
class ParsedObject:
    """Every dataset's rows of one object in one table (``type``: the dataset), and the rest."""

    table: pa.Table
    bad: list[Rejected]


def parse_object(body: bytes, config: LakeConfig | None = None, key: str = "") -> ParsedObject:
    """Read one (small) object whole: its rows per dataset, tagged, and what was rejected."""
    from services.medallion.lib.datasets import load_config
    from services.medallion.lib.decode import ObjectShape, decompressed, read_blocks

    lake = config or load_config()
    plan = ParsePlan(lake)
    shape = ObjectShape()
    tables: list[pa.Table] = []
    bad: list[Rejected] = []
    for block in read_blocks(decompressed(iter([body]), shape), shape, int(lake.bronze["max_record_bytes"])):
        result = parse_block(block, plan, key)
        bad += result.rejected
        for name, found in result.tables.items():
            tables += [t.append_column("type", pa.repeat(name, t.num_rows)) for t in found]
    bad += [Rejected(p.line, p.reason, p.raw) for p in shape.problems]
    if not tables:
        return ParsedObject(
            pa.table({"id": pa.array([], pa.string()), "type": pa.array([], pa.string())}), bad
        )
    return ParsedObject(pa.concat_tables(tables, promote_options="permissive"), bad)
