"""A stack's background daemons (the engine, the control plane's runtime): spawn, find, stop.

Each daemon runs detached in its own session, its output appended to a log file, its pid
in a pid file of the state dir. :func:`live_pid` reads the pid file and answers only for
a live process that is really that daemon (a reused pid is not); :func:`terminate` stops
one with SIGTERM, and SIGKILL when it does not stop in time.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

import psutil

log = logging.getLogger(__name__)


def spawn_detached(
    cmd: list[str], log_fh: IO[bytes], env: Mapping[str, str], cwd: str | None = None
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own session, stdin closed, stdout and stderr into ``log_fh``."""
    return subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=log_fh,
        stderr=subprocess.STDOUT,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
        close_fds=True,
    )


def live_pid(pid_file: Path, is_ours: Callable[[list[str]], bool]) -> int | None:
    """The pid in ``pid_file`` when that process is alive (not a zombie) and its command
    line is the daemon's (``is_ours(cmdline)``), else None."""
    try:
        pid = int(pid_file.read_text().strip())
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        cmdline = proc.cmdline()
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return pid if is_ours(cmdline) else None


def terminate(pid: int, timeout: float, what: str, waiting: Callable[[float], None] | None = None) -> bool:
    """Stop ``pid``: SIGTERM, wait up to ``timeout`` s, then SIGKILL. True when it was killed.

    ``waiting(seconds)`` is called about every 2 s while the process is still running.
    A process that is already gone counts as stopped.
    """
    started = time.monotonic()
    forced = False
    try:
        os.kill(pid, signal.SIGTERM)
        proc = psutil.Process(pid)
        while True:
            left = timeout - (time.monotonic() - started)
            try:
                proc.wait(max(0.0, min(2.0, left)))
                break
            except psutil.TimeoutExpired:
                if left <= 2.0:
                    log.warning("%s pid %s did not stop in %.0f s; killing it", what, pid, timeout)
                    forced = True
                    proc.kill()
                    proc.wait(5)
                    break
                if waiting is not None:
                    waiting(time.monotonic() - started)
    except psutil.NoSuchProcess:
        pass
    return forced
