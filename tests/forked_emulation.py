"""Engines for the test suite, forked from one process that has already imported the engine.

Every ``python -m emulation`` spends ~0.55 s of CPU importing moto, botocore and werkzeug
before it answers its first request, and the suite starts ~150 engines: over a minute of
CPU on a 2-core machine, where the run is CPU-bound. Each pytest worker starts this module
once (``python -m tests.forked_emulation``); it does what every engine process does before
it builds its server (:func:`emulation.server.prepare_process`) and then forks one child per
engine, which runs :func:`emulation.server.main` with the engine's arguments, environment,
working directory and log file — the same code as ``python -m emulation``, from the same
imported state. Only what every engine imports as it starts is imported before the fork
(and the modules of the extensions an engine may leave out: emulation code that installs
nothing until its factory runs); the services an engine imports lazily stay unimported
until its first request.

:func:`spawn_engine` forks through it when the engine's environment and working directory
are the ones it was started with (module-level settings read the environment at import),
and runs ``python -m emulation`` as a plain subprocess otherwise, or when
``NEXUSKIT_TEST_FORK_ENGINES=0``. :class:`ForkedEngine` answers like the
:class:`subprocess.Popen` it replaces (``pid``, ``poll``, ``wait``, ``send_signal``...);
this process is the children's parent, reaps them and reports their exit codes.

Protocol: one JSON object per line on stdin, one answer per line on stdout. When stdin
closes (the worker ended), children still running get SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any

from tests.processes import end_by_closing_stdin

#: environment variables that differ between tests without changing what an engine imports
VOLATILE_ENV = frozenset({"PYTEST_CURRENT_TEST"})
REPO = Path(__file__).resolve().parents[1]


# -- the client, in the test process ---------------------------------------------------------
class ForkedEngine:
    """The parts of :class:`subprocess.Popen` the tests use, for an engine forked by the server."""

    def __init__(self, server: _ForkServer, pid: int) -> None:
        self._server = server
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._server.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"engine {self.pid}", timeout or 0.0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _ForkServer:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.cwd = os.getcwd()
        self._lock = threading.Lock()
        self.broken = False
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.forked_emulation"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))},
            cwd=self.cwd,
        )

    def serves(self, env: dict[str, str], cwd: str) -> bool:
        if self.broken or self.proc.poll() is not None or cwd != self.cwd:
            return False
        keys = (set(env) | set(self.env)) - VOLATILE_ENV
        return all(env.get(key) == self.env.get(key) for key in keys)

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self._lock:
            if self.broken:
                raise RuntimeError("the engine fork server was shut down after an interrupted call")
            try:
                self.proc.stdin.write(json.dumps(request).encode() + b"\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            except BaseException:
                # Interrupted (a test timeout, say) between a request and its answer: the next
                # answer would be read for the wrong request. Closing stdin makes the server stop
                # its engines and exit; the next engine gets a new server.
                self.broken = True
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()
                raise
        if not line:
            raise RuntimeError(f"the engine fork server exited ({self.proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the engine fork server could not {request['op']}: {answer['error']}")
        return answer

    def spawn(self, args: list[str], env: dict[str, str], log_path: Path) -> ForkedEngine:
        answer = self.call({"op": "spawn", "args": args, "env": env, "log": str(log_path)})
        return ForkedEngine(self, int(answer["pid"]))

    def exit_code(self, pid: int) -> int | None:
        code = self.call({"op": "poll", "pid": pid})["exit_code"]
        return None if code is None else int(code)

    def close(self) -> None:
        end_by_closing_stdin(self.proc)


_server: _ForkServer | None = None
_server_lock = threading.Lock()


def spawn_engine(
    args: list[str], env: dict[str, str], log_path: Path, usual_env: dict[str, str] | None = None
) -> ForkedEngine | subprocess.Popen[bytes]:
    """Start ``python -m emulation *args`` with ``env``, its output appended to ``log_path``.

    The fork server is started with ``usual_env`` (default: ``env``), the environment most
    engines get, not with whichever a test happened to ask for first: a test that changed the
    environment for its engine would otherwise leave every later engine of the worker unforked.
    """
    global _server
    if os.environ.get("NEXUSKIT_TEST_FORK_ENGINES", "1") != "0":
        with _server_lock:
            if _server is None or _server.broken or _server.proc.poll() is not None:
                _server = _ForkServer(usual_env if usual_env is not None else env)
                atexit.register(_server.close)
            server = _server
        if server.serves(env, os.getcwd()):
            return server.spawn(args, env, log_path)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "emulation", *args], stdout=log, stderr=subprocess.STDOUT, env=env
        )


# -- the server ------------------------------------------------------------------------------
def _serve(requests: IO[str], answers: IO[str]) -> None:
    from emulation.core.moto_compat import deferred
    from emulation.extensions import REGISTRY
    from emulation.server import prepare_process

    prepare_process()
    # What a plain engine defers until a request needs it (boto3, moto's mocking
    # machinery...): most test engines need it, so the children share it, loaded once.
    deferred.load_all()
    # Every extension's module too (emulation code and the standard library only: their
    # factories, called in the child, decide what an engine installs).
    for path in REGISTRY.values():
        importlib.import_module(path.partition(":")[0])
    exit_codes: dict[int, int] = {}
    running: set[int] = set()

    def reap() -> None:
        while running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            running.discard(pid)
            exit_codes[pid] = os.waitstatus_to_exitcode(status)

    for line in requests:
        request = json.loads(line)
        try:
            if request["op"] == "spawn":
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    _run_engine(request, requests, answers)  # never returns
                running.add(pid)
                answer: dict[str, Any] = {"pid": pid}
            elif request["op"] == "poll":
                reap()
                answer = {"exit_code": exit_codes.get(request["pid"])}
            else:
                answer = {"error": f"unknown op {request['op']!r}"}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    # The worker has gone: stop what it left running, as its own exit would not have.
    reap()
    for pid in running:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while running and time.monotonic() < deadline:
        time.sleep(0.05)
        reap()
    for pid in running:
        os.kill(pid, signal.SIGKILL)


def _run_engine(request: dict[str, Any], requests: IO[str], answers: IO[str]) -> None:
    """In the forked child: become ``python -m emulation <args>``, then exit."""
    code: int = 1
    try:
        requests.close()
        answers.close()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.environ.clear()
        os.environ.update(request["env"])
        entry_point = importlib.util.find_spec("emulation.__main__")
        sys.argv = [str(entry_point.origin if entry_point else "emulation"), *request["args"]]
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    try:
        _reseed()
        from emulation.server import main

        code = main(request["args"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reseed() -> None:
    """Give the child its own random sequences (``random`` reseeds its own after a fork)."""
    mock_random = getattr(sys.modules.get("moto.moto_api._internal"), "mock_random", None)
    if mock_random is not None:
        mock_random.seed()


if __name__ == "__main__":
    # Answers go to a private copy of stdout; anything printed goes to stderr instead.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    requests = os.fdopen(os.dup(0), "r")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    _serve(requests, answers)
