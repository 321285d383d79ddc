"""Real control planes for the runtime tests.

* ``stack`` (session): ``nexuskit up --local --iam enforce`` as a user runs it: engine
  (every call checked against the caller's policies), provisioning, and the process
  runtime with the services' rendered manifests.
* ``lab`` (module): ``python -m emulation.runtime`` alone on the manifests in
  ``tests/runtime/lab/`` (no engine), with short back-offs and short-lived projected
  tokens, for probe, crash, dependency, scheduling and service-account token behaviour
  (:func:`start_runtime` starts one on other manifests).

Tests read the runtime through its Kubernetes API with the official client, as its admin
(:class:`RuntimeApi`, which uses ``nexuskit.controlplane``: ``<state>/runtime/api.json``
and ``<state>/runtime/admin-token``), as ``nexuskit`` does.

Service ports come from a free block below the ephemeral range (32768+), where the
engine's own client connections could otherwise hold one of them.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nexuskit.config import KitSettings
from tests.helpers import free_port

LAB_MANIFESTS = Path(__file__).parent / "lab"


def port_block(count: int) -> int:
    """The first of ``count`` consecutive free ports between 20000 and 32000."""
    for _ in range(500):
        base = random.randrange(20000, 32000 - count)
        if all(_bindable(base + i) for i in range(count)):
            return base
    raise RuntimeError("no free port block")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until(check: Callable[[], Any], timeout: float = 15, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def http_get(url: str, timeout: float = 5, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers or {}), timeout=timeout
        ) as resp:
            body = resp.read()
            code = resp.status
    except urllib.error.HTTPError as exc:
        body, code = exc.read(), exc.code
    try:
        return code, json.loads(body)
    except ValueError:
        return code, body.decode(errors="replace")


def http_post(
    url: str, payload: dict[str, Any], timeout: float = 5, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def kube_get(runtime: Lab | Stack, path: str, token: str | None = None) -> tuple[int, Any]:
    """GET on the runtime's Kubernetes API with ``token`` (none: anonymous), verifying its CA."""
    import ssl

    context = ssl.create_default_context(cafile=runtime.api.ca_file)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(runtime.api.kube_url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as resp:
            body, code = resp.read(), resp.status
    except urllib.error.HTTPError as exc:
        body, code = exc.read(), exc.code
    try:
        return code, json.loads(body)
    except ValueError:
        return code, body.decode(errors="replace")


class RuntimeApi:
    """A running runtime: its ``api.json``, its admin token, its Kubernetes API (as the admin)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.settings = KitSettings(port=1, state_dir=state_dir)

    @property
    def token(self) -> str:
        return (self.state_dir / "runtime" / "admin-token").read_text().strip()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state_dir / "runtime" / "api.json").read_text())
        return data

    @property
    def url(self) -> str:
        """The internal channel (health, the issuer's keys)."""
        return str(self.info["api_url"])

    @property
    def kube_url(self) -> str:
        return str(self.info["kube_url"])

    @property
    def ca_file(self) -> str:
        return str(self.info["kube_ca"])

    def core(self) -> Any:
        from nexuskit.controlplane.kube import core

        return core(self.settings)

    def apps(self) -> Any:
        from nexuskit.controlplane.kube import apps

        return apps(self.settings)

    def token_for(self, namespace: str, account: str, audience: str, seconds: int = 600) -> str:
        """A ServiceAccount token from the TokenRequest API (as the admin)."""
        from nexuskit.controlplane.tokens import request_token

        return request_token(self.settings, namespace, account, audience, seconds)[0]

    def pods(self, deployment: str | None = None) -> list[dict[str, Any]]:
        """``nexuskit ps`` entries (plus ``log``: the pod's log file), oldest first."""
        from nexuskit.controlplane.cluster import ps

        pods = [
            {**p, "log": str(self.state_dir / "runtime" / "logs" / p["namespace"] / f"{p['name']}.log")}
            for p in ps(self.settings)
        ]
        return [p for p in pods if deployment is None or p["deployment"] == deployment]

    def deployment(self, namespace: str, name: str) -> dict[str, Any]:
        raw = self.apps().read_namespaced_deployment(name, namespace, _preload_content=False)
        data: dict[str, Any] = json.loads(raw.data)
        return data

    def service_url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.info['services'][key]['80']}"

    def events(self, reason: str | None = None) -> list[dict[str, Any]]:
        from nexuskit.controlplane.cluster import events

        return [e for e in events(self.settings) if reason is None or e["reason"] == reason]

    def kubectl(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The real kubectl against this runtime (its own kubeconfig and discovery cache)."""
        from nexuskit.controlplane.kubeconfig import kubeconfig_path, write_kubeconfig

        path = kubeconfig_path(self.settings)
        if not path.exists():
            write_kubeconfig(self.settings, self.info)
        env = {**os.environ, "KUBECONFIG": str(path), "KUBECACHEDIR": str(self.state_dir / "kube-cache")}
        return subprocess.run(
            ["kubectl", *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
        )


def nexuskit(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it (a real subprocess)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "nexuskit.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )


@dataclass
class Stack:
    port: int
    state_dir: Path
    service_base: int
    up_report: dict[str, Any]

    @property
    def args(self) -> list[str]:
        return ["--port", str(self.port), "--state-dir", str(self.state_dir)]

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return nexuskit(*args, *self.args, timeout=timeout)

    @property
    def api(self) -> RuntimeApi:
        return RuntimeApi(self.state_dir)

    @property
    def engine(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_stack(state_dir: Path, *extra: str) -> Stack:
    port = free_port()
    base = port_block(8)
    result = nexuskit(
        "up", "--local", "--json", "--port", str(port), "--state-dir", str(state_dir), *extra,
        env={"NEXUSKIT_SERVICE_PORT_BASE": str(base)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    return Stack(port, state_dir, base, json.loads(result.stdout))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One real stack, IAM enforced, shared by the runtime tests (tests that change it put it back)."""
    running = start_stack(tmp_path_factory.mktemp("runtime-stack"), "--iam", "enforce")
    yield running
    nexuskit("down", *running.args)


@dataclass
class Lab:
    """``python -m emulation.runtime`` on the lab manifests, without an engine."""

    proc: subprocess.Popen[bytes]
    state_dir: Path
    base: int

    @property
    def api(self) -> RuntimeApi:
        return RuntimeApi(self.state_dir)

    def pod_url(self, pod: dict[str, Any], path: str = "/") -> str:
        return f"http://127.0.0.1:{pod['port']}{path}"


def start_runtime(state_dir: Path, manifests: Path, *extra: str) -> Lab:
    """``python -m emulation.runtime`` on ``manifests`` (no engine), once its API answers.

    Its pid goes to ``<state>/runtime.pid`` as ``nexuskit up`` writes it, so
    ``nexuskit.controlplane`` functions find it with ``KitSettings(state_dir=...)``.
    """
    base = port_block(4)
    cmd = [
        sys.executable, "-m", "emulation.runtime", "--state-dir", str(state_dir),
        "--manifests", str(manifests), "--service-port-base", str(base),
        "--workdir", str(Path(__file__).resolve().parents[2]),
        "--backoff-base", "0.5", "--backoff-max", "2",
        "--nodes", json.dumps([{"name": "general", "labels": {"role": "general"}}]), *extra,
    ]  # fmt: skip
    with open(state_dir / "runtime.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (state_dir / "runtime.pid").write_text(str(proc.pid))
    running = Lab(proc, state_dir, base)
    try:
        wait_until(
            lambda: (state_dir / "runtime" / "api.json").exists() or proc.poll() is not None,
            20,
            "runtime API",
        )
        assert proc.poll() is None, (state_dir / "runtime.log").read_text()
    except BaseException:
        stop_runtime(running)
        raise
    return running


def stop_runtime(running: Lab) -> None:
    running.proc.send_signal(signal.SIGTERM)
    try:
        running.proc.wait(20)
    except subprocess.TimeoutExpired:
        running.proc.kill()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    running = start_runtime(tmp_path_factory.mktemp("lab"), LAB_MANIFESTS, "--min-token-seconds", "5")
    try:
        yield running
    finally:
        stop_runtime(running)
