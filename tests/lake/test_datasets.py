"""Dataset files users edit (lake/): validated with file and field named, routing by type, key
prefix or rule, compatible changes taken, incompatible ones refused unless the version goes up."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nexuskit.lake.access import Lake
from nexuskit.lake.catalog import describe_catalog
from nexuskit.lake.config import describe_datasets, lake_dir, load_lake_config
from nexuskit.lake.errors import DatasetError
from nexuskit.lake.query import arrow_table, run_query
from nexuskit.lake.tiers import promote
from tests.lake.conftest import lake_files, silver_count

WEATHER = """
name: weather
description: readings of a weather service we do not control
match: {types: [weather_obs]}
time_field: observed_at
fields:
  station: {type: string, required: true}
  observed_at: {type: timestamp, required: true}
  temp_f: {type: float, range: [-80, 140]}
  wind: {type: float, path: wind.speed, min: 0}
"""


def _telemetry(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "telemetry",
        "device_id": f"d{n % 3}",
        "ts": f"2026-11-26T10:{n % 60:02d}:00Z",
        "lat": 45.0,
        "lon": -122.0,
        "speed_mps": 1.0,
        **extra,
    }


def _put(lake: Lake, key: str, records: list[dict[str, Any]]) -> None:
    body = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    lake.client("s3").put_object(Bucket=lake.bucket("bronze"), Key=key, Body=body)


def _with(lake: Lake, folder: Path) -> Lake:
    """The same lake, reading the dataset files of ``folder``."""
    return Lake(lake.spec, lake.target, cache_dir=lake.cache_dir, config=load_lake_config(folder))


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            "  lat: {type: float, required: true, range: [90, -90]}",
            "fields.lat.range",
            "low 90 is above high -90",
        ),
        ("  lat: {type: float, required: true, rnage: [-90, 90]}", "fields.lat.rnage", "unknown key"),
        ("  lat: {type: number, required: true}", "fields.lat.type", "must be one of string, float"),
        ("  lat: {type: string, required: true}", "fields.lat", "gold reads telemetry.lat as float"),
    ],
)
def test_a_wrong_dataset_file_is_refused_naming_file_and_field(
    tmp_path: Path, change: str, where: str, message: str
) -> None:
    """Validation at load names the file, the field and what is wrong."""
    telemetry = (lake_dir() / "datasets" / "telemetry.yaml").read_text()
    original = "  lat: {type: float, required: true, range: [-90, 90]}"
    folder = lake_files(tmp_path / "lake", {"datasets/telemetry.yaml": _edit(telemetry, original, change)})
    with pytest.raises(DatasetError) as caught:
        load_lake_config(folder)
    assert caught.value.file.endswith("telemetry.yaml")
    assert caught.value.field == where
    assert message in caught.value.message
    assert str(folder / "datasets" / "telemetry.yaml") in caught.value.message


def test_a_new_dataset_file_gets_its_own_table(make_lake: Callable[..., Lake], tmp_path: Path) -> None:
    """A weather.yaml routes `weather_obs` records to silver.weather (Glue table included)."""
    lake = make_lake(config_dir=lake_files(tmp_path / "lake", {"datasets/weather.yaml": WEATHER}))
    records = [
        {
            "type": "weather_obs",
            "station": "KPDX",
            "observed_at": f"2026-11-26T0{n}:00:00Z",
            "temp_f": 50.0 + n,
        }
        for n in range(6)
    ]
    records[0]["wind"] = {"speed": 4.5, "gust": 9.0}
    _put(lake, "feeds/weather.jsonl", records)
    promote(lake, to="silver")
    rows = sorted(arrow_table(lake, "silver", "weather").to_pylist(), key=lambda r: r["observed_at"])
    assert [r["temp_f"] for r in rows] == [50.0, 51.0, 52.0, 53.0, 54.0, 55.0]
    assert rows[0]["wind"] == 4.5 and rows[0]["extra"] == '{"wind":{"gust":9.0}}'
    tables = {t["table"]: t for t in describe_catalog(lake.spec, lake.target, lake.config)}
    assert [c["name"] for c in tables["silver.weather"]["columns"]][:6] == [
        "id",
        "run_id",
        "station",
        "observed_at",
        "temp_f",
        "wind",
    ]
    assert tables["silver.weather"]["partitions"] == ["date=2026-11-26"]


def test_records_are_routed_by_key_prefix_and_by_rule(make_lake: Callable[..., Lake], tmp_path: Path) -> None:
    """A prefix dataset takes every record under its prefix; a `where` rule takes matching records."""
    acme = (
        "name: acme\nmatch: {prefixes: [partners/acme/]}\nfields:\n  ts: {type: timestamp, required: true}\n"
    )
    acme += "  reading: {type: float, required: true}\n"
    gps = "name: gps\nmatch: {where: {kind: gps}}\nfields:\n  ts: {type: timestamp, required: true}\n"
    gps += "  lat: {type: float}\n"
    lake = make_lake(
        config_dir=lake_files(tmp_path / "lake", {"datasets/acme.yaml": acme, "datasets/gps.yaml": gps})
    )
    _put(
        lake,
        "partners/acme/2026-11-26.jsonl",
        [{"ts": "2026-11-26T10:00:00Z", "reading": float(n)} for n in range(4)],
    )
    _put(
        lake,
        "feeds/mixed.jsonl",
        [{"kind": "gps", "ts": "2026-11-26T10:00:00Z", "lat": 1.0}, {"kind": "other"}],
    )
    promote(lake, to="silver")
    assert silver_count(lake, "silver.acme") == 4
    assert silver_count(lake, "silver.gps") == 1
    [unrouted] = arrow_table(lake, "silver", "quarantine").to_pylist()
    assert unrouted["reason"] == "missing type"


def test_an_optional_field_added_later_is_a_new_column(
    make_lake: Callable[..., Lake], tmp_path: Path
) -> None:
    """Adding an optional field: new rows fill the column, old files still read (null there)."""
    lake = make_lake()
    _put(lake, "2026/11/26/10/before.jsonl", [_telemetry(n, firmware="1.0") for n in range(5)])
    promote(lake, to="gold")
    telemetry = (lake_dir() / "datasets" / "telemetry.yaml").read_text() + "  firmware: {type: string}\n"
    edited = _with(lake, lake_files(tmp_path / "lake", {"datasets/telemetry.yaml": telemetry}))
    assert describe_datasets(edited)["datasets"][-1]["state"] == "compatible change: new column firmware"
    _put(edited, "2026/11/26/10/after.jsonl", [_telemetry(n, firmware="2.0") for n in range(5, 10)])
    promote(edited, to="gold")
    rows = run_query(edited, "SELECT firmware, extra, count(*) FROM silver.telemetry GROUP BY ALL ORDER BY 1")
    assert rows.rows == [("2.0", None, 5), (None, '{"firmware":"1.0"}', 5)]
    columns = {t["table"]: t["columns"] for t in describe_catalog(edited.spec, edited.target, edited.config)}
    assert "firmware" in [c["name"] for c in columns["silver.telemetry"]]
    assert run_query(edited, "SELECT sum(records) FROM gold.device_hourly").rows[0][0] == 10


def test_an_incompatible_change_is_refused_until_the_version_is_raised(
    make_lake: Callable[..., Lake], tmp_path: Path
) -> None:
    """A type change is refused (file and field named, nothing written); version 2 writes telemetry_v2."""
    lake = make_lake()
    _put(lake, "2026/11/26/10/v1.jsonl", [_telemetry(n) for n in range(6)])
    promote(lake, to="gold")
    telemetry = (lake_dir() / "datasets" / "telemetry.yaml").read_text()
    changed = _edit(telemetry, "  heading_deg: {type: float, wrap: 360}", "  heading_deg: {type: string}")
    edited = _with(lake, lake_files(tmp_path / "a", {"datasets/telemetry.yaml": changed}))
    _put(lake, "2026/11/26/11/v2.jsonl", [_telemetry(n, heading_deg="NNE") for n in range(6, 10)])
    with pytest.raises(DatasetError) as caught:
        promote(edited, to="gold")
    assert caught.value.file.endswith("telemetry.yaml") and caught.value.field == "fields.heading_deg"
    assert (
        "type changed from float to string" in caught.value.message and "version: 2" in caught.value.message
    )
    assert silver_count(lake, "silver.telemetry") == 6
    versioned = _with(
        lake,
        lake_files(tmp_path / "b", {"datasets/telemetry.yaml": _edit(changed, "version: 1", "version: 2")}),
    )
    promote(versioned, to="gold")
    assert silver_count(versioned, "silver.telemetry") == 6
    assert silver_count(versioned, "silver.telemetry_v2") == 4
    assert run_query(versioned, "SELECT sum(records) FROM gold.device_hourly").rows[0][0] == 10
    states = {d["name"]: d["state"] for d in describe_datasets(versioned)["datasets"]}
    assert states["telemetry"] == "stored"
