"""Test support: real engine processes on free ports, with their own state dirs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from nexuskit.aws import AwsTarget
from nexuskit.engine import free_stack_port

REGION = "us-west-2"
ADMIN_KEY = "AKIANEXUSTESTADMIN01"
ADMIN_SECRET = "nexus-test-admin-secret-key-0000000000000"


def free_port() -> int:
    """A free engine port below the ephemeral range whose Service ports are free too."""
    return free_stack_port()


class EngineProcess:
    """``python -m emulation`` in a subprocess, as the daemon runs it."""

    def __init__(self, state_dir: Path, *args: str, port: int | None = None) -> None:
        self.state_dir = state_dir
        self.args = list(args)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = state_dir / "engine-test.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> EngineProcess:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["NEXUSKIT_ADMIN_ACCESS_KEY"] = ADMIN_KEY
        env["NEXUSKIT_ADMIN_SECRET_KEY"] = ADMIN_SECRET
        env.pop("AWS_ENDPOINT_URL", None)
        cmd = [
            sys.executable,
            "-m",
            "emulation",
            "--port",
            str(self.port),
            "--state-dir",
            str(self.state_dir),
            *self.args,
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"engine exited {self.proc.returncode}: {self.log_tail()}")
            if self.health() is not None:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"engine did not start: {self.log_tail()}")

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_nexus/health", timeout=1) as resp:
                data: dict[str, Any] = json.load(resp)
                return data
        except OSError:
            return None

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
        """Ask the engine to write a snapshot now."""
        req = urllib.request.Request(f"{self.endpoint}/_nexus/snapshot", method="POST")
        with urllib.request.urlopen(req, timeout=30):
            pass

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
