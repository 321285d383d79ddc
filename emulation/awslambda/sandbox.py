"""One Lambda execution environment: a warm worker subprocess running ``bootstrap.py``.

A :class:`Sandbox` starts the process with the function's environment, waits for the init
phase, and then runs one invocation at a time over two pipes (JSON lines). The process's
stdout and stderr share a third pipe that a reader thread drains continuously, cutting it
into per-invocation chunks at the sentinels the bootstrap writes. A timeout kills the
process (SIGKILL); the sandbox is then dead and the pool starts a new one next time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulation.awslambda.bootstrap import SENTINEL, SENTINEL_END

log = logging.getLogger(__name__)

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
INIT_TIMEOUT_S = 10.0  # AWS's limit for the init phase
OUTPUT_GRACE_S = 2.0  # how long to wait for an invocation's output after its answer
EOF = "\x00eof"


class SandboxDiedError(Exception):
    """The worker process exited (or broke the protocol) during a phase."""

    def __init__(self, message: str, exit_code: int | None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class SandboxTimeoutError(Exception):
    """The phase did not finish before its deadline; the process was killed."""


@dataclass
class PhaseResult:
    """What one phase (init or invoke) produced."""

    message: dict[str, Any]
    output: str
    duration_ms: float


@dataclass
class Sandbox:
    """A worker process for one function configuration (see :meth:`start`)."""

    fingerprint: tuple[Any, ...]
    env: dict[str, str]
    code_dir: Path
    log_stream: str
    credentials_expire_at: float
    proc: subprocess.Popen[bytes] | None = None
    busy: bool = False
    retired: bool = False
    invocations: int = 0
    last_used: float = field(default_factory=time.monotonic)
    init_ms: float = 0.0
    _ctl_in: int = -1  # we write requests here
    _ctl_out: int = -1  # we read answers here
    _answers: bytearray = field(default_factory=bytearray)
    _chunks: queue.Queue[tuple[str, bytes]] = field(default_factory=queue.Queue)
    _reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> PhaseResult:
        """Start the process and run the init phase (import of the handler).

        Returns the init phase's result: ``message["type"]`` is ``ready`` or ``init_error``.
        Raises SandboxDiedError/SandboxTimeoutError when the process did not get that far.
        """
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(BOOTSTRAP), str(req_r), str(ans_w)],
                cwd=self.code_dir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out_w,
                stderr=out_w,
                pass_fds=(req_r, ans_w),
                start_new_session=True,
                close_fds=True,
            )
        except OSError:
            for fd in (req_w, ans_r, out_r):
                os.close(fd)
            raise
        finally:
            for fd in (req_r, ans_w, out_w):
                os.close(fd)
        self._ctl_in, self._ctl_out = req_w, ans_r
        self._reader = threading.Thread(
            target=self._read_output, args=(out_r,), name=f"lambda-out-{self.proc.pid}", daemon=True
        )
        self._reader.start()
        started = time.perf_counter()
        message = self._await_answer(time.monotonic() + INIT_TIMEOUT_S)
        output = self._take_output("init")
        self.init_ms = float(message.get("init_ms", (time.perf_counter() - started) * 1000))
        return PhaseResult(message, output, self.init_ms)

    def invoke(self, request: dict[str, Any], deadline: float) -> PhaseResult:
        """Run one invocation; ``deadline`` is a ``time.monotonic()`` value."""
        started = time.perf_counter()
        line = json.dumps(request).encode("utf-8") + b"\n"
        try:
            _write_all(self._ctl_in, line)
        except OSError as exc:
            raise SandboxDiedError(f"the runtime is gone ({exc})", self._exit_code()) from None
        message = self._await_answer(deadline)
        output = self._take_output(str(request["id"]))
        self.invocations += 1
        self.last_used = time.monotonic()
        return PhaseResult(message, output, (time.perf_counter() - started) * 1000)

    def kill(self) -> str:
        """Kill the process; returns the output it wrote that nobody collected yet."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        for fd in (self._ctl_in, self._ctl_out):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._ctl_in = self._ctl_out = -1
        leftover = b""
        if self._reader is not None:
            self._reader.join(5)
            while True:
                try:
                    _, chunk = self._chunks.get_nowait()
                except queue.Empty:
                    break
                leftover += chunk
        return leftover.decode("utf-8", "replace")

    # -- plumbing -------------------------------------------------------------------------
    def _exit_code(self) -> int | None:
        if self.proc is None:
            return None
        try:
            return self.proc.wait(1)
        except subprocess.TimeoutExpired:
            return None

    def _await_answer(self, deadline: float) -> dict[str, Any]:
        while b"\n" not in self._answers:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxTimeoutError()
            readable, _, _ = select.select([self._ctl_out], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(self._ctl_out, 1 << 16)
            if not chunk:
                raise SandboxDiedError("the runtime exited", self._exit_code())
            self._answers += chunk
        line, _, rest = bytes(self._answers).partition(b"\n")
        self._answers = bytearray(rest)
        try:
            message: dict[str, Any] = json.loads(line)
        except ValueError:
            raise SandboxDiedError("the runtime sent an unreadable answer", None) from None
        return message

    def _take_output(self, phase_id: str) -> str:
        """The output of one phase (waits briefly for the reader to reach its sentinel)."""
        collected = b""
        deadline = time.monotonic() + OUTPUT_GRACE_S
        while True:
            try:
                chunk_id, chunk = self._chunks.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return collected.decode("utf-8", "replace")
            collected += chunk
            if chunk_id in (phase_id, EOF):
                return collected.decode("utf-8", "replace")

    def _read_output(self, fd: int) -> None:
        buffer = bytearray()
        try:
            while True:
                try:
                    chunk = os.read(fd, 1 << 16)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                buffer += chunk
                while True:
                    start = buffer.find(SENTINEL)
                    if start < 0:
                        break
                    end = buffer.find(SENTINEL_END, start + len(SENTINEL))
                    if end < 0:
                        break
                    phase_id = bytes(buffer[start + len(SENTINEL) : end]).decode("ascii", "replace")
                    self._chunks.put((phase_id, bytes(buffer[:start])))
                    del buffer[: end + len(SENTINEL_END)]
        finally:
            os.close(fd)
            self._chunks.put((EOF, bytes(buffer)))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
