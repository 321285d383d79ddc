"""Which source feeds which destination, read from the live stack (the mappings view).

:func:`describe_data_plane` describes the streams, Firehose deliveries and video streams
named in the settings with nexus-ui's own credentials (one dict per resource, with the
error instead when a call fails); :func:`links` joins that with what the live stream
reader saw (producer runs), agent-core's stream consumer (its ``/health/checks``), the lake's
object counts and the Glue jobs (both through aws-mcp) into source -> destination links.
Each end of a link is a node ``{"kind", "name", "state", "ok", "detail"}``; ``ok`` is
None where the state says nothing good or bad.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.nexus_ui.settings import UiSettings

ACTIVE_PRODUCER_S = 15.0
_JOB_TIERS = re.compile(r"(bronze|silver|gold|vibranium)-to-(bronze|silver|gold|vibranium)")


def node(kind: str, name: str, state: str, detail: str = "", ok: bool | None = None) -> dict[str, Any]:
    return {"kind": kind, "name": name, "state": state, "ok": ok, "detail": detail}


def _error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__


def describe_data_plane(settings: UiSettings, client: Callable[[str], Any]) -> dict[str, dict[str, Any]]:
    """Stream, delivery and video-stream descriptions by name (``{"error": ...}`` on failure)."""
    out: dict[str, dict[str, Any]] = {}
    calls: list[tuple[str, str, Callable[[Any, str], dict[str, Any]]]] = [
        *[("kinesis", name, _stream) for name in (settings.client_stream, settings.primary_stream)],
        *[("firehose", name, _delivery) for name in (settings.client_firehose, settings.primary_firehose)],
        *[
            ("kinesisvideo", name, _video)
            for name in (settings.client_video_stream, settings.primary_video_stream)
        ],
    ]
    clients: dict[str, Any] = {}
    for service, name, describe in calls:
        if not name:
            continue
        try:
            api = clients.get(service) or clients.setdefault(service, client(service))
            out[name] = describe(api, name)
        except (BotoCoreError, ClientError, ValueError) as exc:
            out[name] = {"error": _error(exc)}
    return out


def _stream(kinesis: Any, name: str) -> dict[str, Any]:
    info = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    return {
        "arn": info["StreamARN"],
        "status": info["StreamStatus"],
        "shards": info.get("OpenShardCount"),
        "retention_h": info.get("RetentionPeriodHours"),
    }


def _delivery(firehose: Any, name: str) -> dict[str, Any]:
    info = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    source = (info.get("Source") or {}).get("KinesisStreamSourceDescription") or {}
    destinations = info.get("Destinations") or [{}]
    s3 = destinations[0].get("ExtendedS3DestinationDescription") or destinations[0].get(
        "S3DestinationDescription", {}
    )
    hints = s3.get("BufferingHints") or {}
    return {
        "status": info.get("DeliveryStreamStatus"),
        "source_arn": source.get("KinesisStreamARN"),
        "bucket": str(s3.get("BucketARN", "")).rsplit(":", 1)[-1],
        "prefix": s3.get("Prefix") or "",
        "buffer": f"{hints.get('IntervalInSeconds', '?')} s / {hints.get('SizeInMBs', '?')} MB",
    }


def _video(kinesisvideo: Any, name: str) -> dict[str, Any]:
    info = kinesisvideo.describe_stream(StreamName=name)["StreamInfo"]
    return {"status": info.get("Status"), "retention_h": info.get("DataRetentionInHours")}


def _state(described: dict[str, Any], ok_when: str = "ACTIVE") -> tuple[str, bool]:
    if "error" in described:
        return f"cannot describe: {described['error']}", False
    status = str(described.get("status"))
    return status, status == ok_when


def links(
    settings: UiSettings,
    described: dict[str, dict[str, Any]],
    tapped: dict[str, dict[str, Any]],
    consumer: dict[str, Any] | None,
    inventory: dict[str, Any] | None,
    jobs: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Source -> destination links, producers first, then deliveries, consumers, tiers."""
    out: list[dict[str, Any]] = []
    tiers = {t.get("tier"): t for t in (inventory or {}).get("tiers", [])}

    def tier_node(tier: str, prefix: str = "") -> dict[str, Any]:
        found = tiers.get(tier)
        if found is None:
            return node("lake tier", tier, "unknown (aws-mcp did not answer)")
        where = f"s3://{found.get('bucket')}/{prefix}"
        objects = int(found.get("objects", 0))
        state = f"{objects} object{'' if objects == 1 else 's'}"
        return node("lake tier", tier, state, where, bool(found.get("exists", True)))

    stream_nodes: dict[str, dict[str, Any]] = {}
    for channel, name in settings.streams().items():
        state, ok = _state(described.get(name, {"error": "not described"}))
        info = described.get(name, {})
        seen = tapped.get(channel, {})
        detail = f"{channel} · {info.get('shards', '?')} shards · {info.get('retention_h', '?')} h retention"
        if seen:
            detail += (
                f" · reader {seen.get('state')}: {seen.get('records_last_minute', 0)} records last minute"
            )
        stream_nodes[name] = node("kinesis stream", name, state, detail, ok)
        for producer in seen.get("producers", []):
            age = float(producer["last_seen_age_s"])
            active = age <= ACTIVE_PRODUCER_S
            out.append(
                {
                    "source": node(
                        "producer",
                        producer["run_id"],
                        "sending" if active else f"last record {age:.0f} s ago",
                        f"{producer['records']} records seen",
                        True if active else None,
                    ),
                    "destination": stream_nodes[name],
                }
            )

    for name in (settings.client_firehose, settings.primary_firehose):
        if not name:
            continue
        info = described.get(name, {"error": "not described"})
        state, ok = _state(info)
        source_name = str(info.get("source_arn") or "").rsplit("/", 1)[-1]
        source = stream_nodes.get(source_name) or node("kinesis stream", source_name or "?", "unknown")
        delivery = node("firehose", name, state, f"buffer {info.get('buffer', '?')}", ok)
        out.append({"source": source, "destination": delivery})
        bucket_tier = next((t for t, v in tiers.items() if v.get("bucket") == info.get("bucket")), "bronze")
        out.append(
            {"source": delivery, "destination": tier_node(str(bucket_tier), str(info.get("prefix", "")))}
        )

    if consumer is not None:
        stream = str(consumer.get("stream", ""))
        running = bool(consumer.get("running"))
        lag = consumer.get("lag_ms") or {}
        held = ", ".join(str(s) for s in consumer.get("shards_held", [])) or "none"
        routes = ", ".join(f"{k} → {v}" for k, v in (consumer.get("routes") or {}).items())
        detail = f"shards held {held} · lag {max(lag.values(), default=0)} ms · {routes}"
        if consumer.get("last_error"):
            detail += f" · {consumer['last_error']}"
        agent = node(
            "consumer",
            "agent-core stream consumer",
            "running" if running else "stopped",
            detail,
            running and not consumer.get("last_error"),
        )
        source = stream_nodes.get(stream) or node("kinesis stream", stream, "unknown")
        out.append({"source": source, "destination": agent})
        out.append({"source": agent, "destination": tier_node("gold", "agent-insights/")})

    for name in (settings.client_video_stream, settings.primary_video_stream):
        if not name:
            continue
        info = described.get(name, {"error": "not described"})
        state, ok = _state(info)
        video = node("video stream", name, state, f"{info.get('retention_h', '?')} h retention", ok)
        archive = node("fragment archive", name, "kept" if ok else "unknown", "ListFragments / GetMedia", ok)
        out.append({"source": video, "destination": archive})

    for job in jobs:
        match = _JOB_TIERS.search(str(job.get("name", "")))
        if not match:
            continue
        last = job.get("last_run") or {}
        run_state = str(last.get("job_run_state", "never run"))
        glue = node(
            "glue job",
            str(job["name"]),
            run_state,
            "",
            None if run_state == "never run" else run_state == "SUCCEEDED",
        )
        out.append({"source": tier_node(match.group(1)), "destination": glue})
        out.append({"source": glue, "destination": tier_node(match.group(2))})
    return out
