"""What the Producers screen needs from ``nexuskit.producers``: runs in child processes.

Each run started here is ``nexuskit produce ... --progress jsonl`` in a process of its own
(:func:`produce_command`), so the records, the signing and the HTTP calls never compete
with the dashboard for its interpreter. A thread per run only parses the child's lines
(:mod:`nexuskit.producers.progress`: ``started``, ``progress`` once a second, ``report``
last, ``error``) into counters that the screen reads every second. Stopping a run sends
the child SIGINT: it stops like Ctrl-C, sends what it has in hand and writes its report
line and its run record — what the delivery proof
(:func:`~nexuskit.producers.verify_for_stack`, ``nexuskit produce verify``) reads.

``nexuskit.producers`` is imported lazily; while it (or a function used here) is missing,
every call raises :class:`~tui.core_gaps.CoreNotAvailableError` with the precise reason.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from typing import IO, Any

from nexuskit.config import KitSettings
from tui.core_gaps import CoreNotAvailableError, core_function, core_module

log = logging.getLogger(__name__)

MODULE = "nexuskit.producers"
PROOF_WAIT_S = 20.0
#: the report's ``status`` -> what the panel shows
STATES = {"finished": "done", "interrupted": "stopped", "failed": "failed"}
FINISHED = frozenset({"done", "stopped", "failed"})
#: stderr kept for the message of a child that ended without a report
STDERR_TAIL_CHARS = 2000

__all__ = ["FINISHED", "CoreNotAvailableError", "ProducerOptions", "ProducerRun", "ProducerRuns"]


@dataclass
class ProducerOptions:
    """The form of the Producers screen (the options of ``nexuskit produce``)."""

    channel: str = "client"
    template: str = "telemetry"
    rate: float = 100.0
    mode: str = "constant"
    duration_s: float | None = 30.0
    seed: int | None = None
    anomaly_rate: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def title(self) -> str:
        duration = f"{self.duration_s:g}s" if self.duration_s else "until stopped"
        return f"{self.channel} · {self.template} · {self.rate:g}/s {self.mode} · {duration}"


def produce_command(options: ProducerOptions, run_id: str) -> list[str]:
    """The ``nexuskit produce`` command line of a run (the stack comes from the environment)."""
    argv = [sys.executable, "-m", "nexuskit.cli", "produce", "--progress", "jsonl", "--run-id", run_id]
    argv += ["--channel", options.channel, "--template", options.template, "--mode", options.mode]
    argv += ["--rate", f"{options.rate:g}/s", "--anomaly-rate", f"{options.anomaly_rate:g}"]
    if options.duration_s:
        argv += ["--duration", f"{options.duration_s:g}s"]
    else:  # until stopped
        argv += ["--count", str(10**9)]
    if options.seed is not None:
        argv += ["--seed", str(options.seed)]
    return argv


def stack_environment(settings: KitSettings) -> dict[str, str]:
    """This process's environment with ``settings`` as ``NEXUSKIT_*`` variables (for a child)."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        key = f"NEXUSKIT_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    env["NEXUSKIT_STATE_DIR"] = str(settings.resolved_state_dir())
    return env


class ProducerRun:
    """One ``nexuskit produce`` child process; ``counters()`` is cheap and thread-safe."""

    def __init__(self, settings: KitSettings, options: ProducerOptions) -> None:
        self.options = options
        self.settings = settings
        self.run_id = str(core_function(core_module(f"{MODULE}.runs"), "new_run_id")())
        self.argv = produce_command(options, self.run_id)
        self.state = "starting"
        self.error: str | None = None
        self.latest: dict[str, Any] = {}
        self.report: dict[str, Any] | None = None
        self.stop_requested = False
        self.process: subprocess.Popen[str] | None = None
        self._stderr: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name=f"tui-producer-{self.run_id}", daemon=True)

    def start(self) -> ProducerRun:
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (the reader thread closes it)
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=stack_environment(self.settings),
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
        from nexuskit.producers.progress import parse_line

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


class ProducerRuns:
    """Start, watch, stop and prove producer runs of one stack."""

    def __init__(self, settings: KitSettings) -> None:
        self.settings = settings
        self.runs: dict[str, ProducerRun] = {}

    def check(self) -> None:
        """Raise CoreNotAvailableError unless every function the screen uses exists."""
        module = core_module(MODULE)
        core_function(module, "verify_for_stack")
        core_function(core_module(f"{MODULE}.runs"), "new_run_id")
        core_function(core_module(f"{MODULE}.progress"), "parse_line")

    def templates(self) -> list[str]:
        module = core_module(MODULE)
        try:
            return [str(t["name"]) for t in core_function(module, "list_templates")()]
        except CoreNotAvailableError:
            return ["telemetry", "event", "sensor"]

    def start(self, options: ProducerOptions) -> ProducerRun:
        run = ProducerRun(self.settings, options).start()
        self.runs[run.run_id] = run
        return run

    def stop_all(self) -> None:
        """Stop every run still going (the dashboard is closing); does not wait for them."""
        for run in self.runs.values():
            if run.running:
                run.stop()

    def proof(self, run_id: str, wait: float = PROOF_WAIT_S) -> dict[str, Any]:
        """``sent``, ``delivered``, ``missing``, ``duplicated`` of a finished run."""
        verify = core_function(core_module(MODULE), "verify_for_stack")
        return dict(verify(self.settings, run_id, wait=wait).as_dict())
