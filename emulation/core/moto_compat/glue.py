"""moto's Glue: what its public API does not offer."""

from __future__ import annotations

from typing import Any


def current_table_version(table: Any) -> dict[str, Any]:
    """The table input of a moto Glue table's current version (moto keeps the number private)."""
    version: dict[str, Any] = table.get_version(str(table._current_version))
    return version
