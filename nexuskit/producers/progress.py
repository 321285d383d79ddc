"""A run's progress as JSON lines, for a program that watches a producer run in a child process.

``nexuskit produce --progress jsonl`` writes one JSON object a line to stdout, each with an
``event``:

* ``started``: ``run_id``, ``channel``, ``stream``, ``template``, ``planned`` — the run is
  about to send;
* ``progress`` (about once a second): ``run_id``, ``elapsed_s``, ``planned``, ``made``,
  ``sent``, ``throttled``, ``retried``, ``failed``, ``rate``, ``refreshes``;
* ``report`` (the last line of a run that ran): the run's report
  (:meth:`~nexuskit.producers.producer.ProduceReport.as_dict`) plus ``failed_seqs`` —
  with ``run_id``, ``made`` and ``started_at`` the inputs of the delivery proof
  (:func:`nexuskit.producers.verify.expected_ids`), which also reads them from the run record;
* ``error``: ``message`` and ``hint`` — the run could not start or failed.

A reader parses lines with :func:`parse_line` (``None`` for anything that is not such an
object). :class:`ProgressLines` stops a run the way Ctrl-C does, at a safe point (the next
progress callback), when asked to (:meth:`ProgressLines.request_stop`, e.g. on SIGTERM) and
when nobody reads any more (the pipe is broken), so a run never outlives its watcher.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nexuskit.producers.producer import Producer, ProduceReport, Progress

log = logging.getLogger(__name__)

EVENTS = ("started", "progress", "report", "error")
PROGRESS_EVERY_S = 1.0


def parse_line(line: str | bytes) -> dict[str, Any] | None:
    """The event of one line, or None when the line is not a JSON object with a known ``event``."""
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    if isinstance(doc, dict) and doc.get("event") in EVENTS:
        return doc
    return None


def started_event(producer: Producer) -> dict[str, Any]:
    return {
        "event": "started",
        "run_id": producer.run_id,
        "channel": producer.credentials.channel,
        "stream": producer.stream,
        "template": producer.template.name,
        "planned": producer.planned,
    }


def progress_event(progress: Progress) -> dict[str, Any]:
    return {
        "event": "progress",
        "run_id": progress.run_id,
        "elapsed_s": round(progress.elapsed_s, 3),
        "planned": progress.planned,
        "made": progress.made,
        "sent": progress.sent,
        "throttled": progress.throttled,
        "retried": progress.retried,
        "failed": progress.failed,
        "rate": round(progress.rate, 2),
        "refreshes": progress.refreshes,
    }


def report_event(report: ProduceReport) -> dict[str, Any]:
    return {"event": "report", **report.as_dict(), "failed_seqs": report.failed_seqs}


def error_event(message: str, hint: str | None = None) -> dict[str, Any]:
    return {"event": "error", "message": message, "hint": hint}


class ProgressLines:
    """Writes a run's events through ``write`` (one line each), ``progress`` at most once per ``every``.

    :meth:`on_progress` raises ``KeyboardInterrupt`` once per stop request, which
    :meth:`Producer.run() <nexuskit.producers.producer.Producer.run>` takes as Ctrl-C: the
    first ends the run (records in hand still go out), a second one also gives up the
    retries. ``write`` raising ``OSError`` (a broken pipe: the reader has gone) ends the
    writing and counts as a stop request.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        every: float = PROGRESS_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self.every = every
        self._monotonic = monotonic
        self._last: float | None = None
        self.reader_gone = False
        self.stops_requested = 0
        self._stops_raised = 0

    def emit(self, event: dict[str, Any]) -> None:
        if self.reader_gone:
            return
        try:
            self._write(json.dumps(event, separators=(",", ":"), default=str) + "\n")
        except OSError as exc:
            log.warning("nobody reads the progress any more (%s): stopping the run", exc)
            self.reader_gone = True
            self.request_stop()

    def request_stop(self) -> None:
        """Stop the run at its next progress callback (safe to call from a signal handler)."""
        self.stops_requested += 1

    def on_progress(self, progress: Progress) -> None:
        """The producer's ``on_progress`` callback."""
        now = self._monotonic()
        if self._last is None or now - self._last >= self.every:
            self._last = now
            self.emit(progress_event(progress))
        if self._stops_raised < self.stops_requested:
            self._stops_raised += 1
            raise KeyboardInterrupt
