"""custom-mcp over streamable HTTP: the key-value cache and weather enrichment."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.services.conftest import McpServers
from tests.services.support import ServiceProcess, error_text, mcp_call, mcp_session, mcp_tools
from tests.services.tokens import ORCHESTRATOR

PORTLAND = {"lat": 45.52, "lon": -122.68}


def _ns() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def test_lists_kv_and_weather_tools(mcp_servers: McpServers) -> None:
    """tools/list has the cache and weather tools; kv_get is read-only, kv_delete destructive."""
    tools = {t.name: t for t in mcp_tools(mcp_servers.custom_ro.mcp_url)}
    assert {"kv_get", "kv_set", "kv_append", "kv_delete", "kv_list", "kv_stats", "weather_enrich"} <= set(
        tools
    )
    assert tools["kv_get"].annotations.read_only_hint is True
    assert tools["kv_delete"].annotations.destructive_hint is True


def test_kv_set_get_delete(mcp_servers: McpServers) -> None:
    """A value set is read back as stored, and is gone after delete."""
    ns = _ns()
    _, got, _, gone = mcp_session(
        mcp_servers.custom_rw.mcp_url,
        ("kv_set", {"namespace": ns, "key": "k", "value": {"a": [1, 2]}}),
        ("kv_get", {"namespace": ns, "key": "k"}),
        ("kv_delete", {"namespace": ns, "key": "k"}),
        ("kv_get", {"namespace": ns, "key": "k"}),
    )
    assert got.structured_content["value"] == {"a": [1, 2]}
    assert gone.structured_content["found"] is False


def test_kv_ttl_expires(mcp_servers: McpServers) -> None:
    """An entry with a TTL is found while it lives and not found once the TTL has passed.

    The short-lived key is only ever checked after its TTL (a busy machine may take longer
    than any short TTL between two calls); the long-lived one shows a TTL keeps an entry.
    """
    ns = _ns()
    *_, kept = mcp_session(
        mcp_servers.custom_rw.mcp_url,
        ("kv_set", {"namespace": ns, "key": "short", "value": 1, "ttl_seconds": 0.3}),
        ("kv_set", {"namespace": ns, "key": "long", "value": 2, "ttl_seconds": 600}),
        ("kv_get", {"namespace": ns, "key": "long"}),
    )
    assert kept.structured_content["found"] and kept.structured_content["value"] == 2
    time.sleep(0.5)
    assert not mcp_call(
        mcp_servers.custom_rw.mcp_url, "kv_get", {"namespace": ns, "key": "short"}
    ).structured_content["found"]


def test_kv_namespaces_are_separate(mcp_servers: McpServers) -> None:
    """The same key in two namespaces holds two values."""
    a, b = _ns(), _ns()
    *_, got_a, got_b = mcp_session(
        mcp_servers.custom_rw.mcp_url,
        ("kv_set", {"namespace": a, "key": "k", "value": "A"}),
        ("kv_set", {"namespace": b, "key": "k", "value": "B"}),
        ("kv_get", {"namespace": a, "key": "k"}),
        ("kv_get", {"namespace": b, "key": "k"}),
    )
    assert (got_a.structured_content["value"], got_b.structured_content["value"]) == ("A", "B")


def test_kv_refuses_a_value_over_the_size_limit(mcp_servers: McpServers) -> None:
    """A value over 64 KiB is refused with the limit named; nothing is stored."""
    ns = _ns()
    result = mcp_call(
        mcp_servers.custom_rw.mcp_url, "kv_set", {"namespace": ns, "key": "big", "value": "x" * 70_000}
    )
    assert "limit of 65536 bytes per value" in error_text(result)
    assert not mcp_call(
        mcp_servers.custom_rw.mcp_url, "kv_get", {"namespace": ns, "key": "big"}
    ).structured_content["found"]


def test_kv_append_keeps_a_rolling_window(mcp_servers: McpServers) -> None:
    """kv_append keeps the newest max_items items, in order."""
    ns = _ns()
    calls = [("kv_append", {"namespace": ns, "key": "w", "item": n, "max_items": 3}) for n in range(5)]
    *_, last = mcp_session(mcp_servers.custom_rw.mcp_url, *calls)
    assert last.structured_content["value"] == [2, 3, 4]


def test_a_key_is_charged_to_its_last_writer(mcp_servers: McpServers) -> None:
    """A key rewritten by another caller is that caller's: kv_get names it, kv_stats counts it."""
    ns = _ns()
    url = mcp_servers.custom_rw.mcp_url
    mcp_call(url, "kv_set", {"namespace": ns, "key": "k", "value": 1})
    mcp_call(url, "kv_set", {"namespace": ns, "key": "k", "value": 2}, account=ORCHESTRATOR)
    got = mcp_call(url, "kv_get", {"namespace": ns, "key": "k"}).structured_content
    assert (got["value"], got["written_by"]) == (2, ORCHESTRATOR)
    stats = mcp_call(url, "kv_stats").structured_content
    assert stats["callers"][ORCHESTRATOR]["keys"] >= 1
    assert stats["limits"]["max_namespaces_per_caller"] == 100


