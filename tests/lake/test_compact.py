"""``lake compact``: small silver files merged into one per partition, rows and provenance unchanged."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from nexuskit.lake import sample
from nexuskit.lake.access import Lake
from nexuskit.lake.browse import list_lake
from nexuskit.lake.compact import compact_silver
from nexuskit.lake.query import run_query
from nexuskit.lake.tiers import promote
from tests.lake.conftest import put_bronze, silver_count

RUNS = 6


def _gold(lake: Lake) -> list[tuple[object, ...]]:
    return run_query(
        lake, "SELECT device_id, hour, records, temperature_c_max FROM gold.device_hourly ORDER BY 1, 2"
    ).rows


def test_compaction_merges_small_files_and_keeps_rows_and_provenance(lake: Lake) -> None:
    """Six runs' small files become one per partition; every row, its bronze lineage, gold's values
    and the insights' provenance checksums stay; dedupe still sees the merged ids."""
    records = list(sample.iter_records(RUNS * 200, interval_s=3, devices=4, mix=(1.0, 0.0, 0.0)))
    for run in range(RUNS):
        when = sample.DEFAULT_START + timedelta(minutes=run)
        put_bronze(lake, sample.encode(records[run * 200 : (run + 1) * 200]), when=when)
        promote(lake, to="silver")
    promote(lake, to="vibranium", threshold=0.5)
    gold_before = _gold(lake)
    assert list_lake(lake, "silver.telemetry")["files"] == RUNS

    result = compact_silver(lake)
    assert result["files_merged"] == {"telemetry": RUNS}
    assert list_lake(lake, "silver.telemetry")["files"] == 1
    assert silver_count(lake, "silver.telemetry") == RUNS * 200
    lineage = run_query(lake, "SELECT count(DISTINCT source_key), count(DISTINCT id) FROM silver.telemetry")
    assert lineage.rows[0] == (RUNS, RUNS * 200)

    promote(lake, to="vibranium", threshold=0.5)
    assert _gold(lake) == gold_before
    key = run_query(lake, "SELECT provenance_key FROM vibranium.insights LIMIT 1").rows[0][0]
    s3 = lake.client("s3")
    document = json.loads(s3.get_object(Bucket=lake.bucket("vibranium"), Key=key)["Body"].read())
    [silver_file] = document["sources"]["silver"]
    assert silver_file["key"].startswith("telemetry/date=2026-11-26/part-")
    body = s3.get_object(
        Bucket=silver_file["bucket"], Key=silver_file["key"], VersionId=silver_file["version_id"]
    )
    assert hashlib.sha256(body["Body"].read()).hexdigest() == silver_file["sha256"]
    assert len(document["sources"]["bronze"]) >= 1

    put_bronze(lake, sample.encode(records[:10]), when=sample.DEFAULT_START + timedelta(hours=1))
    assert promote(lake, to="silver").steps[0]["duplicates"] == 10
    assert compact_silver(lake)["skipped"]
