"""Dashboard figures: time to first paint, and frame latency while a producer runs at 1,000 records/s.

    python benchmarks/bench_tui.py                      # starts (and stops) a stack of its own
    python benchmarks/bench_tui.py --port P --state-dir D   # uses a running stack

Prints (no assertions; targets: first paint <= 1.5 s, no frame blocked > 100 ms):

* first paint: from creating the App to Textual's ``Ready`` (first frame composed and shown),
  and until the Stack screen's Deployments table holds data;
* frame latency: the UI event loop's lag, sampled every 10 ms, while the Producers screen shows
  a client producer at 1,000 records/s (its panel and sparklines redraw every second) —
  p50, p99 and the worst block, plus the producer's achieved rate. The producer is a
  ``nexuskit produce --progress jsonl`` child process; the dashboard only reads its lines.
* the machine's own noise over the same seconds: the same probe in a bare asyncio loop in a
  process of its own (no Textual, no producer). On a busy machine (a shared 2-core box)
  the scheduler alone can hold a process back; a dashboard figure close to this one is
  the machine, not the dashboard.

The app runs headless at 160x48 (Textual still composes every frame; nothing is written
to a terminal).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import events
from textual.message import Message
from textual.widgets import DataTable, Input

from nexuskit.config import KitSettings
from tui.app import NexusApp

RATE = 1000
SECONDS = 20
PROBE_S = 0.01
#: the lag probe alone, in a process of its own: the machine's noise (prints its figures as JSON)
BARE_PROBE = f"""
import asyncio, json, sys
async def probe(seconds):
    loop = asyncio.get_running_loop()
    lags, end, expected = [], loop.time() + seconds, loop.time() + {PROBE_S}
    while loop.time() < end:
        await asyncio.sleep({PROBE_S})
        now = loop.time()
        lags.append(max(0.0, now - expected))
        expected = now + {PROBE_S}
    print(json.dumps(lags))
asyncio.run(probe(float(sys.argv[1])))
"""


def lag_figures(lags: list[float]) -> dict[str, Any]:
    lags = sorted(lags)
    return {
        "samples": len(lags),
        "p50_ms": statistics.median(lags) * 1000 if lags else 0.0,
        "p99_ms": lags[int(len(lags) * 0.99) - 1] * 1000 if lags else 0.0,
        "max_ms": lags[-1] * 1000 if lags else 0.0,
        "over_100ms": sum(1 for lag in lags if lag > 0.1),
    }


async def first_paint(settings: KitSettings) -> dict[str, float]:
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def hook(message: Message) -> None:
        if isinstance(message, events.Ready) and "ready" not in marks:
            marks["ready"] = time.perf_counter() - started

    app = NexusApp(settings, cursor_blink=False)
    async with app.run_test(size=(160, 48), message_hook=hook) as pilot:
        while "ready" not in marks:
            await pilot.pause(0.01)
        table = app.screen.query_one("#deployments", DataTable)
        while table.row_count == 0 and time.perf_counter() - started < 30:
            await pilot.pause(0.01)
        marks["data"] = time.perf_counter() - started
    return marks


async def frame_latency(settings: KitSettings) -> dict[str, Any]:
    app = NexusApp(settings, cursor_blink=False, start="producers")
    lags: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(1.0)
        screen = app.screen
        screen.query_one("#rate", Input).value = str(RATE)
        screen.query_one("#duration", Input).value = str(SECONDS)
        await pilot.press("ctrl+s")
        while not screen.runs:  # type: ignore[attr-defined]
            await pilot.pause(0.05)
        run = next(iter(screen.runs.values()))  # type: ignore[attr-defined]
        bare = subprocess.Popen(
            [sys.executable, "-c", BARE_PROBE, str(SECONDS)], stdout=subprocess.PIPE, text=True
        )
        loop = asyncio.get_running_loop()
        expected = loop.time() + PROBE_S
        while run.state in {"starting", "running"}:
            await asyncio.sleep(PROBE_S)
            now = loop.time()
            lags.append(max(0.0, now - expected))
            expected = now + PROBE_S
        counters = run.counters()
    machine = lag_figures(json.loads(bare.communicate()[0]))
    return {
        **lag_figures(lags),
        "machine": machine,
        "state": counters.get("state"),
        "sent": counters.get("sent"),
        "throttled": counters.get("throttled"),
        "failed": counters.get("failed"),
        "achieved_rate": counters.get("rate"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int)
    parser.add_argument("--state-dir", type=Path)
    args = parser.parse_args()
    own = None
    if args.port and args.state_dir:
        settings = KitSettings(port=args.port, state_dir=args.state_dir)
    else:
        from tests.e2e.conftest import nexuskit, start_stack

        own = start_stack(Path(tempfile.mkdtemp(prefix="bench-tui-")) / "state")
        settings = own.settings
    try:
        paint = asyncio.run(first_paint(settings))
        print(f"first paint (Ready):            {paint['ready']:.3f} s   (target <= 1.5 s)")
        print(f"first data (Deployments shown): {paint['data']:.3f} s")
        lat = asyncio.run(frame_latency(settings))
        print(
            f"producer {RATE}/s for {SECONDS} s: {lat['state']}, sent {lat['sent']}, "
            f"throttled {lat['throttled']}, "
            f"failed {lat['failed']}, achieved {lat['achieved_rate']} rec/s"
        )
        print(
            f"UI loop lag over {lat['samples']} samples: p50 {lat['p50_ms']:.1f} ms, "
            f"p99 {lat['p99_ms']:.1f} ms, "
            f"max {lat['max_ms']:.1f} ms, blocks > 100 ms: {lat['over_100ms']}   (target: none)"
        )
        bare = lat["machine"]
        print(
            f"machine noise (bare asyncio loop, own process, {bare['samples']} samples): "
            f"p50 {bare['p50_ms']:.1f} ms, p99 {bare['p99_ms']:.1f} ms, max {bare['max_ms']:.1f} ms, "
            f"blocks > 100 ms: {bare['over_100ms']}"
        )
    finally:
        if own is not None:
            nexuskit("down", *own.args)


if __name__ == "__main__":
    main()
