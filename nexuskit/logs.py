"""Logs of the whole stack in one stream: the engine, the runtime and every Deployment.

``nexuskit logs SERVICE`` (:func:`nexuskit.controlplane.podlogs.logs`) shows one Deployment;
this module merges them all, as ``nexuskit tail`` and the dashboard's Logs screen show:

* :func:`log_sources` names what can be tailed: ``engine`` (the embedded AWS engine's
  log), ``runtime`` (the control-plane runtime's log) and each Deployment as
  ``namespace/name``;
* :func:`tail` returns the last lines of one source or of all of them, merged;
* :class:`LogFollower` follows them (one reader thread per source, stopped on
  :meth:`~LogFollower.close` without leaking a thread or a socket) and hands out new lines
  with :meth:`~LogFollower.poll`;
* :func:`compile_filter`, :func:`matching` and :func:`save` filter by regular expression
  and write lines to a file.

Lines of the engine and runtime logs carry their own timestamp; a Deployment's lines are
stamped when they are read (its pods write plain lines).
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexuskit.config import KitSettings
from nexuskit.errors import NexuskitError

if TYPE_CHECKING:
    from nexuskit.controlplane.podlogs import LogStreams

log = logging.getLogger(__name__)

ENGINE = "engine"
RUNTIME = "runtime"
FILE_POLL_S = 0.2
BACKLOG_WINDOW_S = 0.5
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:[,.](\d{1,6}))?\s")


class LogError(NexuskitError):
    """A log source is unknown, a filter is not a valid regular expression, or a file cannot be written."""


@dataclass(frozen=True)
class LogLine:
    """One line of one source; ``ts`` is seconds since the epoch (None when unknown)."""

    source: str
    text: str
    ts: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "text": self.text, "ts": self.ts}

    @property
    def message(self) -> str:
        """The text without the timestamp it starts with (which ``ts`` holds)."""
        found = _STAMP.match(self.text)
        return self.text[found.end() :] if found else self.text

    @property
    def short_source(self) -> str:
        """``agent-core`` for ``nexus-agent-core/agent-core``."""
        return self.source.rpartition("/")[2]

    def render(self, timestamps: bool = True) -> str:
        """``HH:MM:SS source | text`` (without the time when ``timestamps`` is False)."""
        head = f"{self.short_source} | {self.message}"
        if not timestamps:
            return head
        stamp = time.strftime("%H:%M:%S", time.localtime(self.ts)) if self.ts is not None else "--:--:--"
        return f"{stamp} {head}"


def line_timestamp(text: str) -> float | None:
    """The timestamp a Python logging line starts with (``2026-11-26 10:54:21,999 ...``)."""
    found = _STAMP.match(text)
    if not found:
        return None
    try:
        moment = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    fraction: str = found.group(2) or "0"
    seconds: float = moment.timestamp() + int(fraction) / 10 ** len(fraction)
    return seconds


# -- sources ------------------------------------------------------------------------------
def _file_sources(settings: KitSettings) -> dict[str, Path]:
    state = settings.resolved_state_dir()
    return {ENGINE: state / "logs" / "engine.log", RUNTIME: state / "logs" / "runtime.log"}


def _deployments(settings: KitSettings) -> list[str]:
    from nexuskit.controlplane import client, cluster

    try:
        return cluster.deployment_names(settings)
    except client.ControlPlaneError as exc:
        log.info("no deployment logs: %s", exc)
        return []


def log_sources(settings: KitSettings) -> list[str]:
    """``engine``, ``runtime`` and every Deployment (``namespace/name``) of the control plane."""
    return [ENGINE, RUNTIME, *_deployments(settings)]


def _resolve(settings: KitSettings, source: str, known: list[str]) -> str:
    if source in known:
        return source
    matches = [s for s in known if s.rpartition("/")[2] == source]
    if len(matches) == 1:
        return matches[0]
    raise LogError(f"no log source {source!r}", f"known: {', '.join(known)}")


def _read_tail(path: Path, lines: int) -> list[str]:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max(lines, 1) * 400))
            data = fh.read()
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    if len(text) > lines:
        text = text[-lines:]
    return text


def _deployment_tail(settings: KitSettings, source: str, lines: int) -> list[str]:
    from nexuskit.controlplane import client, podlogs

    try:
        return list(podlogs.logs(settings, source, tail=lines))
    except client.ControlPlaneError as exc:
        log.info("no logs of %s: %s", source, exc)
        return []


def tail(settings: KitSettings, source: str | None = None, lines: int = 100) -> list[LogLine]:
    """The last ``lines`` lines of one source, or of every source merged (by time where known)."""
    known = log_sources(settings)
    chosen = [_resolve(settings, source, known)] if source else known
    files = _file_sources(settings)
    out: list[LogLine] = []
    for name in chosen:
        if name in files:
            out.extend(LogLine(name, text, line_timestamp(text)) for text in _read_tail(files[name], lines))
        else:
            out.extend(LogLine(name, text) for text in _deployment_tail(settings, name, lines))
    return merge(out)


def merge(lines: Iterable[LogLine]) -> list[LogLine]:
    """Order lines by time; a line without a time stays right after the one before it."""
    keyed: list[tuple[float, int, LogLine]] = []
    last = 0.0
    for index, line in enumerate(lines):
        if line.ts is not None:
            last = line.ts
        keyed.append((line.ts if line.ts is not None else last, index, line))
    return [line for _, _, line in sorted(keyed, key=lambda item: (item[0], item[1]))]


# -- filter and save ----------------------------------------------------------------------
def compile_filter(pattern: str | None) -> re.Pattern[str] | None:
    """The ``/`` filter: a case-insensitive regular expression (None for an empty pattern)."""
    if not pattern:
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise LogError(
            f"filter {pattern!r} is not a regular expression: {exc}", "escape special characters"
        ) from None


def matching(lines: Iterable[LogLine], pattern: str | re.Pattern[str] | None) -> list[LogLine]:
    """The lines whose source or text matches ``pattern``."""
    regex = compile_filter(pattern) if isinstance(pattern, str) or pattern is None else pattern
    if regex is None:
        return list(lines)
    return [line for line in lines if regex.search(line.text) or regex.search(line.source)]


def save(lines: Iterable[LogLine], path: Path, timestamps: bool = True) -> dict[str, Any]:
    """Write lines to ``path`` (as shown, one per line); returns the path and the count."""
    target = path.expanduser()
    count = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line.render(timestamps) + "\n")
                count += 1
    except OSError as exc:
        raise LogError(f"cannot write {target}: {exc.strerror or exc}") from None
    return {"path": str(target.resolve()), "lines": count}


# -- follow -------------------------------------------------------------------------------
class _Reader(threading.Thread):
    """Follows one source into a queue until stopped."""

    def __init__(self, source: str, out: queue.Queue[LogLine], stop: threading.Event) -> None:
        super().__init__(name=f"nexuskit-log-{source}", daemon=True)
        self.source = source
        self.out = out
        self.stop_event = stop

    def shut(self) -> None:
        """Wake the thread if it is blocked (sockets); files notice the stop event."""


class _FileReader(_Reader):
    def __init__(
        self, source: str, path: Path, out: queue.Queue[LogLine], stop: threading.Event, backlog: int
    ) -> None:
        super().__init__(source, out, stop)
        self.path = path
        self.backlog = backlog

    def run(self) -> None:
        for text in _read_tail(self.path, self.backlog) if self.backlog else []:
            self.out.put(LogLine(self.source, text, line_timestamp(text)))
        try:
            offset = self.path.stat().st_size
        except FileNotFoundError:
            offset = 0
        partial = b""
        while not self.stop_event.wait(FILE_POLL_S):
            try:
                with open(self.path, "rb") as fh:
                    if fh.seek(0, 2) < offset:
                        offset = 0  # truncated or replaced
                    fh.seek(offset)
                    fresh = fh.read()
            except FileNotFoundError:
                continue
            if not fresh:
                continue
            offset += len(fresh)
            data = partial + fresh
            cut = data.rfind(b"\n") + 1
            partial = data[cut:]
            for raw in data[:cut].splitlines():
                text = raw.decode("utf-8", errors="replace")
                self.out.put(LogLine(self.source, text, line_timestamp(text) or time.time()))


class _DeploymentReader(_Reader):
    """Follows a Deployment's pods through the Kubernetes API (new pods join, restarts resume)."""

    def __init__(
        self,
        source: str,
        settings: KitSettings,
        out: queue.Queue[LogLine],
        stop: threading.Event,
        backlog: int,
    ) -> None:
        super().__init__(source, out, stop)
        self.settings = settings
        self.backlog = backlog
        self.streams: LogStreams | None = None

    def run(self) -> None:
        from nexuskit.controlplane.podlogs import LogStreams, LogTarget

        namespace, _, name = self.source.partition("/")
        try:
            self.streams = LogStreams(self.settings, LogTarget(namespace, name, None), self.backlog).start()
        except NexuskitError as exc:
            log.info("no log stream for %s: %s", self.source, exc)
            return
        started = time.monotonic()
        try:
            while not self.stop_event.is_set():
                try:
                    text = self.streams.out.get(timeout=FILE_POLL_S)
                except queue.Empty:
                    continue
                # the backlog arrives at once (its time is unknown); later lines are stamped as they come
                backlog = bool(self.backlog) and time.monotonic() - started < BACKLOG_WINDOW_S
                self.out.put(LogLine(self.source, text, None if backlog else time.time()))
        finally:
            self.streams.close()

    def shut(self) -> None:
        if self.streams is not None:
            self.streams.stop.set()


