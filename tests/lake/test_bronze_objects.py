"""Nothing in bronze is silently skipped: any key, any JSON shape, later versions, and objects
that cannot be read listed with their reason; watermarks keep runs short without losing any."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Any

from nexuskit.lake import sample
from nexuskit.lake.access import Lake
from nexuskit.lake.browse import stats
from nexuskit.lake.query import run_query
from nexuskit.lake.tiers import promote
from tests.lake.conftest import put_bronze, silver_count


def _events(count: int, start: int = 0, tag: str = "e") -> list[dict[str, Any]]:
    return [
        {
            "type": "event",
            "event_id": f"{tag}-{n}",
            "source": "gw",
            "severity": "info",
            "ts": f"2026-11-26T10:00:{n % 60:02d}Z",
        }
        for n in range(start, start + count)
    ]


def _put(lake: Lake, key: str, body: bytes) -> None:
    lake.client("s3").put_object(Bucket=lake.bucket("bronze"), Key=key, Body=body)


def _bronze_stats(lake: Lake) -> dict[str, Any]:
    return next(t for t in stats(lake)["tiers"] if t["tier"] == "bronze")


def test_every_json_shape_is_read_by_content(lake: Lake) -> None:
    """NDJSON, a JSON array, pretty-printed and concatenated objects, plain or GZIP, under any key."""
    shapes = {
        "imports/lines.jsonl": b"".join(json.dumps(r).encode() + b"\n" for r in _events(10, 0)),
        "imports/array.json.gz": gzip.compress(json.dumps(_events(10, 10)).encode()),
        "imports/pretty.json": json.dumps(_events(10, 20), indent=2).encode(),
        "loose-concatenated.txt": b"".join(json.dumps(r, indent=1).encode() for r in _events(10, 30)),
        "2026/11/26/10/my-backfill.gz": gzip.compress(json.dumps(_events(10, 40)).encode()),
    }
    for key, body in shapes.items():
        _put(lake, key, body)
    report = promote(lake, to="silver")
    assert report.steps[0]["inputs"] == len(shapes)
    assert report.skipped == []
    assert silver_count(lake, "silver.event") == 50
    formats = run_query(
        lake, "SELECT count(DISTINCT source_key) FROM silver.event WHERE event_id LIKE 'e-%'"
    ).rows[0][0]
    assert formats == len(shapes)


def test_objects_that_are_not_json_are_listed_as_skipped_with_reasons(lake: Lake) -> None:
    """An empty object, a PNG, a CSV, a Parquet file: skipped, listed with reasons, in stats, not re-read."""
    _put(lake, "drop/empty.json", b"")
    _put(lake, "drop/photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    _put(lake, "drop/table.csv", b"device,lat,lon\nd1,45.0,-122.0\n")
    _put(lake, "drop/file.parquet", b"PAR1" + bytes(32) + b"PAR1")
    put_bronze(lake, sample.encode(_events(5)))
    report = promote(lake, to="silver")
    reasons = {obj["key"]: obj["reason"] for obj in report.as_dict()["skipped"]}
    assert set(reasons) == {"drop/empty.json", "drop/photo.png", "drop/table.csv", "drop/file.parquet"}
    assert "empty object" in reasons["drop/empty.json"]
    assert "binary content" in reasons["drop/photo.png"]
    assert "CSV" in reasons["drop/table.csv"]
    assert "Parquet" in reasons["drop/file.parquet"]
    assert silver_count(lake, "silver.event") == 5
    bronze = _bronze_stats(lake)
    assert bronze["skipped"] == 4
    assert {o["key"] for o in bronze["skipped_objects"]} == set(reasons)
    assert bronze["pending"] == 0
    again = promote(lake, to="silver")
    assert again.steps[0]["skipped"] and again.skipped == []


def test_a_later_version_of_an_object_is_read_too(lake: Lake) -> None:
    """Overwriting a bronze key (versioned bucket) promotes the new version's records as well."""
    _put(lake, "imports/daily.json", json.dumps(_events(10, 0, "v1")).encode())
    promote(lake, to="silver")
    _put(lake, "imports/daily.json", json.dumps(_events(10, 0, "v2")).encode())
    step = promote(lake, to="silver").steps[0]
    assert step["inputs"] == 1
    assert silver_count(lake, "silver.event") == 20
    versions = run_query(lake, "SELECT count(DISTINCT source_version_id) FROM silver.event").rows[0][0]
    assert versions == 2
    assert promote(lake, to="silver").steps[0]["skipped"]


def test_an_incremental_run_lists_from_the_watermarks(lake: Lake) -> None:
    """After a first run, a new object is found by listing only past the watermark (not all of bronze)."""
    for hour in range(12):
        when = sample.DEFAULT_START + timedelta(hours=hour)
        put_bronze(lake, sample.encode(_events(2, hour * 2)), when=when)
    first = promote(lake, to="silver").steps[0]
    assert first["listing"]["mode"] == "full" and first["inputs"] == 12
    put_bronze(lake, sample.encode(_events(2, 100)), when=sample.DEFAULT_START + timedelta(hours=12))
    step = promote(lake, to="silver").steps[0]
    assert step["listing"]["mode"] == "incremental"
    assert step["inputs"] == 1
    assert step["listing"]["listed"] <= 4  # the lookback window (2 hours) and the new object
    assert silver_count(lake, "silver.event") == 26


def test_an_object_put_behind_the_watermark_is_pending_until_a_full_scan(lake: Lake) -> None:
    """A backfill into an old hour shows as pending in stats and is promoted by the next full scan."""
    for hour in (10, 11, 12, 13, 14, 15):
        put_bronze(lake, sample.encode(_events(1, hour)), when=sample.DEFAULT_START.replace(hour=hour))
    promote(lake, to="silver")
    put_bronze(lake, sample.encode(_events(3, 50)), when=sample.DEFAULT_START.replace(hour=1))
    assert promote(lake, to="silver").steps[0]["skipped"]
    assert _bronze_stats(lake)["pending"] == 1
    full = promote(lake, to="silver", full_scan=True).steps[0]
    assert full["listing"]["mode"] == "full" and full["inputs"] == 1
    assert silver_count(lake, "silver.event") == 9
    assert _bronze_stats(lake)["pending"] == 0
