"""Test support: real engine processes on free ports, with their own state dirs."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from nexuskit.aws import AwsTarget
from nexuskit.engine import PORT_RANGE_ENV, AdminCredentials, admin_call, free_stack_port
from tests.forked_emulation import ForkedEngine, spawn_engine

REGION = "us-west-2"
ADMIN_KEY = "AKIANEXUSTESTADMIN01"
ADMIN_SECRET = "nexus-test-admin-secret-key-0000000000000"


def python_probe(code: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> Any:
    """The JSON that ``code`` prints last, run by a fresh interpreter with ``args``."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    """A free engine port below the ephemeral range whose Service ports are free too."""
    return free_stack_port()


def engine_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The environment a test engine runs with: ``base`` with the admin keys, without an
    endpoint or the worker's port range (its port is given; the range is set per worker
    after :data:`USUAL_ENGINE_ENVIRONMENT` was taken, and would keep engines from forking)."""
    env = {key: value for key, value in base.items() if key not in {"AWS_ENDPOINT_URL", PORT_RANGE_ENV}}
    env["NEXUSKIT_ADMIN_ACCESS_KEY"] = ADMIN_KEY
    env["NEXUSKIT_ADMIN_SECRET_KEY"] = ADMIN_SECRET
    return env


#: what an engine's environment is unless a test changed the process's (taken as the suite's
#: modules are imported, before any test runs): the fork server is started with this one
USUAL_ENGINE_ENVIRONMENT = engine_environment(os.environ)


class EngineProcess:
    """``python -m emulation`` in a subprocess, as the daemon runs it (forked from a process
    that has imported the engine already: :mod:`tests.forked_emulation`)."""

    def __init__(self, state_dir: Path, *args: str, port: int | None = None) -> None:
        self.state_dir = state_dir
        self.args = list(args)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | ForkedEngine | None = None
        self.log_path = state_dir / "engine-test.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> EngineProcess:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = engine_environment(os.environ)
        args = ["--port", str(self.port), "--state-dir", str(self.state_dir), *self.args]
        self.proc = spawn_engine(args, env, self.log_path, usual_env=USUAL_ENGINE_ENVIRONMENT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"engine exited {self.proc.returncode}: {self.log_tail()}")
            health = self.health()
            if health is not None:
                if health.get("pid") != self.proc.pid:  # another engine took the port meanwhile
                    raise RuntimeError(
                        f"port {self.port} is answered by another engine (pid {health.get('pid')}, "
                        f"state {health.get('state_dir')}), not by pid {self.proc.pid}"
                    )
                return self
            time.sleep(0.05)
        raise RuntimeError(f"engine did not start: {self.log_tail()}")

    def admin_request(
        self, method: str, path: str, body: Any = None, timeout: float = 30.0
    ) -> tuple[int, dict[str, Any]]:
        """A request to the engine's own API, signed with the admin keys (SigV4)."""
        return admin_call(
            self.endpoint, AdminCredentials(ADMIN_KEY, ADMIN_SECRET), method, path, body, timeout
        )

    def health(self) -> dict[str, Any] | None:
        """The full ``/_nexus/health`` document (asked as the admin), None when down."""
        try:
            status, doc = self.admin_request("GET", "/_nexus/health", timeout=1)
        except OSError:
            return None
        return doc if status == 200 else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def target(self) -> AwsTarget:
        """The bootstrap admin identity against this engine."""
        return AwsTarget(
            region=REGION,
            access_key_id=ADMIN_KEY,
            secret_access_key=ADMIN_SECRET,
            endpoint_url=self.endpoint,
        )

    def snapshot(self) -> None:
        """Ask the engine to write a snapshot now (as the admin)."""
        status, doc = self.admin_request("POST", "/_nexus/snapshot")
        assert status == 200, doc

    def reset(self) -> None:
        """Wipe the engine's state (``POST /_nexus/reset`` as the admin)."""
        status, doc = self.admin_request("POST", "/_nexus/reset")
        assert status == 200, doc

    def kill9(self) -> None:
        """Crash the engine (SIGKILL): no final snapshot, no cleanup."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def restart(self) -> EngineProcess:
        self.stop()
        return self.start()


# -- raw HTTP, for tests that play a client byte by byte ------------------------------------
@dataclass
class RawResponse:
    """What came back: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    endpoint: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> RawResponse:
    """Send exactly these bytes and headers (nothing added but ``Host`` and the length)."""
    split = urlsplit(endpoint)
    connection = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port or 80, timeout=30)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        data = response.read()
        return RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


def sign_headers(
    target: AwsTarget,
    method: str,
    url: str,
    service: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """The headers botocore's SigV4 signer (S3's for ``s3``) sends with this request."""
    credentials = Credentials(target.access_key_id, target.secret_access_key, target.session_token)
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(credentials, service, REGION).add_auth(request)
    return {"Host": urlsplit(url).netloc, **dict(request.headers.items())}
