"""agent-core's stream consumer: events on the primary stream start workflows; checkpoints hold.

Each test has its own stream (2 shards, as ``${prefix}-intake``), checkpoint table and
runs table, so the counts are exact.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import EngineProcess
from tests.services.conftest import McpServers, agent_auth_env
from tests.services.support import (
    BUCKETS,
    ServiceProcess,
    auth_headers,
    aws_env,
    http_json,
    lake_env,
    wait_for,
)
from tests.services.tokens import TestIssuer


def _telemetry(n: int, tag: str) -> dict[str, Any]:
    return {
        "id": f"{tag}-{n}",
        "type": "telemetry",
        "device_id": f"dev-{tag}-{n % 3}",
        "ts": f"2026-11-26T10:{n:02d}:00.000Z",
        "lat": 45.5 + n / 100,
        "lon": -122.6,
        "readings": {"temperature_c": 20.0 + n, "humidity_pct": 50.0, "pressure_hpa": 1010.0},
    }


def _gold_key(event: dict[str, Any]) -> str:
    return f"agent-insights/date=2026-11-26/{event['device_id']}-{event['id']}.json"


def _metrics_text(agent: ServiceProcess) -> str:
    request = urllib.request.Request(agent.url + "/metrics", headers=auth_headers())
    with urllib.request.urlopen(request, timeout=10) as resp:
        return str(resp.read().decode())


def _counter(agent: ServiceProcess, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(_metrics_text(agent)):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


class ConsumerStack:
    """A fresh stream (2 shards) with its own runs and checkpoint tables; ``start()`` an agent-core on it."""

    def __init__(
        self, engine: EngineProcess, mcp_servers: McpServers, log_dir: Path, aws: Any, issuer: TestIssuer
    ) -> None:
        tag = uuid.uuid4().hex[:6]
        self.stream = f"nexus-dev-intake-{tag}"
        aws("kinesis").create_stream(StreamName=self.stream, ShardCount=2)
        wait_for(
            lambda: (
                aws("kinesis").describe_stream_summary(StreamName=self.stream)["StreamDescriptionSummary"][
                    "StreamStatus"
                ]
                == "ACTIVE"
            ),
            what="stream active",
        )
        self.env = (
            aws_env(engine)
            | lake_env()
            | agent_auth_env(issuer, log_dir / "agent-tokens")
            | {
                "AWS_MCP_URL": mcp_servers.aws_rw.mcp_url,
                "CUSTOM_MCP_URL": mcp_servers.custom_rw.mcp_url,
                "AGENT_PRIMARY_STREAM": self.stream,
                "AGENT_RUNS_TABLE": f"runs-{tag}",
                "AGENT_CHECKPOINT_TABLE": f"checkpoints-{tag}",
                "AGENT_CONSUMER_IDLE_POLL": "0.1",
            }
        )
        self.log_dir = log_dir
        self.tag = tag
        self.started: list[ServiceProcess] = []

    def start(self) -> ServiceProcess:
        agent = ServiceProcess(
            "services.agent_core", self.log_dir, self.env, name=f"agent-consumer-{self.tag}"
        ).start()
        self.started.append(agent)
        return agent

    def stop_all(self) -> None:
        for agent in self.started:
            agent.stop()


@pytest.fixture(scope="module")
def consumer(
    engine: EngineProcess, mcp_servers: McpServers, log_dir: Path, aws: Any, issuer: TestIssuer
) -> Iterator[tuple[ServiceProcess, str]]:
    """One agent-core consuming a stream of the module's, holding both shard leases."""
    stack = ConsumerStack(engine, mcp_servers, log_dir, aws, issuer)
    agent = stack.start()
    wait_for(lambda: _counter(agent, "nexus_agent_consumer_leases_held") == 2, what="both shard leases")
    yield agent, stack.stream
    stack.stop_all()


@pytest.fixture
def consumer_stack(
    engine: EngineProcess, mcp_servers: McpServers, log_dir: Path, aws: Any, issuer: TestIssuer
) -> Iterator[ConsumerStack]:
    """A stream of the test's own, for tests that stop and start agent-core."""
    stack = ConsumerStack(engine, mcp_servers, log_dir, aws, issuer)
    yield stack
    stack.stop_all()


def _put(aws: Any, stream: str, events: list[dict[str, Any]]) -> None:
    records = [{"Data": json.dumps(e).encode() + b"\n", "PartitionKey": e["device_id"]} for e in events]
    answer = aws("kinesis").put_records(StreamName=stream, Records=records)
    assert answer["FailedRecordCount"] == 0


def _landed(aws: Any, events: list[dict[str, Any]]) -> bool:
    s3 = aws("s3")
    return all(
        s3.list_objects_v2(Bucket=BUCKETS["gold"], Prefix=_gold_key(e)).get("KeyCount") for e in events
    )


def test_event_on_the_stream_runs_enrich_telemetry_into_the_lake(
    consumer: tuple[ServiceProcess, str], aws: Any
) -> None:
    """A telemetry event put on the primary stream is enriched; its insight lands in gold and silver."""
    agent, stream = consumer
    event = _telemetry(1, uuid.uuid4().hex[:6])
    _put(aws, stream, [event])
    wait_for(lambda: _landed(aws, [event]), timeout=30, what="the insight in gold")
    insight = json.loads(aws("s3").get_object(Bucket=BUCKETS["gold"], Key=_gold_key(event))["Body"].read())
    assert insight["provenance"]["trigger"] == "stream"
    assert insight["provenance"]["run_id"].startswith("evt-")
    url = f"{agent.url}/workflow/runs/{insight['provenance']['run_id']}"
    run = wait_for(
        lambda: (r := http_json("GET", url)[1])["status"] == "succeeded" and r, what="the run finished"
    )
    silver_file = run["steps"][4]["result"]["files"][0]
    assert aws("s3").head_object(Bucket=BUCKETS["silver"], Key=silver_file)["ContentLength"] > 0
    assert _counter(agent, "nexus_agent_consumer_records_total", outcome="started") == 1


