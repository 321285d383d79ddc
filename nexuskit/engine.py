"""The embedded engine as a background daemon: start, stop, health, credentials.

The engine (``python -m emulation``) runs detached in its own session, bound to
127.0.0.1. Its files live in the state dir (0700; every file in it 0600): ``engine.pid``,
``engine.json`` (how it was started), ``logs/engine.log``, ``credentials.json`` (the
bootstrap admin identity), ``engine-token`` (the engine's bearer token for its admin API,
written by the engine) and ``state/`` (persisted AWS state).

The engine's own API (``/_nexus/health``, ``/_nexus/snapshot``, ``/_nexus/reset``) answers
the admin only: :meth:`EmbeddedEngine.admin_request` signs with the admin keys (SigV4).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import secrets
import shutil
import socket
import string
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.daemon import live_pid, spawn_detached, terminate
from nexuskit.errors import EngineError, PortInUseError

log = logging.getLogger(__name__)

EXIT_PORT_IN_USE = 3  # emulation.server's exit code for a busy port
ENGINE_TOKEN_FILE = "engine-token"  # written by the engine into its state dir (0600)
STATE_MARKER = ".nexuskit-state"  # marks a folder nexuskit may wipe with --purge
STOP_RECORD = "engine-stopped.json"  # emulation.server's record of how its last stop ended


@dataclass(frozen=True)
class StopReport:
    """How ``nexuskit down`` found and left the engine."""

    stopped: bool  # False: none was running
    forced: bool = False  # killed after the timeout, in the middle of its final snapshot
    final_snapshot: str | None = None  # the engine's word: "written", "failed: ...", "not persisting"
    seconds: float = 0.0

    @property
    def state_kept(self) -> bool:
        """True only when the engine said it wrote its final snapshot."""
        return self.final_snapshot == "written"

    def as_dict(self) -> dict[str, Any]:
        return {
            "stopped": self.stopped,
            "forced": self.forced,
            "final_snapshot": self.final_snapshot,
            "state_kept": self.state_kept,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class AdminCredentials:
    """The bootstrap identity nexuskit itself uses (an administrator)."""

    access_key_id: str
    secret_access_key: str


def _random_key(prefix: str, length: int, alphabet: str) -> str:
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


#: the scope admin requests to the engine's own API are signed for (any scope is accepted)
ADMIN_SIGNING_SCOPE = ("nexuskit", "us-east-1")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (0600), replacing it atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def admin_call(
    endpoint: str,
    credentials: AdminCredentials | None,
    method: str,
    path: str,
    body: Any = None,
    timeout: float = 10.0,
    token: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """One request to the engine's own API as its admin: with the engine's bearer
    ``token`` when given, else SigV4-signed with the admin keys (unsigned without either);
    returns (status, JSON document). Raises OSError when nothing answers."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = b"" if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = AWSRequest(method=method, url=endpoint.rstrip("/") + path, data=data, headers=headers)
    if token:
        request.headers["Authorization"] = f"Bearer {token}"
    elif credentials is not None:
        service, region = ADMIN_SIGNING_SCOPE
        creds = Credentials(credentials.access_key_id, credentials.secret_access_key)
        SigV4Auth(creds, service, region).add_auth(request)
    prepared = request.prepare()
    outgoing = urllib.request.Request(
        prepared.url, data=data or None, headers=dict(prepared.headers.items()), method=method
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        doc = json.loads(raw) if raw else {}
    except ValueError:
        doc = {"message": raw.decode("utf-8", "replace")}
    return status, doc if isinstance(doc, dict) else {"document": doc}


#: the control plane puts a stack's Services at engine port + 100 .. + 119
SERVICE_PORT_SPAN = range(100, 120)


#: where :func:`free_stack_port` picks engine ports, as ``LOW-HIGH`` (20000-32000 unless set);
#: a test runner gives each of its workers a range of its own, so that a port one worker's
#: engine frees while it restarts is not picked by another's
PORT_RANGE_ENV = "NEXUSKIT_PORT_RANGE"
DEFAULT_PORT_RANGE = (20000, 32000)


def free_stack_port(low: int | None = None, high: int | None = None, attempts: int = 500) -> int:
    """A free engine port whose Service ports (port + 100..119) are free too, all of them
    between ``low`` and ``high`` (default: :data:`PORT_RANGE_ENV`, else 20000-32000).

    Ports come from below the kernel's ephemeral range (32768+), where clients and pods
    get their own ports, so a port picked here is not taken a moment later. For tests,
    benchmarks and scripts that run several stacks side by side.
    """
    if low is None or high is None:
        low, high = port_range()
    top = high - SERVICE_PORT_SPAN.stop + 1  # the block's last Service port is below high
    if top <= low:
        raise EngineError(f"ports {low}-{high} leave no room for an engine and its Service ports")
    rng = random.Random()
    for _ in range(attempts):
        port = rng.randrange(low, top)
        if all(port_is_free(p) for p in (port, *(port + d for d in SERVICE_PORT_SPAN))):
            return port
    raise EngineError(f"no free block of ports between {low} and {high}")


def port_range() -> tuple[int, int]:
    """``$NEXUSKIT_PORT_RANGE`` as (low, high), or the default; a bad value is an error."""
    raw = os.environ.get(PORT_RANGE_ENV, "").strip()
    if not raw:
        return DEFAULT_PORT_RANGE
    low_text, sep, high_text = raw.partition("-")
    try:
        low, high = int(low_text), int(high_text)
    except ValueError:
        low, high = 0, 0
    if not sep or not 1024 <= low < high <= 65535:
        raise EngineError(f"{PORT_RANGE_ENV}={raw!r} is not a port range such as 20000-32000")
    return low, high


class EmbeddedEngine:
    """Controls one engine daemon identified by its state dir and port."""

    def __init__(self, settings: KitSettings) -> None:
        self.settings = settings
        self.state_dir = settings.resolved_state_dir()
        self.pid_file = self.state_dir / "engine.pid"
        self.info_file = self.state_dir / "engine.json"
        self.log_file = self.state_dir / "logs" / "engine.log"
        self.credentials_file = self.state_dir / "credentials.json"

    @property
    def endpoint(self) -> str:
        return self.settings.endpoint

    # -- identity -------------------------------------------------------------------------
    def ensure_state_dir(self) -> None:
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)
        marker = self.state_dir / STATE_MARKER
        if not marker.exists():
            marker.write_text("This folder holds a nexuskit stack's state; see `nexuskit down --purge`.\n")

    def credentials(self) -> AdminCredentials:
        """The admin keys of this stack, created on first use and kept in the state dir."""
        if self.credentials_file.exists():
            data = json.loads(self.credentials_file.read_text())
            return AdminCredentials(data["access_key_id"], data["secret_access_key"])
        self.ensure_state_dir()
        creds = AdminCredentials(
            access_key_id=_random_key("AKIA", 16, string.ascii_uppercase + string.digits),
            secret_access_key=_random_key("", 40, string.ascii_letters + string.digits + "+/"),
        )
        write_private(self.credentials_file, json.dumps(creds.__dict__, indent=2))
        return creds

    def existing_credentials(self) -> AdminCredentials | None:
        """The admin keys when the state dir has them (never creates any)."""
        try:
            data = json.loads(self.credentials_file.read_text())
            return AdminCredentials(data["access_key_id"], data["secret_access_key"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def admin_request(
        self, method: str, path: str, body: Any = None, timeout: float = 10.0
    ) -> tuple[int, dict[str, Any]]:
        """A request to the engine's own API (``/_nexus/...``) as the stack's admin.

        With the engine's own token (``engine-token``, which the engine writes into the state
        dir it runs on) when there is one, else signed with the admin keys of
        ``credentials.json`` (SigV4); returns the status and the JSON answer. Raises OSError
        when no engine answers.
        """
        try:
            token = (self.state_dir / ENGINE_TOKEN_FILE).read_text().strip() or None
        except OSError:
            token = None
        return admin_call(self.endpoint, self.existing_credentials(), method, path, body, timeout, token)

    def target(self, region: str) -> AwsTarget:
        creds = self.credentials()
        return AwsTarget(
            region=region,
            access_key_id=creds.access_key_id,
            secret_access_key=creds.secret_access_key,
            endpoint_url=self.endpoint,
        )

    # -- process --------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The engine's pid when it is alive and really our engine, else None."""
        return live_pid(self.pid_file, lambda cmdline: "emulation" in " ".join(cmdline))

    def health(self, timeout: float = 2.0) -> dict[str, Any] | None:
        """The engine's full ``/_nexus/health`` document (asked as the admin), or None when
        it does not answer or does not take this stack's admin keys."""
        try:
            status, doc = self.admin_request("GET", "/_nexus/health", timeout=timeout)
        except (urllib.error.URLError, OSError, ValueError):
            return None
        return doc if status == 200 else None

    def is_running(self) -> bool:
        return self.pid() is not None and self.health() is not None

    def start(self, while_starting: Callable[[], None] | None = None) -> dict[str, Any]:
        """Start the daemon and wait until it answers; raises EngineError/PortInUseError.

        ``while_starting`` runs once the daemon has been spawned and before waiting for it
        (the engine takes about half a second to boot: callers import and prepare their
        clients meanwhile). It also runs when the engine was already up.

        Two starts of one state dir at once (two shells running ``up``) take turns on
        ``<state>/engine.start.lock``: the second finds the first one's engine and uses it.
        """
        with self.turn("engine.start"):
            return self._start(while_starting)

    @contextlib.contextmanager
    def turn(self, name: str) -> Iterator[None]:
        """Hold ``<state>/<name>.lock`` (an exclusive ``flock``): processes working on this
        state dir under the same name take turns; the lock goes with the process."""
        import fcntl

        self.ensure_state_dir()
        path = self.state_dir / f"{name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # the owner's alone, as every stack file
        try:
            os.fchmod(fd, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _start(self, while_starting: Callable[[], None] | None) -> dict[str, Any]:
        pid = self.pid()
        if pid is not None:
            # Another `up` may have just spawned it (two shells at once): give it the time a
            # start takes before calling it stuck.
            health = self.health()
            deadline = time.monotonic() + self.settings.start_timeout
            while health is None and time.monotonic() < deadline and self.pid() == pid:
                time.sleep(0.1)
                health = self.health()
            if health is not None:
                if while_starting is not None:
                    while_starting()
                return health
            if self.pid() is not None:
                raise EngineError(
                    f"an engine process (pid {pid}) owns {self.state_dir} but has not answered on "
                    f"port {self.settings.port} for {self.settings.start_timeout:.0f} s",
                    f"see {self.log_file}; if it is stuck, `nexuskit down` stops it (state is kept)",
                )
            # it exited meanwhile: start afresh below
        port = self.settings.port
        if not port_is_free(port):
            raise PortInUseError(
                f"port {port} is already in use by another process",
                "stop it, or choose another port with --port / NEXUSKIT_PORT",
            )
        self.ensure_state_dir()
        self.log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        creds = self.credentials()
        cmd = [
            sys.executable,
            "-m",
            "emulation",
            "--port",
            str(port),
            "--state-dir",
            str(self.state_dir),
            "--firehose-buffering",
            self.settings.firehose_buffering,
            "--kinesis-limits",
            self.settings.kinesis_limits,
            "--iam",
            self.settings.iam,
            # import the platform's services whenever the engine is quiet (the requests of
            # `up`'s provisioning import what they use first)
            "--warm-up",
            "platform",
            *(["--moto-api"] if self.settings.moto_api else []),
        ]
        env = dict(os.environ)
        env["NEXUSKIT_ADMIN_ACCESS_KEY"] = creds.access_key_id
        env["NEXUSKIT_ADMIN_SECRET_KEY"] = creds.secret_access_key
        for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            env.pop(var, None)
        # glibc gives each thread that allocates its own arena (up to 8 per core); the
        # engine's request threads would each keep freed memory in theirs.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.chmod(self.log_file, 0o600)
        with os.fdopen(fd, "ab") as log_fh:
            proc = spawn_detached(cmd, log_fh, env)
        write_private(self.pid_file, str(proc.pid))
        write_private(
            self.info_file,
            json.dumps({"pid": proc.pid, "port": port, "endpoint": self.endpoint, "command": cmd}, indent=2),
        )
        if while_starting is not None:
            try:
                while_starting()
            except BaseException:
                self.stop()
                raise
        deadline = time.monotonic() + self.settings.start_timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                self.pid_file.unlink(missing_ok=True)
                if code == EXIT_PORT_IN_USE:
                    raise PortInUseError(
                        f"port {port} is already in use by another process",
                        "stop it, or choose another port with --port / NEXUSKIT_PORT",
                    )
                raise EngineError(
                    f"the engine exited with code {code} while starting",
                    f"see {self.log_file}: {self._log_tail()}",
                )
            health = self.health(timeout=0.5)
            if health is not None:
                return health
            time.sleep(0.02)  # a refused connection answers at once: `up` waits on this
        self.stop()
        raise EngineError(
            f"the engine did not answer on port {port} within {self.settings.start_timeout:.0f} s",
            f"see {self.log_file}",
        )

    def _log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log_file.read_text(errors="replace").strip().splitlines()
        except FileNotFoundError:
            return "(no log)"
        return " | ".join(text[-lines:])

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop the daemon (SIGTERM, then SIGKILL); False when none was running."""
        return self.stop_report(timeout).stopped

    def stop_report(
        self, timeout: float = 120.0, waiting: Callable[[float], None] | None = None
    ) -> StopReport:
        """Stop the daemon and say how: SIGTERM, then wait for its final snapshot.

        ``waiting(seconds)`` is called about every 2 s while the engine is still writing.
        After ``timeout`` seconds it is killed (SIGKILL), and the report says the final
        snapshot did not finish; otherwise the engine's own stop record says whether it
        was written (:data:`STOP_RECORD`).
        """
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return StopReport(stopped=False)
        record = self.state_dir / STOP_RECORD
        record.unlink(missing_ok=True)
        started = time.monotonic()
        forced = terminate(pid, timeout, "engine", waiting)
        self.pid_file.unlink(missing_ok=True)
        final = None
        if not forced:
            try:
                final = str(json.loads(record.read_text(encoding="utf-8")).get("final_snapshot"))
            except (OSError, ValueError, AttributeError):
                final = None  # the engine died without writing it (a crash, a kill by someone else)
        return StopReport(
            stopped=True, forced=forced, final_snapshot=final, seconds=time.monotonic() - started
        )

    def purge(self) -> None:
        """Remove every persisted state, log and key of this stack (engine must be down)."""
        if self.pid() is not None:
            raise EngineError("the engine is running", "run `nexuskit down` first")
        if not self.state_dir.exists():
            return
        if not (self.state_dir / STATE_MARKER).exists():
            raise EngineError(
                f"{self.state_dir} was not created by nexuskit; refusing to wipe it",
                "remove it by hand, or point --state-dir at a nexuskit state dir",
            )
        for path in self.state_dir.iterdir():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