class LogFollower:
    """Follow several sources at once; :meth:`poll` returns the lines that arrived since.

    ``backlog`` lines of each source are delivered first. Use as a context manager or call
    :meth:`close`; every reader thread is joined on close.
    """

    def __init__(
        self, settings: KitSettings, sources: Iterable[str] | None = None, backlog: int = 50
    ) -> None:
        self.settings = settings
        known = log_sources(settings)
        self.sources = [_resolve(settings, s, known) for s in sources] if sources is not None else known
        self.backlog = backlog
        self._queue: queue.Queue[LogLine] = queue.Queue()
        self._stop = threading.Event()
        self._readers: list[_Reader] = []

    def start(self) -> LogFollower:
        files = _file_sources(self.settings)
        for source in self.sources:
            if source in files:
                reader: _Reader = _FileReader(source, files[source], self._queue, self._stop, self.backlog)
            else:
                reader = _DeploymentReader(source, self.settings, self._queue, self._stop, self.backlog)
            self._readers.append(reader)
            reader.start()
        return self

    def poll(self, limit: int = 5000) -> list[LogLine]:
        """Lines that arrived since the last call (at most ``limit``)."""
        out: list[LogLine] = []
        while len(out) < limit:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out

    def lines(self, interval: float = 0.2) -> Iterator[LogLine]:
        """Every line as it arrives, until :meth:`close` (for ``nexuskit tail -f``)."""
        while not self._stop.is_set():
            try:
                yield self._queue.get(timeout=interval)
            except queue.Empty:
                continue

    @property
    def running(self) -> bool:
        return any(reader.is_alive() for reader in self._readers)

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for reader in self._readers:
            reader.shut()
        for reader in self._readers:
            reader.join(timeout)
        self._readers.clear()

    def __enter__(self) -> LogFollower:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
