"""Measure nexus-ui's main page in headless Chromium: first contentful paint and transfer size.

Prints figures (no assertions). The app is started in-process with uvicorn on a free
port (no stack needed: the main page and its assets do not depend on the backends).
Each load is cold (a fresh browser context: no cache), in Debian's /usr/bin/chromium
driven by playwright-core (installed by ``make browser``):

* first contentful paint: the page's ``first-contentful-paint`` performance entry,
  median of ``--runs`` loads; target <= 1 s;
* transfer size: every response of one load (the HTML, the stylesheet, the JS modules,
  ``/config.json``, the world outline), bodies and headers as Chromium received them;
  target <= 500 KB. The world outline (``/static/world.json``) loads only after sign-in,
  on the map view; its size is printed beside the total.

    .venv/bin/python benchmarks/bench_ui.py [--runs 5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.nexus_ui.app import create_app  # noqa: E402
from services.nexus_ui.settings import UiSettings  # noqa: E402
from tests.ui.browser_support import Browser, browser_unavailable  # noqa: E402

FCP_TARGET_MS = 1000
SIZE_TARGET_KB = 500


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold page loads (default 5)")
    args = parser.parse_args()
    reason = browser_unavailable()
    if reason:
        print(f"nexus-ui main page: not measured ({reason})")
        return 0
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(UiSettings()), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    browser = Browser()
    try:
        browser.measure(f"http://127.0.0.1:{port}/")  # warm-up: Chromium's own first start
        loads = [browser.measure(f"http://127.0.0.1:{port}/") for _ in range(args.runs)]
        world = len(httpx.get(f"http://127.0.0.1:{port}/static/world.json", timeout=10).content)
    finally:
        browser.close()
        server.should_exit = True
        thread.join(10)

    last = loads[-1]
    print(f"nexus-ui main page, {args.runs} cold loads in headless Chromium (playwright-core)")
    print("transfer size of one load (body + headers, uncompressed as served):")
    total = 0
    for resource in sorted(last["resources"], key=lambda r: str(r["url"])):
        size = int(resource["body"]) + int(resource["headers"])
        total += size
        print(f"  {urlsplit(resource['url']).path:<24} {resource['type']:<11} {size:>8,} B")
    print(
        f"  {'total':<24} {len(last['resources']):>3} requests {total:>8,} B  "
        f"({total / 1024:.1f} KB; target <= {SIZE_TARGET_KB} KB)"
    )
    print(f"  after sign-in the map view adds /static/world.json: {world:,} B")
    paints = [float(load["fcp_ms"]) for load in loads]
    print(
        f"first contentful paint: median {statistics.median(paints):.0f} ms "
        f"(min {min(paints):.0f}, max {max(paints):.0f}; target <= {FCP_TARGET_MS} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
