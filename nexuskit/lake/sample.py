"""Synthetic producer records and Firehose-shaped bronze objects (demos, tests, benchmarks).

The records follow :mod:`nexuskit.lake.schemas`: devices move along random walks and report
telemetry once per ``interval_s`` (round robin), stations report sensor values in mixed
units, and a few sources raise events. Some devices run hot and some run low on battery,
so the gold and vibranium steps have something to find. :func:`anomalies` gives one bad
line per kind of problem the bronze -> silver step quarantines, with the reason it gives.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
_SEVERITIES = ("info", "info", "info", "warning", "warning", "error", "critical")
_CATEGORIES = ("network", "power", "sensor", "security")
_UNITS = (
    ("temperature", "C", 18.0, 8.0),
    ("temperature", "F", 68.0, 12.0),
    ("pressure", "kPa", 101.3, 1.0),
    ("humidity", "%", 50.0, 20.0),
    ("wind_speed", "km/h", 20.0, 10.0),
    ("co2", "ppm", 420.0, 30.0),
)


def iso(ts: datetime) -> str:
    """``2026-11-26T10:00:00.123Z`` (the producer wire format)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def iter_records(
    count: int,
    *,
    seed: int = 7,
    start: datetime = DEFAULT_START,
    interval_s: float = 1.0,
    devices: int = 20,
    stations: int = 5,
    mix: tuple[float, float, float] = (0.8, 0.1, 0.1),
    run_id: str | None = None,
    hot_devices: int = 2,
    weak_devices: int = 2,
) -> Iterator[dict[str, Any]]:
    """``count`` valid records: telemetry, events and sensor values in the ratio ``mix``."""
    rng = random.Random(seed)
    run = run_id or f"run-{seed}"
    positions = [(45.0 + rng.random(), -122.0 + rng.random()) for _ in range(devices)]
    battery = [100.0 - rng.random() * 20 for _ in range(devices)]
    cut_event = mix[0]
    cut_sensor = mix[0] + mix[1]
    for number in range(count):
        ts = start + timedelta(seconds=number * interval_s)
        record_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        draw = rng.random()
        if draw < cut_event:
            device = number % devices
            lat, lon = positions[device]
            lat = min(89.9, max(-89.9, lat + rng.uniform(-0.001, 0.001)))
            lon = min(179.9, max(-179.9, lon + rng.uniform(-0.001, 0.001)))
            positions[device] = (lat, lon)
            hot = device < hot_devices
            battery[device] = max(
                0.0, battery[device] - (0.05 if device >= devices - weak_devices else 0.0005)
            )
            yield {
                "id": record_id,
                "run_id": run,
                "type": "telemetry",
                "device_id": f"dev-{device:04d}",
                "ts": iso(ts),
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "speed_mps": round(rng.uniform(0, 30), 3),
                "heading_deg": round(rng.uniform(-30, 400), 2),
                "readings": {
                    "temperature_c": round((47.0 if hot else 21.0) + rng.uniform(-3, 6), 2),
                    "humidity_pct": round(rng.uniform(20, 90), 2),
                    "pressure_hpa": round(rng.uniform(990, 1030), 2),
                },
                "battery_pct": round(battery[device], 3),
            }
        elif draw < cut_sensor:
            yield {
                "id": record_id,
                "run_id": run,
                "type": "event",
                "event_id": f"evt-{number}",
                "source": f"gateway-{number % 4}",
                "ts": iso(ts),
                "severity": rng.choice(_SEVERITIES).upper() if number % 11 == 0 else rng.choice(_SEVERITIES),
                "category": rng.choice(_CATEGORIES),
                "message": f"event {number}",
            }
        else:
            metric, unit, centre, spread = _UNITS[number % len(_UNITS)]
            station = number % stations
            yield {
                "id": record_id,
                "run_id": run,
                "type": "sensor",
                "station_id": f"stn-{station:03d}",
                "ts": iso(ts),
                "lat": round(45.5 + station * 0.01, 5),
                "lon": round(-122.5 + station * 0.01, 5),
                "metric": metric,
                "value": round(centre + rng.uniform(-spread, spread), 3),
                "unit": unit,
            }


def encode(records: Iterable[dict[str, Any]]) -> bytes:
    """JSON lines, each with its trailing newline (what producers put on the stream)."""
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)


@dataclass(frozen=True)
class Anomaly:
    """One bad bronze line and (part of) the quarantine reason it must get."""

    line: bytes
    reason: str


def anomalies(start: datetime = DEFAULT_START, run_id: str = "run-bad") -> list[Anomaly]:
    """One line per kind of problem, each with the reason silver gives it."""
    ts = iso(start)

    def rec(**fields: Any) -> bytes:
        base = {"id": str(uuid.uuid4()), "run_id": run_id, "ts": ts}
        base.update(fields)
        return json.dumps({k: v for k, v in base.items() if v is not None}).encode() + b"\n"

    tel = {"type": "telemetry", "device_id": "dev-bad", "lat": 45.0, "lon": -122.0}
    return [
        Anomaly(b'{"id": "broken-1", "type": "telemetry", "lat": \n', "not valid JSON"),
        Anomaly(b"[1, 2, 3]\n", "not a JSON object"),
        Anomaly(rec(**{**tel, "device_id": None}), "missing device_id"),
        Anomaly(rec(**{**tel, "lat": 123.0}), "lat outside"),
        Anomaly(rec(**{**tel, "lat": "45.1"}), "lat must be a number"),
        Anomaly(rec(**{**tel, "readings": {"temperature_c": 999.0}}), "readings.temperature_c outside"),
        Anomaly(rec(**{**tel, "ts": "yesterday"}), "ts is not an ISO-8601"),
        Anomaly(rec(**{**tel, "speed_mps": -3.0}), "speed_mps must be >= 0"),
        Anomaly(
            rec(type="event", event_id="e-bad", source="gw", severity="apocalyptic"), "severity is not one of"
        ),
        Anomaly(
            rec(
                type="sensor",
                station_id="s-bad",
                lat=1.0,
                lon=1.0,
                metric="temperature",
                value=3.0,
                unit="furlongs",
            ),
            "unit is not a unit of the metric",
        ),
        Anomaly(rec(type="video", device_id="cam-1"), "unknown type 'video'"),
        Anomaly(rec(**{**tel, "type": None}), "missing type"),
    ]


def firehose_key(stream: str, when: datetime, prefix: str = "") -> str:
    """A key in Firehose's layout: ``[prefix]YYYY/MM/DD/HH/<stream>-1-YYYY-MM-DD-HH-MM-SS-<uuid>.gz``."""
    when = when.astimezone(UTC)
    return f"{prefix}{when:%Y/%m/%d/%H}/{stream}-1-{when:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}.gz"


def firehose_object(payload: bytes) -> bytes:
    """The GZIP body Firehose writes for concatenated payloads."""
    return gzip.compress(payload, compresslevel=6, mtime=0)


def put_bronze(
    s3: Any,
    bucket: str,
    payload: bytes,
    *,
    stream: str = "nexus-dev-to-lake",
    prefix: str = "",
    when: datetime | None = None,
) -> str:
    """Write one Firehose-shaped object into bronze with a boto3 client; its key."""
    key = firehose_key(stream, when or datetime.now(UTC), prefix)
    s3.put_object(Bucket=bucket, Key=key, Body=firehose_object(payload))
    return key
