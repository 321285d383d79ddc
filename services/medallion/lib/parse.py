"""Bronze objects to Arrow: GZIP JSON lines, parsed fast where clean and line by line where not.

The fast path hands a whole block (up to :data:`BLOCK_BYTES`, cut at a newline) to
``pyarrow.json.read_json`` with the explicit union schema of the three record types. A
block that fails (a broken line, a field of the wrong JSON type) is retried once with a
numeric ``ts`` (producers that send epoch times), then split in halves until the pieces
parse; pieces of at most :data:`LINE_BY_LINE` lines are read one line at a time, and every
line that is not a JSON object of the right shape becomes a quarantine entry - nothing is
dropped. A typical object with a few bad lines costs a handful of extra parses.
"""

from __future__ import annotations

import gzip
import io
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from services.medallion.lib.layout import UTC
from services.medallion.lib.schemas import PARSE_FIELDS, PARSE_SCHEMA, PARSED_SCHEMA, READINGS, TS

BLOCK_BYTES = 8 << 20
LINE_BY_LINE = 64
_GZIP_MAGIC = b"\x1f\x8b"
_NUMERIC_TS_SCHEMA = pa.schema([(n, pa.float64() if n == "ts" else t) for n, t in PARSE_FIELDS])
_READ_OPTIONS = pj.ReadOptions(use_threads=True, block_size=1 << 20)
_MAX_RAW = 65536
_EPOCH_MS_ABOVE = 1e11  # a number above this is epoch milliseconds, else seconds


@dataclass
class BadLine:
    """A line that could not be read as a record."""

    line: int
    raw: str
    reason: str
    record_id: str | None = None
    type: str | None = None


@dataclass
class ParsedObject:
    """One bronze object as a table of PARSED_SCHEMA plus its unreadable lines."""

    table: pa.Table
    bad: list[BadLine] = field(default_factory=list)
    lines: int = 0
    _data: bytes = b""

    def raw_lines(self, numbers: list[int]) -> dict[int, str]:
        """The text of the given 1-based line numbers (for quarantine entries)."""
        wanted = set(numbers)
        found: dict[int, str] = {}
        for number, line in enumerate(self._data.split(b"\n"), start=1):
            if number in wanted:
                found[number] = line.decode("utf-8", "replace")[:_MAX_RAW]
        return found


def decompress(body: bytes) -> bytes:
    """GZIP objects (Firehose's GZIP, possibly several members) or plain bytes."""
    if body[:2] == _GZIP_MAGIC:
        return gzip.decompress(body)
    return body


def parse_object(body: bytes, data: bytes | None = None) -> ParsedObject:
    """Decompress (unless ``data`` is the decompressed body already) and parse one bronze object."""
    data = decompress(body) if data is None else data
    tables: list[pa.Table] = []
    bad: list[BadLine] = []
    start = 0
    line_no = 1
    total = len(data)
    while start < total:
        end = min(start + BLOCK_BYTES, total)
        if end < total:
            cut = data.rfind(b"\n", start, end)
            end = cut + 1 if cut > start else (data.find(b"\n", end) + 1 or total)
        block = data[start:end]
        newlines = block.count(b"\n")
        _parse_block(block, line_no, tables, bad, newlines)
        line_no += newlines
        start = end
    lines = line_no - 1 + (1 if data and not data.endswith(b"\n") else 0)
    table = pa.concat_tables(tables) if tables else PARSED_SCHEMA.empty_table()
    return ParsedObject(table=table, bad=bad, lines=lines, _data=data)


