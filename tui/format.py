"""Display helpers (formatting only: no decisions about the stack live here)."""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import DataTable


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
