"""Helpers for the suite's long-lived helper processes (the engine fork server, the browser
driver): each reads requests on its stdin and ends when that closes."""

from __future__ import annotations

import subprocess
from typing import Any


def end_by_closing_stdin(proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """Close ``proc``'s stdin and wait for it to end; kill it if it has not within ``timeout``."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
