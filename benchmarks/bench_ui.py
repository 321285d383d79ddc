"""Measure nexus-ui's main page: total transfer size and (with Chromium) first contentful paint.

Prints figures (no assertions). The app is started in-process with uvicorn on a free
port (no stack needed: the main page and its assets do not depend on the backends).

* transfer size: the HTML plus every asset the page loads (stylesheet, JS modules and
  what they import, the world outline) as served; target <= 500 KB;
* first contentful paint in headless Chromium (Debian's /usr/bin/chromium via
  playwright-core in tests/ui/browser/), median of ``--runs``; target <= 1 s.

    .venv/bin/python benchmarks/bench_ui.py [--runs 5]
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urljoin

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.nexus_ui.app import create_app  # noqa: E402
from services.nexus_ui.settings import UiSettings  # noqa: E402

ASSET_RE = re.compile(r"""(?:src|href)="(/[^"]+)"|from\s+"(\./[^"]+)"|fetch\("(/[^"]+)"\)""")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def transfer(base: str) -> dict[str, int]:
    """Bytes of the page and of every asset reached from it (HTML refs, imports, fetches)."""
    sizes: dict[str, int] = {}
    queue = ["/"]
    with httpx.Client(base_url=base, timeout=10) as http:
        while queue:
            path = queue.pop()
            if path in sizes:
                continue
            answer = http.get(path)
            answer.raise_for_status()
            sizes[path] = len(answer.content)
            if path == "/" or path.endswith((".js", ".html")):
                for match in ASSET_RE.finditer(answer.text):
                    ref = next(g for g in match.groups() if g)
                    queue.append(
                        urljoin(path if path != "/" else "/static/", ref) if ref.startswith("./") else ref
                    )
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="page loads for first contentful paint")
    args = parser.parse_args()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(UiSettings()), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        sizes = transfer(base)
        total = sum(sizes.values())
        print("main page transfer size (uncompressed, as served):")
        for path, size in sorted(sizes.items()):
            print(f"  {path:<28} {size:>8,} B")
        print(f"  {'total':<28} {total:>8,} B  ({total / 1024:.1f} KB; target <= 500 KB)")
        sys.path.insert(0, str(ROOT))
        from tests.ui.browser_support import browser_unavailable, drive

        reason = browser_unavailable()
        if reason:
            print(f"first contentful paint: not measured ({reason})")
            return 0
        with tempfile.TemporaryDirectory() as out:
            paints = [drive(base, Path(out), "fcp").get("fcp_ms") for _ in range(args.runs)]
        measured = [p for p in paints if p is not None]
        if measured:
            print(
                f"first contentful paint: median {statistics.median(measured):.0f} ms "
                f"over {len(measured)} loads "
                f"(min {min(measured):.0f}, max {max(measured):.0f}; target <= 1000 ms)"
            )
        else:
            print("first contentful paint: Chromium reported none")
    finally:
        server.should_exit = True
        thread.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
