"""Bronze -> silver on a real engine: counts, quarantine, duplicates, normalisation, increments."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest

from nexuskit.lake import sample
from nexuskit.lake.access import Lake
from nexuskit.lake.query import arrow_table, run_query
from nexuskit.lake.tiers import promote
from tests.lake.conftest import all_versions, put_bronze

N = 1200


@pytest.fixture
def records() -> list[dict[str, Any]]:
    return list(sample.iter_records(N, interval_s=5))


def _count(lake: Lake, table: str) -> int:
    return int(run_query(lake, f"SELECT count(*) FROM {table}").rows[0][0])


def _silver_rows(lake: Lake) -> int:
    return sum(_count(lake, f"silver.{kind}") for kind in ("telemetry", "event", "sensor"))


def test_silver_holds_every_record_but_the_anomalies(lake: Lake, records: list[dict[str, Any]]) -> None:
    """N produced records plus injected anomalies end up as N silver rows; the anomalies in quarantine."""
    bad = sample.anomalies()
    put_bronze(lake, sample.encode(records[: N // 2]))
    put_bronze(lake, sample.encode(records[N // 2 :]) + b"".join(a.line for a in bad), prefix="client/")
    promote(lake, to="silver")
    assert _silver_rows(lake) == N
    assert _count(lake, "silver.quarantine") == len(bad)


def test_quarantined_records_carry_reason_and_source(lake: Lake) -> None:
    """Every bad line is in silver.quarantine with its reason, source key and version, and raw line."""
    bad = sample.anomalies()
    key = put_bronze(lake, b"".join(a.line for a in bad))
    promote(lake, to="silver")
    rows = arrow_table(lake, "silver", "quarantine").to_pylist()
    assert len(rows) == len(bad)
    for anomaly, row in zip(bad, sorted(rows, key=lambda r: r["line"]), strict=True):
        assert anomaly.reason in row["reason"]
        assert row["source_key"] == key
        assert row["source_version_id"]
        assert row["raw"] == anomaly.line.decode().rstrip("\n")


def test_duplicates_put_twice_appear_once(lake: Lake, records: list[dict[str, Any]]) -> None:
    """Records put twice - in one object, and again in a later object and run - appear once in silver."""
    twice = records[:100]
    put_bronze(lake, sample.encode(records + twice))
    first = promote(lake, to="silver")
    put_bronze(lake, sample.encode(twice), prefix="client/")
    second = promote(lake, to="silver")
    assert _silver_rows(lake) == N
    assert first.steps[0]["duplicates"] == len(twice)
    assert second.steps[0]["duplicates"] == len(twice)
    ids = run_query(lake, "SELECT count(DISTINCT id) FROM silver.telemetry").rows[0][0]
    assert ids == _count(lake, "silver.telemetry")


def test_second_promote_writes_nothing(lake: Lake, records: list[dict[str, Any]]) -> None:
    """A promote run with no new bronze object writes no object in any tier."""
    put_bronze(lake, sample.encode(records))
    promote(lake, to="vibranium")
    before = {tier: all_versions(lake, tier) for tier in ("silver", "gold", "vibranium")}
    report = promote(lake, to="vibranium")
    assert not report.wrote_anything
    assert {tier: all_versions(lake, tier) for tier in before} == before


def test_new_bronze_object_is_picked_up_once(lake: Lake, records: list[dict[str, Any]]) -> None:
    """A bronze object that lands after a run is promoted by the next run, and only by that one."""
    put_bronze(lake, sample.encode(records[:600]))
    promote(lake, to="silver")
    put_bronze(lake, sample.encode(records[600:]))
    picked = promote(lake, to="silver").steps[0]
    again = promote(lake, to="silver").steps[0]
    assert picked["inputs"] == 1
    assert again["skipped"]
    assert _silver_rows(lake) == N


def test_units_timestamps_and_severities_are_normalised(lake: Lake) -> None:
    """Fahrenheit becomes Celsius, epoch and offset timestamps become UTC, severity aliases are mapped."""
    lines = [
        {
            "id": "s1",
            "run_id": "r",
            "type": "sensor",
            "ts": 1795687200,
            "station_id": "st",
            "lat": 1.0,
            "lon": 2.0,
            "metric": "Temperature",
            "value": 212.0,
            "unit": "F",
        },
        {
            "id": "s2",
            "run_id": "r",
            "type": "sensor",
            "ts": "2026-11-26T12:00:00+02:00",
            "station_id": "st",
            "lat": 1.0,
            "lon": 2.0,
            "metric": "pressure",
            "value": 101.3,
            "unit": "kPa",
        },
        {
            "id": "e1",
            "run_id": "r",
            "type": "event",
            "ts": 1795687200000,
            "event_id": "x",
            "source": "gw",
            "severity": " WARN ",
        },
        {
            "id": "t1",
            "run_id": "r",
            "type": "telemetry",
            "ts": "2026-11-26T10:00:00",
            "device_id": "d",
            "lat": 1.0,
            "lon": 2.0,
            "heading_deg": -90.0,
        },
    ]
    put_bronze(lake, b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    promote(lake, to="silver")
    sensors = {
        r[0]: r[1:]
        for r in run_query(
            lake, "SELECT id, value, unit, strftime(ts, '%Y-%m-%dT%H:%M:%S') FROM silver.sensor"
        ).rows
    }
    assert sensors["s1"][0] == pytest.approx(100.0)
    assert sensors["s1"][1:] == ("C", "2026-11-26T10:00:00")
    assert sensors["s2"] == (pytest.approx(1013.0), "hPa", "2026-11-26T10:00:00")
    event = run_query(lake, "SELECT severity, category, strftime(ts, '%H:%M') FROM silver.event").rows[0]
    assert event == ("warning", "general", "10:00")
    telemetry = run_query(lake, "SELECT heading_deg, strftime(ts, '%H:%M') FROM silver.telemetry").rows[0]
    assert telemetry == (270.0, "10:00")


def test_silver_is_partitioned_by_type_and_date_in_the_catalogue(
    lake: Lake, records: list[dict[str, Any]]
) -> None:
    """Silver files live under <type>/date=YYYY-MM-DD/ and the Glue tables list those partitions."""
    put_bronze(lake, sample.encode(records))
    promote(lake, to="silver")
    from nexuskit.lake.catalog import describe_catalog

    tables = {t["table"]: t for t in describe_catalog(lake.spec, lake.target)}
    assert tables["silver.telemetry"]["partitions"] == ["date=2026-11-26"]
    assert [c["name"] for c in tables["silver.telemetry"]["columns"]][:4] == [
        "id",
        "run_id",
        "device_id",
        "ts",
    ]
    keys = [k for k, _ in all_versions(lake, "silver") if k.endswith(".parquet") and not k.startswith("_")]
    assert {k.split("/")[0] for k in keys} == {"telemetry", "event", "sensor"}
    assert all(k.split("/")[1] == "date=2026-11-26" for k in keys)


def test_plain_and_multi_member_gzip_objects_are_read(
    make_lake: Callable[..., Lake], records: list[dict[str, Any]]
) -> None:
    """Uncompressed bronze objects and GZIP objects of several members are read like Firehose's."""
    lake = make_lake()
    s3 = lake.client("s3")
    half = N // 2
    key = sample.firehose_key("s", sample.DEFAULT_START).removesuffix(".gz")
    s3.put_object(Bucket=lake.bucket("bronze"), Key=key, Body=sample.encode(records[:half]))
    body = gzip.compress(sample.encode(records[half:900])) + gzip.compress(sample.encode(records[900:]))
    s3.put_object(Bucket=lake.bucket("bronze"), Key=sample.firehose_key("s", sample.DEFAULT_START), Body=body)
    promote(lake, to="silver")
    assert _silver_rows(lake) == N
