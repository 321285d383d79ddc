"""Silver -> gold -> vibranium on a real engine: aggregates against a direct computation,
the confidence threshold, and provenance manifests whose checksums match."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from nexuskit.lake import sample
from nexuskit.lake.access import Lake
from nexuskit.lake.query import arrow_table
from nexuskit.lake.tiers import promote
from services.medallion.lib.insights import MIN_SAMPLES, OVERHEAT_C
from tests.helpers import EngineProcess
from tests.lake.conftest import new_lake, put_bronze

THRESHOLD = 0.89  # between the confidences of the generated overheat hours (0.88-0.90)
R = 6371008.8


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def _haversine(a: dict[str, Any], b: dict[str, Any]) -> float:
    p1, p2 = math.radians(a["lat"]), math.radians(b["lat"])
    dp, dl = p2 - p1, math.radians(b["lon"] - a["lon"])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(math.sqrt(min(1.0, h)))


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return list(sample.iter_records(3000, interval_s=3, devices=12, hot_devices=4))


@pytest.fixture(scope="module")
def promoted(
    lake_engine: EngineProcess, tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]]
) -> Iterator[Lake]:
    """A lake whose bronze holds ``records`` (in two objects, one under client/), promoted once."""
    lake = new_lake(lake_engine, tmp_path_factory.mktemp("cache"))
    put_bronze(lake, sample.encode(records[:1700]))
    put_bronze(lake, sample.encode(records[1700:]), prefix="client/")
    promote(lake, to="vibranium", threshold=THRESHOLD)
    yield lake


def test_device_hourly_matches_direct_computation(promoted: Lake, records: list[dict[str, Any]]) -> None:
    """Per device and hour: counts, reading stats and haversine distance equal a direct computation."""
    groups: dict[tuple[str, datetime], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r["type"] == "telemetry":
            groups[(r["device_id"], _hour(_ts(r["ts"])))].append(r)
    rows = {
        (r["device_id"], r["hour"]): r for r in arrow_table(promoted, "gold", "device_hourly").to_pylist()
    }
    assert set(rows) == set(groups)
    for slot, items in groups.items():
        items.sort(key=lambda r: (_ts(r["ts"]), r["id"]))
        row = rows[slot]
        temps = [r["readings"]["temperature_c"] for r in items]
        assert row["records"] == len(items)
        assert row["temperature_c_min"] == min(temps)
        assert row["temperature_c_max"] == max(temps)
        assert row["temperature_c_mean"] == pytest.approx(sum(temps) / len(temps))
        assert row["battery_pct_min"] == min(r["battery_pct"] for r in items)
        assert row["speed_mps_max"] == max(r["speed_mps"] for r in items)
        distance = sum(_haversine(a, b) for a, b in itertools.pairwise(items))
        assert row["distance_m"] == pytest.approx(distance, rel=1e-9)
        assert row["first_ts"] == _ts(items[0]["ts"])


def test_event_severity_matches_direct_computation(promoted: Lake, records: list[dict[str, Any]]) -> None:
    """Events per hour, severity and category (case-normalised) equal a direct count."""
    expected: dict[tuple[datetime, str, str], list[str]] = defaultdict(list)
    for r in records:
        if r["type"] == "event":
            expected[(_hour(_ts(r["ts"])), r["severity"].lower(), r["category"])].append(r["source"])
    rows = arrow_table(promoted, "gold", "event_severity").to_pylist()
    found = {(r["hour"], r["severity"], r["category"]): (r["events"], r["sources"]) for r in rows}
    assert found == {k: (len(v), len(set(v))) for k, v in expected.items()}


def test_geo_density_matches_direct_computation(promoted: Lake, records: list[dict[str, Any]]) -> None:
    """Records and distinct subjects per hour, 0.1-degree cell and source equal a direct count."""
    expected: dict[tuple[datetime, str, str], list[str]] = defaultdict(list)
    for r in records:
        if r["type"] == "event":
            continue
        cell = f"{math.floor(r['lat'] * 10)}:{math.floor(r['lon'] * 10)}"
        subject = r.get("device_id") or r["station_id"]
        expected[(_hour(_ts(r["ts"])), cell, r["type"])].append(subject)
    rows = arrow_table(promoted, "gold", "geo_density").to_pylist()
    found = {(r["hour"], r["cell_id"], r["source"]): (r["records"], r["subjects"]) for r in rows}
    assert found == {k: (len(v), len(set(v))) for k, v in expected.items()}


def test_vibranium_holds_only_insights_at_or_above_threshold(
    promoted: Lake, records: list[dict[str, Any]]
) -> None:
    """Overheat insights are exactly the device-hours whose confidence reaches the threshold."""
    groups: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for r in records:
        if r["type"] == "telemetry":
            groups[(r["device_id"], _hour(_ts(r["ts"])))].append(r["readings"]["temperature_c"])
    confidence = {
        slot: round(min(1.0, len(t) / MIN_SAMPLES) * min(1.0, 0.5 + (max(t) - OVERHEAT_C) / 20.0), 4)
        for slot, t in groups.items()
        if max(t) >= OVERHEAT_C
    }
    assert any(c < THRESHOLD for c in confidence.values()), (
        "the input must hold candidates below the threshold"
    )
    insights = arrow_table(promoted, "vibranium", "insights").to_pylist()
    assert insights and all(i["confidence"] >= THRESHOLD for i in insights)
    overheat = {
        (i["subject_id"], i["window_start"]): i["confidence"] for i in insights if i["kind"] == "overheat"
    }
    assert overheat == {slot: c for slot, c in confidence.items() if c >= THRESHOLD}


def test_every_insight_has_a_provenance_manifest_whose_checksums_match(promoted: Lake) -> None:
    """Each insight's manifest names its gold, silver and bronze objects by version; their sha256 match."""
    s3 = promoted.client("s3")
    insights = arrow_table(promoted, "vibranium", "insights").to_pylist()
    checked = 0
    for insight in insights[:6]:
        body = s3.get_object(Bucket=promoted.bucket("vibranium"), Key=insight["provenance_key"])[
            "Body"
        ].read()
        manifest = json.loads(body)
        assert manifest["insight_id"] == insight["insight_id"]
        assert manifest["job"]["run_id"] == insight["job_run_id"] and manifest["job"]["code_version"]
        sources = manifest["sources"]
        assert sources["gold"] and sources["silver"] and sources["bronze"]
        for entry in sources["gold"] + sources["silver"] + sources["bronze"]:
            data = s3.get_object(Bucket=entry["bucket"], Key=entry["key"], VersionId=entry["version_id"])[
                "Body"
            ].read()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["key"]
            checked += 1
    assert checked > 0


