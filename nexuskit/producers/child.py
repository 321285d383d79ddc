"""A producer run in a child process: starting it, its protocol, and the settings it gets.

A program that must not share its interpreter with a run (the dashboard: the records, the
signing and the HTTP calls would compete with it) starts the run as a child,
``python -m nexuskit.producers.child REQUEST RUN_ID`` (:class:`ProducerChild`); ``REQUEST`` is
the JSON of a :class:`ChildRequest`, and the stack's settings go in the child's environment
as ``NEXUSKIT_*`` variables (:func:`settings_environment`), where the child reads them back.

The protocol is JSON lines on the child's stdout (:mod:`nexuskit.producers.progress`:
``started``, ``progress`` about once a second, ``report`` last, or ``error``), written by
:func:`run_reporting` — which ``nexuskit produce --progress jsonl`` runs as well, for
programs that start the CLI. SIGINT or SIGTERM stops the run like Ctrl-C: it sends what it
has in hand, and its report line and run record still come (what the delivery proof,
:func:`~nexuskit.producers.verify_for_stack`, reads). A thread of the parent parses the
lines into counters (:meth:`ProducerChild.counters`) that are cheap to read.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import IO, TYPE_CHECKING, Any

from nexuskit.config import KitSettings
from nexuskit.errors import NexuskitError
from nexuskit.producers.credentials import DEFAULT_REFRESH_MARGIN_S
from nexuskit.producers.producer import ProduceOptions
from nexuskit.producers.progress import ProgressLines, error_event, parse_line, report_event, started_event
from nexuskit.producers.rate import parse_duration, parse_rate
from nexuskit.producers.runs import new_run_id

if TYPE_CHECKING:
    from nexuskit.producers.producer import ProduceReport

log = logging.getLogger(__name__)

#: the report's ``status`` -> the state of the child's run
STATES = {"finished": "done", "interrupted": "stopped", "failed": "failed"}
FINISHED = frozenset({"done", "stopped", "failed"})
#: stderr kept for the message of a child that ended without a report
STDERR_TAIL_CHARS = 2000
#: what a run "until stopped" is asked for (it ends when stopped, long before)
UNTIL_STOPPED_COUNT = 10**9
#: what ``nexuskit produce`` takes when not told otherwise (the child runs as it would)
DEFAULT_CONCURRENCY = 4
EXIT_STOPPED_BEFORE_START = 130
#: what a child runs (``python -m``): this module, never the CLI
CHILD_MODULE = "nexuskit.producers.child"
PROOF_WAIT_S = 20.0


# -- settings -> environment ----------------------------------------------------------------
def settings_environment(settings: KitSettings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with ``settings`` as ``NEXUSKIT_*`` variables,
    so that ``KitSettings()`` in a child reads the same settings (a setting that is None is unset)."""
    env = dict(os.environ if base is None else base)
    for name, value in settings.model_dump().items():
        key = f"NEXUSKIT_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    env["NEXUSKIT_STATE_DIR"] = str(settings.resolved_state_dir())
    return env


# -- what a child is asked to do ------------------------------------------------------------
@dataclass
class ChildRequest:
    """What a producer child runs (a subset of the options of ``nexuskit produce``)."""

    channel: str = "client"
    template: str = "telemetry"
    rate: float = 100.0
    mode: str = "constant"
    #: seconds; None: until stopped
    duration_s: float | None = 30.0
    seed: int | None = None
    anomaly_rate: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def title(self) -> str:
        duration = f"{self.duration_s:g}s" if self.duration_s else "until stopped"
        return f"{self.channel} · {self.template} · {self.rate:g}/s {self.mode} · {duration}"

    def produce_options(self, run_id: str) -> ProduceOptions:
        """The run's options, as ``nexuskit produce`` makes them from the same flags."""
        return ProduceOptions(
            template=self.template,
            rate=parse_rate(self.rate),
            mode=self.mode,
            count=None if self.duration_s else UNTIL_STOPPED_COUNT,
            duration=parse_duration(self.duration_s) if self.duration_s else None,
            seed=self.seed,
            anomaly_rate=self.anomaly_rate,
            run_id=run_id,
            concurrency=DEFAULT_CONCURRENCY,
        )


