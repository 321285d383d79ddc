"""Ships a job run's stdout and stderr to CloudWatch Logs, as Glue does.

Glue writes a run's standard output to log group ``/aws-glue/jobs/output`` and its
standard error to ``/aws-glue/jobs/error``, each in a stream named after the run id. The
shipper tails the two files the process writes and puts each complete new line as one
log event into moto's logs backend (callers hold the engine's state lock).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

OUTPUT_GROUP = "/aws-glue/jobs/output"
ERROR_GROUP = "/aws-glue/jobs/error"
_MAX_EVENT_BYTES = 256 * 1024 - 26
_TAIL_LINES = 20


class LogShipper:
    """Tails one run's output files into its two log streams."""

    def __init__(self, engine: EngineApp, account: str, region: str, run_id: str) -> None:
        self.engine = engine
        self.account = account
        self.region = region
        self.stream = run_id
        self._offsets = {OUTPUT_GROUP: 0, ERROR_GROUP: 0}
        self._partial = {OUTPUT_GROUP: b"", ERROR_GROUP: b""}
        self.stderr_tail: list[str] = []

    def _backend(self) -> object:
        return self.engine.backend("logs", self.region, self.account)

    def open_streams(self) -> None:
        """Create the groups (if missing) and this run's streams."""
        backend = self._backend()
        for group in (OUTPUT_GROUP, ERROR_GROUP):
            if group not in backend.groups:  # type: ignore[attr-defined]
                backend.create_log_group(group, {})  # type: ignore[attr-defined]
            if self.stream not in backend.groups[group].streams:  # type: ignore[attr-defined]
                backend.create_log_stream(group, self.stream)  # type: ignore[attr-defined]

    def ship(self, stdout: Path, stderr: Path, final: bool) -> bool:
        """Put new complete lines (all remaining text when ``final``); True if any."""
        shipped = False
        for group, path in ((OUTPUT_GROUP, stdout), (ERROR_GROUP, stderr)):
            lines = self._new_lines(group, path, final)
            if group == ERROR_GROUP:
                self.stderr_tail = (self.stderr_tail + [line for line in lines if line.strip()])[
                    -_TAIL_LINES:
                ]
            if lines:
                now = int(time.time() * 1000)
                events = [{"timestamp": now, "message": line[:_MAX_EVENT_BYTES]} for line in lines]
                self._backend().put_log_events(group, self.stream, events)  # type: ignore[attr-defined]
                shipped = True
        return shipped

    def _new_lines(self, group: str, path: Path, final: bool) -> list[str]:
        try:
            with open(path, "rb") as handle:
                handle.seek(self._offsets[group])
                data = handle.read()
        except FileNotFoundError:
            return []
        self._offsets[group] += len(data)
        data = self._partial[group] + data
        *complete, rest = data.split(b"\n")
        if final and rest:
            complete.append(rest)
            rest = b""
        self._partial[group] = rest
        return [line.decode("utf-8", "replace").rstrip("\r") for line in complete]