def test_consumer_lag_is_exposed_per_shard(consumer: tuple[ServiceProcess, str]) -> None:
    """/metrics has the consumer lag gauge for each shard it reads."""
    families = {f.name: f for f in text_string_to_metric_families(_metrics_text(consumer[0]))}
    shards = {s.labels["shard"] for s in families["nexus_agent_consumer_lag_milliseconds"].samples}
    assert shards == {"0", "1"}


def test_a_curation_event_on_the_stream_is_refused(consumer: tuple[ServiceProcess, str], aws: Any) -> None:
    """An insight.curate event carrying a forged insight is not run (the stream's producers are
    not agent-core's callers): counted as refused, nothing written to vibranium, nothing sent."""
    agent, stream = consumer
    tag = uuid.uuid4().hex[:6]
    forged = {
        "type": "insight.curate",
        "device_id": f"dev-{tag}",
        "insight": {"insight_id": f"forged-{tag}", "confidence": 0.99, "summary": "forged"},
    }
    refused_before = _counter(agent, "nexus_agent_consumer_records_total", outcome="refused")
    pages = aws("s3").get_paginator("list_objects_v2")
    before = {o["Key"] for p in pages.paginate(Bucket=BUCKETS["vibranium"]) for o in p.get("Contents", [])}
    _put(aws, stream, [forged])
    wait_for(
        lambda: _counter(agent, "nexus_agent_consumer_records_total", outcome="refused") > refused_before,
        timeout=30,
        what="the curation event refused",
    )
    after = {o["Key"] for p in pages.paginate(Bucket=BUCKETS["vibranium"]) for o in p.get("Contents", [])}
    assert after == before
    _, runs = http_json("GET", f"{agent.url}/workflow/runs?workflow=curate-insight")
    assert runs["count"] == 0


def test_restart_neither_reprocesses_nor_skips(consumer_stack: ConsumerStack, aws: Any) -> None:
    """Stop agent-core, put more events, start a new one: each event is run exactly once."""
    tag = uuid.uuid4().hex[:6]
    first_batch = [_telemetry(n, tag) for n in range(6)]
    second_batch = [_telemetry(n, tag) for n in range(6, 10)]
    first = consumer_stack.start()
    _put(aws, consumer_stack.stream, first_batch)
    wait_for(lambda: _landed(aws, first_batch), timeout=60, what="the first batch in gold")
    assert first.stop() in (0, -15)  # SIGTERM: checkpoint, hand the leases back (uvicorn re-raises it)
    _put(aws, consumer_stack.stream, second_batch)
    second = consumer_stack.start()
    wait_for(lambda: _landed(aws, second_batch), timeout=60, what="the second batch in gold")
    started = wait_for(  # a run counts once it has finished (gold is written before silver is done)
        lambda: (
            _counter(second, "nexus_agent_consumer_records_total", outcome="started") >= len(second_batch)
            and _counter(second, "nexus_agent_consumer_records_total", outcome="started")
        ),
        what="the second batch's runs finished",
    )
    assert started == len(second_batch)  # shards are read in order: a re-run first batch would count first
    assert _counter(second, "nexus_agent_consumer_records_total", outcome="skipped") == 0
    s3 = aws("s3")
    for event in first_batch + second_batch:
        versions = s3.list_object_versions(Bucket=BUCKETS["gold"], Prefix=_gold_key(event)).get(
            "Versions", []
        )
        assert len(versions) == 1, f"{event['id']} was written {len(versions)} times"


@pytest.mark.parametrize(
    ("idle_poll", "idle_poll_max", "waits"),
    [
        (0.3, 1.0, [0.3, 0.3, 0.6, 1.0, 1.0]),  # the defaults: KCL's one read a second when idle
        (0.1, 1.0, [0.1, 0.1, 0.2, 0.4, 0.8, 1.0]),
        (0.5, 0.2, [0.5, 0.5, 0.5]),  # a cap below the poll: the poll
    ],
)
def test_an_idle_shard_is_read_less_often_until_records_come(
    idle_poll: float, idle_poll_max: float, waits: list[float]
) -> None:
    """The wait before the next read of a caught-up shard: the idle poll after a read that
    brought records, then doubling with each empty read in a row, up to the cap."""
    from types import SimpleNamespace

    from services.agent_core.consumer.consumer import StreamConsumer
    from services.agent_core.settings import AgentSettings

    settings = AgentSettings(
        consumer_idle_poll_seconds=idle_poll, consumer_idle_poll_max_seconds=idle_poll_max
    )
    consumer = SimpleNamespace(settings=settings)
    got = [StreamConsumer._idle_wait(consumer, empty_reads) for empty_reads in range(len(waits))]  # type: ignore[arg-type]
    assert got == pytest.approx(waits)
    assert StreamConsumer._idle_wait(consumer, 10_000) == pytest.approx(max(idle_poll, idle_poll_max))  # type: ignore[arg-type]