def _parse_block(
    block: bytes, first_line: int, tables: list[pa.Table], bad: list[BadLine], newlines: int | None = None
) -> None:
    if newlines is None:
        newlines = block.count(b"\n")
    if newlines <= LINE_BY_LINE:
        if block.strip():
            _parse_lines(block, first_line, tables, bad)
        return
    table = _read_fast(block)
    if table is not None:
        tables.append(_with_lines(table, block, first_line, newlines))
        return
    middle = block.rfind(b"\n", 0, len(block) // 2)
    if middle <= 0:
        _parse_lines(block, first_line, tables, bad)
        return
    head, tail = block[: middle + 1], block[middle + 1 :]
    _parse_block(head, first_line, tables, bad)
    _parse_block(tail, first_line + head.count(b"\n"), tables, bad)


def _read_fast(block: bytes) -> pa.Table | None:
    """The block as PARSED_SCHEMA, or None when pyarrow cannot read it."""
    for schema in (PARSE_SCHEMA, _NUMERIC_TS_SCHEMA):
        try:
            raw = pj.read_json(
                io.BytesIO(block),
                read_options=_READ_OPTIONS,
                parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            continue
        return _typed_ts(raw)
    return None


def _typed_ts(raw: pa.Table) -> pa.Table:
    column = raw["ts"]
    if pa.types.is_floating(column.type):
        ts, invalid = _epoch_to_ts(column)
    else:
        ts, invalid = _iso_to_ts(column)
    index = raw.schema.get_field_index("ts")
    table = raw.set_column(index, "ts", ts)
    return table.append_column("_ts_invalid", invalid)


def _epoch_to_ts(column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    finite = pc.fill_null(pc.and_(pc.is_finite(values), pc.less(pc.abs(values), 1e16)), True)
    safe = pc.if_else(finite, values, pa.scalar(None, pa.float64()))
    micros = pc.if_else(
        pc.greater(safe, _EPOCH_MS_ABOVE), pc.multiply(safe, 1000.0), pc.multiply(safe, 1_000_000.0)
    )
    ts = pc.cast(pc.cast(pc.round(micros), pa.int64()), TS)
    invalid = pc.invert(finite)
    return ts, invalid


def _iso_to_ts(column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    try:
        ts = pc.cast(pc.cast(values, pa.timestamp("ns", tz="UTC")), TS, safe=False)
        return ts, pa.repeat(False, len(values))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    parsed = [_parse_ts_value(v) for v in values.to_pylist()]
    ts = pa.array([p for p, _ in parsed], type=TS)
    invalid = pa.array([bad for _, bad in parsed], type=pa.bool_())
    return ts, invalid


def _parse_ts_value(value: Any) -> tuple[datetime | None, bool]:
    """(timestamp, invalid) for one ``ts`` value: ISO-8601 (naive = UTC) or epoch number."""
    if value is None:
        return None, False
    if isinstance(value, bool):
        return None, True
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return None, True
        seconds = value / 1000.0 if value > _EPOCH_MS_ABOVE else float(value)
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


def _with_lines(table: pa.Table, block: bytes, first_line: int, newlines: int) -> pa.Table:
    """Add ``_line`` (1-based line number in the object) to a fast-parsed block."""
    if table.num_rows == newlines + (0 if block.endswith(b"\n") else 1):
        return table.append_column("_line", pa.arange(first_line, first_line + table.num_rows))
    numbers = [first_line + n for n, line in enumerate(block.split(b"\n")) if line.strip()]
    return table.append_column("_line", pa.array(numbers[: table.num_rows], pa.int64()))


# -- line by line -------------------------------------------------------------------------------
def _parse_lines(block: bytes, first_line: int, tables: list[pa.Table], bad: list[BadLine]) -> None:
    rows: list[dict[str, Any]] = []
    for offset, raw_line in enumerate(block.split(b"\n")):
        if not raw_line.strip():
            continue
        number = first_line + offset
        text = raw_line.decode("utf-8", "replace")
        try:
            value = json.loads(raw_line)
        except ValueError as exc:
            bad.append(BadLine(number, text[:_MAX_RAW], f"not valid JSON: {exc}"))
            continue
        if not isinstance(value, dict):
            bad.append(BadLine(number, text[:_MAX_RAW], "not a JSON object"))
            continue
        row, problem = _coerce(value)
        if problem is not None:
            record_id = value.get("id") if isinstance(value.get("id"), str) else None
            kind = value.get("type") if isinstance(value.get("type"), str) else None
            bad.append(BadLine(number, text[:_MAX_RAW], problem, record_id, kind))
            continue
        row["_line"] = number
        rows.append(row)
    if rows:
        tables.append(pa.Table.from_pylist(rows, schema=PARSED_SCHEMA))


def _coerce(value: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A JSON object as a PARSED_SCHEMA row, or the reason it has the wrong shape."""
    row: dict[str, Any] = {}
    for name, kind in PARSE_FIELDS:
        item = value.get(name)
        if item is None:
            row[name] = None
            continue
        if name == "ts":
            ts, invalid = _parse_ts_value(item)
            row["ts"], row["_ts_invalid"] = ts, invalid
            continue
        if kind == READINGS:
            if not isinstance(item, dict):
                return row, "readings must be a JSON object"
            readings = {}
            for sub in ("temperature_c", "humidity_pct", "pressure_hpa"):
                reading = item.get(sub)
                if reading is not None and (
                    isinstance(reading, bool) or not isinstance(reading, (int, float))
                ):
                    return row, f"readings.{sub} must be a number"
                readings[sub] = float(reading) if reading is not None else None
            row[name] = readings
        elif pa.types.is_floating(kind):
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                return row, f"{name} must be a number"
            row[name] = float(item)
        elif not isinstance(item, str):
            return row, f"{name} must be a string"
        else:
            row[name] = item
    row.setdefault("_ts_invalid", False)
    return row, None