def test_agent_findings_join_gold_and_become_insights(
    lake_engine: EngineProcess, tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]]
) -> None:
    """Findings the agent role writes to silver.enrichment join device_hourly and become insights."""
    from services.medallion.lib.enrichment import write_enrichment

    lake = new_lake(lake_engine, tmp_path_factory.mktemp("cache"))
    put_bronze(lake, sample.encode(records[:600]))
    agent = lake.assume("agent_irsa")
    finding = {
        "id": "f1",
        "subject_type": "device",
        "subject_id": "dev-0005",
        "ts": records[5]["ts"],
        "workflow_id": "wf-1",
        "label": "route-deviation",
        "confidence": 0.93,
        "detail": "{}",
    }
    write_enrichment(agent.store, lake.bucket("silver"), [finding])
    promote(lake, to="vibranium", threshold=THRESHOLD)
    hour = _hour(_ts(records[5]["ts"]))
    rows = arrow_table(lake, "gold", "device_hourly").to_pylist()
    row = next(r for r in rows if r["device_id"] == "dev-0005" and r["hour"] == hour)
    assert (row["enrichment_count"], row["enrichment_max_confidence"], row["enrichment_labels"]) == (
        1,
        0.93,
        ["route-deviation"],
    )
    kinds = {(i["kind"], i["subject_id"]) for i in arrow_table(lake, "vibranium", "insights").to_pylist()}
    assert ("agent_finding", "dev-0005") in kinds
