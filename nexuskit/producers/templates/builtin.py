"""The built-in templates: ``telemetry``, ``event`` and ``sensor`` (the lake's record types).

Each template makes the fields of one record type of :mod:`nexuskit.lake.schemas` (the
envelope ``id``, ``run_id``, ``type`` and ``ts`` is added by
:class:`~nexuskit.producers.records.RecordFactory`). They are deterministic for a seed.

* ``telemetry``: devices (round robin) moving along plausible tracks: the heading drifts,
  the speed follows a bounded random walk, the position advances by speed x elapsed time
  along the heading; temperature follows the time of day, humidity moves against it,
  pressure drifts, the battery drains (and is swapped when nearly empty).
* ``event``: operator and system events; severity weighted info 70 %, warning 20 %,
  error 8 %, critical 2 %; category-specific messages.
* ``sensor``: fixed stations, each reporting every metric in turn (temperature in C,
  humidity in %, pressure in hPa, wind speed in m/s).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from nexuskit.lake.schemas import SEVERITIES

#: places devices and stations start around (lat, lon)
_CENTRES = ((45.523, -122.676), (47.606, -122.332), (43.615, -116.202), (37.775, -122.419))
_EARTH_M_PER_DEG = 111_320.0


def _hour_of_day(epoch: float) -> float:
    return (epoch % 86400) / 3600


def _daily(epoch: float) -> float:
    """-1 at 03:00 UTC, +1 at 15:00 UTC: a smooth day/night cycle."""
    return math.sin(2 * math.pi * (_hour_of_day(epoch) - 9) / 24)


@dataclass
class _Device:
    device_id: str
    lat: float
    lon: float
    heading: float
    speed: float
    battery: float
    base_temperature: float
    pressure: float
    last: float | None = None


@dataclass
class TelemetryTemplate:
    """Moving devices reporting position, motion, readings and battery."""

    seed: int
    devices: int = 50
    name: str = "telemetry"
    record_type: str = "telemetry"
    entity_field: str | None = "device_id"
    _rng: random.Random = field(init=False, repr=False)
    _fleet: list[_Device] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rng = self._rng = random.Random(self.seed)
        self._fleet = []
        for number in range(self.devices):
            lat, lon = _CENTRES[number % len(_CENTRES)]
            self._fleet.append(
                _Device(
                    device_id=f"dev-{number + 1:04d}",
                    lat=lat + rng.uniform(-0.05, 0.05),
                    lon=lon + rng.uniform(-0.05, 0.05),
                    heading=rng.uniform(0, 360),
                    speed=rng.uniform(0, 20),
                    battery=rng.uniform(60, 100),
                    base_temperature=rng.uniform(12, 22),
                    pressure=rng.uniform(1005, 1020),
                )
            )

    def fields(self, seq: int, ts: float) -> dict[str, Any]:
        rng = self._rng
        device = self._fleet[seq % len(self._fleet)]
        elapsed = 1.0 if device.last is None else min(60.0, max(0.0, ts - device.last))
        device.last = ts
        device.heading = (device.heading + rng.gauss(0, 8)) % 360
        device.speed = min(35.0, max(0.0, device.speed + rng.gauss(0, 0.8)))
        distance = device.speed * elapsed
        radians = math.radians(device.heading)
        device.lat = min(89.0, max(-89.0, device.lat + distance * math.cos(radians) / _EARTH_M_PER_DEG))
        scale = _EARTH_M_PER_DEG * max(0.01, math.cos(math.radians(device.lat)))
        device.lon = (device.lon + distance * math.sin(radians) / scale + 180) % 360 - 180
        device.battery -= elapsed * (0.002 + device.speed * 0.0002)
        if device.battery < 5:
            device.battery = 100.0  # swapped
        device.pressure = min(1040.0, max(985.0, device.pressure + rng.gauss(0, 0.05)))
        temperature = device.base_temperature + 6 * _daily(ts) + rng.gauss(0, 0.3)
        humidity = min(100.0, max(5.0, 55 - (temperature - 15) * 1.5 + rng.gauss(0, 2)))
        return {
            "device_id": device.device_id,
            "lat": round(device.lat, 6),
            "lon": round(device.lon, 6),
            "speed_mps": round(device.speed, 2),
            "heading_deg": round(device.heading, 1),
            "readings": {
                "temperature_c": round(temperature, 2),
                "humidity_pct": round(humidity, 1),
                "pressure_hpa": round(device.pressure, 1),
            },
            "battery_pct": round(device.battery, 2),
        }


_SEVERITY_WEIGHTS = dict(zip(SEVERITIES, (70, 20, 8, 2), strict=True))
_SOURCES = (
    "operator:alice",
    "operator:bob",
    "operator:chen",
    "system:ingest",
    "system:scheduler",
    "system:auth",
    "gateway-01",
    "gateway-02",
    "gateway-03",
)
_MESSAGES: dict[str, tuple[str, ...]] = {
    "auth": ("login succeeded for {user}", "login failed for {user}", "token issued for {user}"),
    "network": ("link to {gateway} degraded ({n} ms)", "link to {gateway} restored", "packet loss {n} %"),
    "power": ("battery swap at {gateway}", "mains power lost at {gateway}", "generator test passed"),
    "storage": ("disk {n} % full on {gateway}", "snapshot completed", "compaction took {n} s"),
    "pipeline": ("batch {n} delivered", "job run {n} failed", "backlog of {n} records"),
    "security": (
        "unknown device at {gateway}",
        "certificate expires in {n} days",
        "port scan from 10.0.0.{n}",
    ),
}
_USERS = ("alice", "bob", "chen", "dana", "eve")


@dataclass
class EventTemplate:
    """Operator and system events with weighted severities."""

    seed: int
    name: str = "event"
    record_type: str = "event"
    entity_field: str | None = "source"
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def fields(self, seq: int, ts: float) -> dict[str, Any]:
        rng = self._rng
        severity = rng.choices(tuple(_SEVERITY_WEIGHTS), weights=tuple(_SEVERITY_WEIGHTS.values()))[0]
        category = rng.choice(tuple(_MESSAGES))
        message = rng.choice(_MESSAGES[category]).format(
            user=rng.choice(_USERS), gateway=rng.choice(_SOURCES[6:]), n=rng.randint(1, 99)
        )
        return {
            "event_id": f"evt-{rng.getrandbits(48):012x}",
            "source": rng.choice(_SOURCES),
            "severity": severity,
            "category": category,
            "message": message,
        }


#: metric -> (unit, daily mean, daily swing, noise, decimals)
_METRICS: tuple[tuple[str, str, float, float, float, int], ...] = (
    ("temperature", "C", 14.0, 7.0, 0.4, 2),
    ("humidity", "%", 60.0, -20.0, 2.0, 1),
    ("pressure", "hPa", 1013.0, 1.5, 0.3, 1),
    ("wind_speed", "m/s", 4.0, 2.0, 1.0, 2),
)


@dataclass
class SensorTemplate:
    """Fixed stations reporting each metric in turn."""

    seed: int
    stations: int = 12
    name: str = "sensor"
    record_type: str = "sensor"
    entity_field: str | None = "station_id"
    _rng: random.Random = field(init=False, repr=False)
    _sites: list[tuple[str, float, float, float]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rng = self._rng = random.Random(self.seed)
        self._sites = []
        for number in range(self.stations):
            lat, lon = _CENTRES[number % len(_CENTRES)]
            offset = rng.uniform(-2.0, 2.0)  # the station's microclimate
            self._sites.append(
                (
                    f"stn-{number + 1:03d}",
                    round(lat + rng.uniform(-0.2, 0.2), 5),
                    round(lon + rng.uniform(-0.2, 0.2), 5),
                    offset,
                )
            )

    def fields(self, seq: int, ts: float) -> dict[str, Any]:
        metric, unit, mean, swing, noise, decimals = _METRICS[seq % len(_METRICS)]
        station, lat, lon, offset = self._sites[(seq // len(_METRICS)) % len(self._sites)]
        value = mean + swing * _daily(ts) + self._rng.gauss(0, noise)
        if metric == "temperature":
            value += offset
        elif metric in {"humidity", "wind_speed"}:
            value = max(0.0, min(100.0, value)) if metric == "humidity" else max(0.0, value)
        return {
            "station_id": station,
            "lat": lat,
            "lon": lon,
            "metric": metric,
            "value": round(value, decimals),
            "unit": unit,
        }


BUILTIN_TEMPLATES = {
    "telemetry": (TelemetryTemplate, "moving devices: position, speed, heading, readings, battery"),
    "event": (EventTemplate, "operator and system events with weighted severities"),
    "sensor": (SensorTemplate, "fixed stations reporting temperature, humidity, pressure, wind"),
}
