"""``awsglue.job.Job`` for plain-Python scripts: ``init`` and ``commit`` are accepted."""

from __future__ import annotations

from typing import Any


class Job:
    """Bookkeeping only: job bookmarks are not emulated."""

    def __init__(self, glue_context: Any = None) -> None:
        self.glue_context = glue_context
        self.name: str | None = None
        self.args: dict[str, Any] = {}

    def init(self, job_name: str, args: dict[str, Any] | None = None) -> None:
        self.name = job_name
        self.args = dict(args or {})

    def commit(self) -> None:
        """Nothing to commit locally."""
