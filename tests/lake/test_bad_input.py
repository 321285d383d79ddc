"""Bad input is quarantined (or skipped) with a reason, in bounded memory, and nothing else in
the same object is lost. The heavy cases run the Glue script as its own process, so its peak
RSS is the job's alone."""

from __future__ import annotations

import base64
import gzip
import json
import os
import zlib
from typing import Any

from nexuskit.lake.access import Lake
from nexuskit.lake.query import arrow_table
from nexuskit.lake.tiers import promote
from tests.lake.conftest import run_job, silver_count

MB = 1 << 20


def _event(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "event",
        "event_id": f"e-{n}",
        "source": "gw",
        "severity": "info",
        "ts": f"2026-11-26T10:{n // 60 % 60:02d}:{n % 60:02d}Z",
        "id": f"bad-input-{n}",
        **extra,
    }


def _line(n: int) -> bytes:
    return json.dumps(_event(n)).encode() + b"\n"


def _put(lake: Lake, key: str, body: bytes) -> None:
    lake.client("s3").put_object(Bucket=lake.bucket("bronze"), Key=key, Body=body)


def _quarantine(lake: Lake) -> list[dict[str, Any]]:
    return sorted(arrow_table(lake, "silver", "quarantine").to_pylist(), key=lambda r: r["line"] or 0)


def test_non_utf8_bytes_quarantine_their_line_only(lake: Lake) -> None:
    """A line with bytes that are not UTF-8 is quarantined with that reason; the other 99 lines are rows."""
    lines = [_line(n) for n in range(100)]
    lines[41] = b'{"type": "event", "event_id": "latin-1", "source": "caf\xe9", "severity": "info"}\n'
    _put(lake, "imports/mixed-encoding.jsonl", b"".join(lines))
    promote(lake, to="silver")
    assert silver_count(lake, "silver.event") == 99
    [row] = _quarantine(lake)
    assert row["line"] == 42
    assert row["reason"].startswith("not UTF-8 text")


def test_a_50_mb_line_is_skipped_as_it_streams_by(lake: Lake) -> None:
    """A single 50 MB line is quarantined (its first 64 KB kept); the lines around it are rows;
    the job's memory stays far below the line's size."""
    huge = base64.b64encode(os.urandom(38 * MB))  # about 50 MB that does not compress
    body = b"".join(_line(n) for n in range(10))
    body += b'{"type": "event", "blob": "' + huge + b'"}\n'
    body += b"".join(_line(n) for n in range(10, 20))
    _put(lake, "imports/huge-line.jsonl.gz", gzip.compress(body, compresslevel=1))
    result, peak = run_job(lake)
    assert result["rows"] == {"event": 20, "quarantine": 1}
    [row] = _quarantine(lake)
    assert row["line"] == 11
    assert "over the limit of 8,388,608 (bronze.max_record_bytes)" in row["reason"]
    assert len(row["raw"]) == 65536
    assert peak < 256 * MB, f"peak RSS {peak / MB:.0f} MB"


def test_a_truncated_gzip_keeps_every_complete_record(lake: Lake) -> None:
    """An object cut mid-GZIP: every record before the cut is a row; the cut is quarantined with a reason."""
    full = gzip.compress(b"".join(_line(n) for n in range(2000)))
    cut = full[: len(full) * 6 // 10]
    whole_lines = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(cut).count(b"\n")
    _put(lake, "2026/11/26/10/cut-short.gz", cut)
    promote(lake, to="silver")
    assert silver_count(lake, "silver.event") == whole_lines
    reasons = [r["reason"] for r in _quarantine(lake)]
    assert any(r.startswith("GZIP data ends early") for r in reasons)
    assert any(r.startswith("not valid JSON") for r in reasons)  # the record the cut went through
    assert len(reasons) == 2


def test_a_json_array_of_a_million_records_in_bounded_memory(lake: Lake) -> None:
    """One object holding a JSON array of 1,000,000 records: every record is a row, read element by
    element in a job whose memory does not grow with the array."""
    records = 1_000_000
    parts = [b"["]
    record = b'{"type":"event","event_id":"a","source":"s","severity":"info","ts":1795687200,"id":"%d"}'
    for n in range(records):
        parts.append(record % n)
        parts.append(b",")
    parts[-1] = b"]"
    body = b"".join(parts)
    _put(lake, "exports/everything.json.gz", gzip.compress(body, compresslevel=1))
    del parts, body
    result, peak = run_job(lake)
    assert result["rows"] == {"event": records}
    assert result["quarantined"] == 0
    assert peak < 600 * MB, f"peak RSS {peak / MB:.0f} MB"


def test_a_record_with_10000_keys_is_quarantined_and_its_neighbours_kept(lake: Lake) -> None:
    """A record with 10,000 keys is quarantined with the field count; the records around it are rows."""
    wide = _event(500, **{f"k{i}": i for i in range(10_000)})
    lines = [_line(n) for n in range(300)]
    lines[150] = json.dumps(wide).encode() + b"\n"
    _put(lake, "2026/11/26/10/wide-record.gz", gzip.compress(b"".join(lines)))
    promote(lake, to="silver")
    assert silver_count(lake, "silver.event") == 299
    [row] = _quarantine(lake)
    assert row["line"] == 151
    assert row["reason"] == "record has 10,006 fields, over the limit of 1,000 (bronze.max_record_fields)"