def test_read_only_server_refuses_kv_set(mcp_servers: McpServers) -> None:
    """Without --allow-write, kv_set is a tool error naming the flag."""
    result = mcp_call(mcp_servers.custom_ro.mcp_url, "kv_set", {"namespace": _ns(), "key": "k", "value": 1})
    assert "--allow-write" in error_text(result)


def test_offline_weather_is_deterministic(mcp_servers: McpServers) -> None:
    """The offline provider gives the same weather for the same place and hour, in any server."""
    args = {**PORTLAND, "time": "2026-11-26T10:20:00Z"}
    first = mcp_call(mcp_servers.custom_ro.mcp_url, "weather_enrich", args).structured_content
    second = mcp_call(
        mcp_servers.custom_rw.mcp_url, "weather_enrich", {**args, "time": "2026-11-26T10:55:00Z"}
    ).structured_content
    first.pop("cached"), second.pop("cached")
    assert first == second
    assert first["provider"] == "offline" and first["hour"] == "2026-11-26T10:00:00Z"
    assert -40 < first["temperature_c"] < 45 and first["conditions"]


def test_weather_refuses_a_bad_time(mcp_servers: McpServers) -> None:
    """A time that is not ISO-8601 is a tool error that says what is expected."""
    result = mcp_call(mcp_servers.custom_ro.mcp_url, "weather_enrich", {**PORTLAND, "time": "yesterday"})
    assert "ISO-8601" in error_text(result)


class FakeOpenMeteo:
    """An Open-Meteo shaped API on 127.0.0.1 (the tests never reach the internet)."""

    def __init__(self) -> None:
        self.queries: list[dict[str, list[str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                fake.queries.append(query)
                date = query["start_date"][0]
                hours = [f"{date}T{h:02d}:00" for h in range(24)]
                body = {
                    "hourly": {
                        "time": hours,
                        "temperature_2m": [10.0 + h for h in range(24)],
                        "relative_humidity_2m": [70] * 24,
                        "surface_pressure": [1001.5] * 24,
                        "wind_speed_10m": [3.5] * 24,
                        "wind_direction_10m": [180] * 24,
                        "precipitation": [0.4] * 24,
                        "cloud_cover": [90] * 24,
                        "weather_code": [61] * 24,
                    }
                }
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/forecast"


@pytest.fixture(scope="module")
def open_meteo(log_dir: Path) -> Iterator[tuple[FakeOpenMeteo, ServiceProcess]]:
    fake = FakeOpenMeteo()
    env = {"WEATHER_PROVIDER": "open-meteo", "WEATHER_API_URL": fake.url}
    service = ServiceProcess("services.mcp.custom_mcp", log_dir, env, name="custom-openmeteo").start()
    yield fake, service
    service.stop()
    fake.server.shutdown()


def test_real_provider_is_used_when_configured(open_meteo: tuple[FakeOpenMeteo, ServiceProcess]) -> None:
    """With WEATHER_PROVIDER=open-meteo the hour's values come from the API (a local fake here)."""
    fake, service = open_meteo
    result = mcp_call(service.mcp_url, "weather_enrich", {**PORTLAND, "time": "2026-11-26T07:30:00Z"})
    body = result.structured_content
    assert (body["provider"], body["temperature_c"], body["conditions"]) == ("open-meteo", 17.0, "rain")
    assert fake.queries[-1]["start_date"] == ["2026-11-26"] and fake.queries[-1]["latitude"] == ["45.52"]
