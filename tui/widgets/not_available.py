"""A notice for a part of the kit that is not there yet: ``not available: <reason>``."""

from __future__ import annotations

from textual.widgets import Static


class NotAvailable(Static):
    """Says plainly which core function is missing and why; never shows made-up data."""

    DEFAULT_CSS = """
    NotAvailable {
        border: round $warning;
        color: $warning;
        padding: 0 1;
        height: auto;
        width: 1fr;
    }
    """

    def __init__(self, reason: str, *, id: str | None = None) -> None:
        super().__init__(f"not available: {reason}", id=id, markup=False)
        self.reason = reason
