"""Display helpers (formatting only: no decisions about the stack live here)."""

from __future__ import annotations

import json
import time
from typing import Any

from textual.widgets import DataTable


def age(seconds: float | None) -> str:
    """kubectl's AGE style: 42s, 7m, 3h, 2d ('-' when unknown)."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def size(value: Any) -> str:
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return str(value)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def clock_time(ts: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) if ts else "-"


def moment(ts: float | None, now: float) -> str:
    """``14:03:07`` on the day of ``now``, else ``11-24 14:03`` (for lists that span days)."""
    if not ts:
        return "-"
    if time.localtime(ts)[:3] == time.localtime(now)[:3]:
        return clock_time(ts)
    return time.strftime("%m-%d %H:%M", time.localtime(ts))


def sync_rows(table: DataTable[Any], rows: dict[str, tuple[Any, ...]]) -> None:
    """Make ``table`` hold exactly ``rows`` (by key), updating cells in place (no flicker)."""
    columns = list(table.columns)
    existing = {str(key.value) for key in table.rows}
    for key in existing - rows.keys():
        table.remove_row(key)
    for key, values in rows.items():
        if key in existing:
            for column, value in zip(columns, values, strict=False):
                if table.get_cell(key, column) != value:
                    table.update_cell(key, column, value)
        else:
            table.add_row(*values, key=key)
