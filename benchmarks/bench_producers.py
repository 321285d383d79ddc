"""Measure the producers: rate accuracy under shard limits, top speed, CPU, video fragments/s.

Starts an engine daemon with AWS's shard limits, provisions the stack and deploys the edge,
then runs the producers as ``nexuskit produce`` does:

* 500/s on the client stream (1 shard: 1,000/s) with bearer credentials from the token
  service, and 1,800/s on the primary stream (2 shards: 2,000/s) as the platform identity:
  achieved vs requested rate, throttled entries;
* the client's CPU per 1,000 records (process time of this producer process);
* video: fragments per second (1 s fragments, 320x240 at 5 fps, encoded with PyAV and sent
  with PutMedia as fast as possible) on the client video stream;

then a second engine with ``--kinesis-limits off`` for the maximum rate (one producer
process, no rate limit). Prints figures, asserts nothing.

Targets: within 2 % of the requested rate up to the shard limits; >= 5,000 records/s with
limits off.

    .venv/bin/python benchmarks/bench_producers.py [--seconds 20] [--max-count 60000] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.edge.auth import deploy_edge
from nexuskit.engine import EmbeddedEngine, free_stack_port
from nexuskit.producers import ProduceOptions, produce, verify_for_stack, video_for_stack
from nexuskit.producers.video import VideoOptions
from nexuskit.provision.provisioner import provision


def _stack(workdir: Path, limits: str) -> tuple[KitSettings, EmbeddedEngine]:
    settings = KitSettings(port=free_stack_port(), state_dir=workdir, kinesis_limits=limits)  # type: ignore[arg-type]
    engine = EmbeddedEngine(settings)
    engine.start()
    spec = settings.stack()
    target = engine.target(spec.region)
    provision(spec, target)
    deploy_edge(spec, target)
    return settings, engine


def _rate_run(
    settings: KitSettings, channel: str, rate: float | None, seconds: float, count: int | None, verify: bool
) -> dict[str, Any]:
    options = ProduceOptions(
        template="telemetry", rate=rate, duration=None if count else seconds, count=count, seed=1
    )
    report = produce(settings, options, channel=channel)
    figures: dict[str, Any] = {
        "channel": channel,
        "stream": report.stream,
        "requested_rate": rate,
        "achieved_rate": round(report.achieved_rate, 1),
        "error_pct": None if rate is None else round((report.achieved_rate - rate) / rate * 100, 2),
        "sent": report.sent,
        "throttled": report.throttled,
        "failed": report.failed,
        "elapsed_s": round(report.elapsed_s, 2),
        "client_cpu_ms_per_1000": round(report.client_cpu_s / max(1, report.sent) * 1000 * 1000, 1),
    }
    if verify:
        proof = verify_for_stack(settings, report.run_id, wait=60)
        figures["delivered_exactly_once"] = proof.exactly_once
    return figures


def run(seconds: float, max_count: int, fragments: int, verify: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-producers-") as workdir:
        settings, engine = _stack(Path(workdir) / "limits", "aws")
        try:
            results["client_500"] = _rate_run(settings, "client", 500, seconds, None, verify)
            results["primary_1800"] = _rate_run(settings, "internal", 1800, seconds, None, verify)
            started = time.perf_counter()
            video = video_for_stack(
                settings,
                VideoOptions(fps=5, fragments=fragments, realtime=False),
                channel="client",
                stream="client-telemetry",
            )
            results["video"] = {
                "fragments": video.fragments_sent,
                "persisted": video.fragments_persisted,
                "fragments_per_s": round(video.fragments_per_s, 2),
                "bytes_per_fragment": video.bytes_sent // max(1, video.fragments_sent),
                "wall_s": round(time.perf_counter() - started, 2),
            }
        finally:
            engine.stop()
        settings, engine = _stack(Path(workdir) / "nolimits", "off")
        try:
            results["max_no_limits"] = _rate_run(settings, "internal", None, seconds, max_count, verify)
        finally:
            engine.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the rate runs")
    parser.add_argument("--max-count", type=int, default=60000, help="records of the limits-off run")
    parser.add_argument("--fragments", type=int, default=30, help="video fragments to send")
    parser.add_argument("--verify", action="store_true", help="also prove delivery of every run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    figures = run(args.seconds, args.max_count, args.fragments, args.verify)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print("producers (limits: AWS per-shard; telemetry template)")
    for key, label in (
        ("client_500", "client stream, 500/s requested"),
        ("primary_1800", "primary, 1,800/s requested"),
    ):
        f = figures[key]
        print(
            f"  {label:32s} {f['achieved_rate']:8.1f}/s  ({f['error_pct']:+.2f} %, target within 2 %)  "
            f"throttled {f['throttled']}  failed {f['failed']}  "
            f"client CPU {f['client_cpu_ms_per_1000']} ms/1000"
        )
    f = figures["max_no_limits"]
    print(
        f"  {'limits off, as fast as possible':32s} {f['achieved_rate']:8.1f}/s  "
        f"({f['sent']} records, target >= 5,000/s)  client CPU {f['client_cpu_ms_per_1000']} ms/1000"
    )
    v = figures["video"]
    print(
        f"  {'video (PutMedia, 320x240)':32s} {v['fragments_per_s']:8.2f} fragments/s  "
        f"({v['persisted']}/{v['fragments']} persisted, {v['bytes_per_fragment']} bytes each)"
    )
    if any("delivered_exactly_once" in f for f in figures.values()):
        print(
            "  delivered exactly once: "
            + ", ".join(
                f"{k}={v.get('delivered_exactly_once')}"
                for k, v in figures.items()
                if "delivered_exactly_once" in v
            )
        )


if __name__ == "__main__":
    main()
