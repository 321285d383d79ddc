"""Weather at a place and hour: a deterministic offline model, or Open-Meteo when configured.

``WEATHER_PROVIDER=offline`` (the default) never touches the network: the answer is a
pure function of (lat, lon, hour), built from climatology (latitude, season, time of day)
plus noise seeded by a SHA-256 of the inputs, so every process gives the same weather
for the same place and hour and tests can assert on it.

``WEATHER_PROVIDER=open-meteo`` asks ``WEATHER_API_URL`` (default Open-Meteo's forecast
API; its archive API has the same shape) for the hourly values of that day and picks the
hour. Answers are cached per (place rounded to 0.01 degree, hour). httpx is imported by
that provider only (the offline one, the default, never needs it).
"""

from __future__ import annotations

import hashlib
import math
import struct
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx

HOURLY = (
    "temperature_2m,relative_humidity_2m,surface_pressure,wind_speed_10m,"
    "wind_direction_10m,precipitation,cloud_cover,weather_code"
)
WMO_CONDITIONS = {
    0: "clear",
    1: "mostly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "fog",
    51: "drizzle",
    53: "drizzle",
    55: "drizzle",
    61: "rain",
    63: "rain",
    65: "heavy rain",
    71: "snow",
    73: "snow",
    75: "heavy snow",
    80: "showers",
    81: "showers",
    82: "heavy showers",
    95: "thunderstorm",
    96: "thunderstorm",
    99: "thunderstorm",
}


class WeatherError(ValueError):
    """Bad coordinates or time, or the provider failed; the message says which."""


class WeatherProvider(Protocol):
    name: str

    def observe(self, lat: float, lon: float, hour: datetime) -> dict[str, Any]: ...


def parse_time(value: str | float | int | None) -> datetime:
    """An ISO-8601 string (``Z`` or offset; none means UTC), or epoch seconds/milliseconds."""
    if value is None or value == "":
        return datetime.now(UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise WeatherError(
                f"time {value!r} is not ISO-8601 (2026-11-26T10:00:00Z) or epoch seconds"
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise WeatherError(f"time must be an ISO-8601 string or epoch seconds, not {type(value).__name__}")


def check_place(lat: float, lon: float) -> None:
    if not -90 <= lat <= 90 or math.isnan(lat):
        raise WeatherError(f"lat {lat} is outside -90..90")
    if not -180 <= lon <= 180 or math.isnan(lon):
        raise WeatherError(f"lon {lon} is outside -180..180")


def hour_of(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class OfflineWeather:
    """Climatology plus seeded noise; deterministic, offline."""

    name = "offline"

    @staticmethod
    def _noise(lat: float, lon: float, hour: datetime) -> list[float]:
        seed = f"{lat:.2f}|{lon:.2f}|{hour.isoformat()}".encode()
        digest = hashlib.sha256(seed).digest()
        return [v / 0xFFFFFFFF for v in struct.unpack(">8I", digest)]  # eight uniforms in [0, 1]

    def observe(self, lat: float, lon: float, hour: datetime) -> dict[str, Any]:
        u = self._noise(lat, lon, hour)
        day = hour.timetuple().tm_yday
        season = math.cos(2 * math.pi * (day - 200) / 365.25) * (1 if lat >= 0 else -1)
        solar_hour = (hour.hour + lon / 15.0) % 24
        diurnal = math.cos(2 * math.pi * (solar_hour - 15) / 24)
        base = 30.0 - 0.4 * abs(lat)  # annual mean: 30 C at the equator, 12 C at 45 degrees
        temperature = base + 0.18 * abs(lat) * season + 4.0 * diurnal + (u[0] - 0.5) * 4.0
        cloud = round(100 * u[1] ** 0.8)
        precip = round(max(0.0, (u[2] - 0.72) * 12.0), 1) if cloud > 55 else 0.0
        humidity = round(min(100.0, 35 + 0.45 * cloud + 20 * u[3] + (10 if precip else 0)), 1)
        pressure = round(1013.25 - 0.02 * cloud + (u[4] - 0.5) * 24.0, 1)
        wind = round(0.5 + 12.0 * u[5] ** 2, 1)
        direction = round(360 * u[6]) % 360
        if precip and temperature <= 0.5:
            conditions = "snow"
        elif precip >= 2.5 and u[7] > 0.8:
            conditions = "thunderstorm"
        elif precip:
            conditions = "rain"
        elif humidity > 92 and wind < 2:
            conditions = "fog"
        else:
            conditions = "clear" if cloud < 20 else "partly cloudy" if cloud < 70 else "overcast"
        return {
            "temperature_c": round(temperature, 1),
            "relative_humidity_pct": humidity,
            "pressure_hpa": pressure,
            "wind_speed_mps": wind,
            "wind_direction_deg": direction,
            "precipitation_mm": precip,
            "cloud_cover_pct": cloud,
            "conditions": conditions,
            "daylight": 6 <= solar_hour < 18,
        }


class OpenMeteoWeather:
    """Hourly values from an Open-Meteo compatible API (forecast or archive)."""

    name = "open-meteo"

    def __init__(self, url: str, timeout: float = 5.0, client: httpx.Client | None = None) -> None:
        import httpx

        self.url = url
        self.client = client or httpx.Client(timeout=timeout)

    def observe(self, lat: float, lon: float, hour: datetime) -> dict[str, Any]:
        date = hour.strftime("%Y-%m-%d")
        params: dict[str, str | float] = {
            "latitude": round(lat, 4),
            "longitude": round(lon, 4),
            "hourly": HOURLY,
            "start_date": date,
            "end_date": date,
            "timezone": "UTC",
            "wind_speed_unit": "ms",
        }
        import httpx

        try:
            response = self.client.get(self.url, params=params)
        except httpx.HTTPError as exc:
            raise WeatherError(f"weather provider {self.url} did not answer: {exc}") from None
        if response.status_code != 200:
            raise WeatherError(
                f"weather provider answered HTTP {response.status_code}: {response.text[:200]}"
            )
        try:
            hourly = response.json()["hourly"]
            index = hourly["time"].index(hour.strftime("%Y-%m-%dT%H:00"))
        except (ValueError, KeyError, TypeError):
            raise WeatherError(f"weather provider has no value for {hour.isoformat()}") from None

        def pick(name: str) -> Any:
            values = hourly.get(name) or []
            return values[index] if index < len(values) else None

        code = pick("weather_code")
        return {
            "temperature_c": pick("temperature_2m"),
            "relative_humidity_pct": pick("relative_humidity_2m"),
            "pressure_hpa": pick("surface_pressure"),
            "wind_speed_mps": pick("wind_speed_10m"),
            "wind_direction_deg": pick("wind_direction_10m"),
            "precipitation_mm": pick("precipitation"),
            "cloud_cover_pct": pick("cloud_cover"),
            "conditions": WMO_CONDITIONS.get(int(code), f"wmo {code}") if code is not None else None,
            "weather_code": code,
        }


def enrich(
    provider: WeatherProvider, lat: float, lon: float, when: str | float | int | None
) -> dict[str, Any]:
    """The weather at (lat, lon) for the hour of ``when``, with where it came from."""
    check_place(lat, lon)
    hour = hour_of(parse_time(when))
    observed = provider.observe(lat, lon, hour)
    return {
        "lat": lat,
        "lon": lon,
        "hour": hour.isoformat().replace("+00:00", "Z"),
        "provider": provider.name,
        **observed,
    }
