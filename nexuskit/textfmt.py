"""Plain-text renderings shared by the CLI's tables and the dashboard's cells."""

from __future__ import annotations

import json
from typing import Any


def human_size(value: Any) -> str:
    """Bytes as ``512 B``, ``1.5 KB`` ... ``2.0 GB`` (``-`` when unknown)."""
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return str(value)


def age(seconds: float | None) -> str:
    """A duration in kubectl's AGE style: 42s, 7m, 3h, 2d (``-`` when unknown)."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def cell_text(value: Any) -> str:
    """One table cell: empty for None, JSON for dicts and lists, else ``str``."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)