# -- the child's side -----------------------------------------------------------------------
def stdout_line(text: str) -> None:
    """Write one line to stdout; when the reader has gone, send the rest nowhere (and raise)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise


@contextmanager
def stop_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call ``stop`` (the run ends at its next progress callback)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda _signum, _frame: stop()) for signum in handled}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_reporting(
    settings: KitSettings,
    options: ProduceOptions | Callable[[], ProduceOptions],
    *,
    channel: str | None,
    stream: str | None,
    user: str,
    ttl_minutes: int | None,
    refresh_margin: float,
    write: Callable[[str], None] = stdout_line,
) -> ProduceReport | None:
    """Run a producer, its events as JSON lines through ``write``; its report, or None when
    it was stopped before it started. A NexuskitError is raised after its ``error`` line."""
    from nexuskit.producers.stack import producer_for_stack

    lines = ProgressLines(write)
    with stop_signals(lines.request_stop):
        try:
            produce_options = options() if callable(options) else options
            producer = producer_for_stack(
                settings,
                produce_options,
                channel=channel,
                stream=stream,
                user=user,
                ttl_minutes=ttl_minutes,
                refresh_margin=refresh_margin,
                on_progress=lines.on_progress,
            )
            if lines.stops_requested:
                lines.emit(error_event("stopped before the run started"))
                return None
            lines.emit(started_event(producer))
            report = producer.run()
        except NexuskitError as exc:
            lines.emit(error_event(exc.message, exc.hint))
            raise
    lines.emit(report_event(report))
    return report


def _say_error(message: str, hint: str | None = None) -> None:
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"  hint: {hint}\n")


def main(argv: list[str] | None = None) -> int:
    """``python -m nexuskit.producers.child REQUEST [RUN_ID]``: one run, reported as JSON lines."""
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2:
        _say_error("usage: python -m nexuskit.producers.child REQUEST-JSON [RUN_ID]")
        return 2
    request = ChildRequest(**json.loads(args[0]))
    run_id = args[1] if len(args) == 2 else new_run_id()
    try:
        report = run_reporting(
            KitSettings(),
            lambda: request.produce_options(run_id),
            channel=request.channel,
            stream=None,
            user=getpass.getuser(),
            ttl_minutes=None,
            refresh_margin=DEFAULT_REFRESH_MARGIN_S,
        )
    except NexuskitError as exc:
        _say_error(exc.message, exc.hint)
        return exc.exit_code
    if report is None:
        return EXIT_STOPPED_BEFORE_START
    if report.status == "failed":
        _say_error(report.error or "the run failed")
        return 1
    return 0


# -- the parent's side ----------------------------------------------------------------------
def child_command(request: ChildRequest, run_id: str) -> list[str]:
    """The command line of a producer child (the stack comes from its environment)."""
    return [sys.executable, "-m", CHILD_MODULE, json.dumps(request.as_dict()), run_id]


class ProducerChild:
    """One producer run in a child process; :meth:`counters` is cheap and thread-safe."""

    def __init__(self, settings: KitSettings, request: ChildRequest, run_id: str | None = None) -> None:
        self.request = request
        self.settings = settings
        self.run_id = run_id or new_run_id()
        self.argv = child_command(request, self.run_id)
        self.state = "starting"
        self.error: str | None = None
        self.latest: dict[str, Any] = {}
        self.report: dict[str, Any] | None = None
        self.stop_requested = False
        self.process: subprocess.Popen[str] | None = None
        self._stderr: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name=f"producer-{self.run_id}", daemon=True)

    def start(self) -> ProducerChild:
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (the reader thread closes it)
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=settings_environment(self.settings),
                text=True,
                bufsize=1,
            )
        except OSError:
            stderr.close()
            raise
        self._stderr = stderr
        self._reader.start()
        return self

    # -- the child's lines ----------------------------------------------------------------
    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.process.stdout as lines:
            for line in lines:
                event = parse_line(line)
                if event is not None:
                    self._take(event)
        code = self.process.wait()
        self._ended(code)

    def _take(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        with self._lock:
            if kind == "started":
                self.state = "running"
            elif kind == "progress":
                self.latest = event
            elif kind == "report":
                self.report = event
                self.state = STATES.get(str(event.get("status")), str(event.get("status")))
                self.error = event.get("error")
            elif kind == "error":
                hint = event.get("hint")
                self.error = str(event.get("message")) + (f" (hint: {hint})" if hint else "")

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        with self._stderr as err:
            err.seek(0)
            text = err.read().decode("utf-8", "replace").strip()
        return text[-STDERR_TAIL_CHARS:]

    def _ended(self, code: int) -> None:
        tail = self._stderr_tail()
        with self._lock:
            if self.report is not None:
                return
            if self.stop_requested:
                self.state = "stopped"
            else:
                self.state = "failed"
                if self.error is None:
                    last = tail.splitlines()[-1] if tail else ""
                    self.error = f"the producer exited with code {code}" + (f": {last}" if last else "")

    # -- control --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Ask the child to stop (SIGINT: like Ctrl-C; asked twice, it also gives up retries)."""
        self.stop_requested = True
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGINT)

    def join(self, timeout: float | None = None) -> None:
        self._reader.join(timeout)

    @property
    def proof_ready(self) -> bool:
        """The run ended with a report, so its run record holds what the proof needs."""
        return self.report is not None

    def counters(self) -> dict[str, Any]:
        """``state``, ``error``, ``sent``, ``throttled``, ``retried``, ``failed``, ``rate``,
        ``planned``, ``made``, and ``proof_ready``."""
        with self._lock:
            doc: dict[str, Any] = {"state": self.state, "error": self.error, "proof_ready": self.proof_ready}
            for key in ("sent", "throttled", "retried", "failed", "rate", "planned", "made"):
                if key in self.latest:
                    doc[key] = self.latest[key]
            if self.report is not None:
                for key in ("sent", "throttled", "retried", "failed", "planned", "made"):
                    if key in self.report:
                        doc[key] = self.report[key]
                doc["rate"] = self.report.get("achieved_rate")
        return doc


class ProducerChildren:
    """The producer children of one stack: start them, stop them all, prove a run's delivery."""

    def __init__(self, settings: KitSettings) -> None:
        self.settings = settings
        self.runs: dict[str, ProducerChild] = {}

    def start(self, request: ChildRequest) -> ProducerChild:
        run = ProducerChild(self.settings, request).start()
        self.runs[run.run_id] = run
        return run

    def stop_all(self) -> None:
        """Stop every run still going (e.g. its watcher is closing); does not wait for them."""
        for run in self.runs.values():
            if run.running:
                run.stop()

    def proof(self, run_id: str, wait: float = PROOF_WAIT_S) -> dict[str, Any]:
        """``sent``, ``delivered``, ``missing``, ``duplicated`` of a finished run."""
        from nexuskit.producers.stack import verify_for_stack

        return dict(verify_for_stack(self.settings, run_id, wait=wait).as_dict())


if __name__ == "__main__":
    sys.exit(main())
