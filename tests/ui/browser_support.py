"""Headless Chromium for nexus-ui: Debian's /usr/bin/chromium driven by playwright-core."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_DIR = Path(__file__).resolve().parent / "browser"
NO_CHROMIUM = "chromium not installed: apt-get install chromium"


def browser_unavailable() -> str | None:
    """Why browser tests cannot run (None when they can): installs playwright-core on demand."""
    if not CHROMIUM.exists():
        return NO_CHROMIUM
    if (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm not installed: apt-get install npm"
    result = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund"],
        cwd=BROWSER_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return f"npm install playwright-core failed: {result.stderr.strip()[-300:]}"
    return None


def drive(url: str, out_dir: Path, mode: str) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["node", str(BROWSER_DIR / "drive.mjs"), url, str(out_dir), mode],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(result.stderr[-2000:])
    doc: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return doc
