"""``down`` stops the control plane with the engine and leaves no process behind."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from nexuskit.config import KitSettings
from nexuskit.controlplane.daemon import RuntimeDaemon
from nexuskit.params import load_stack
from tests.runtime.conftest import nexuskit, port_block, start_stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_down_leaves_no_process_behind(tmp_path: Path) -> None:
    """After down, the engine, the runtime and every pod process are gone (checked by pid)."""
    stack = start_stack(tmp_path / "state")
    try:
        runtime_pid = int((stack.state_dir / "runtime.pid").read_text())
        engine_pid = int((stack.state_dir / "engine.pid").read_text())
        pod_pids = [p["pid"] for p in stack.api.pods()]
        assert len(pod_pids) == 7 and all(pod_pids)
        children = [c.pid for c in psutil.Process(runtime_pid).children(recursive=True)]
        assert set(pod_pids) <= set(children)
    finally:
        result = nexuskit("down", *stack.args)
    assert result.returncode == 0, result.stderr
    leftovers = [pid for pid in [runtime_pid, engine_pid, *pod_pids, *children] if _alive(pid)]
    assert leftovers == []
    assert not (stack.state_dir / "runtime.pid").exists()


DEMO = """\
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  annotations:
    nexuskit.dev/local-command: python -m tests.runtime.lab_pod
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: demo/web:1
          ports: [{containerPort: 8000}]
"""


def test_stop_sweeps_pods_of_a_crashed_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when the runtime died by SIGKILL, stopping it leaves none of its pods running."""
    manifest = tmp_path / "m" / "demo" / "k8s" / "demo.yaml"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(DEMO)
    monkeypatch.setenv("NEXUSKIT_SERVICE_PORT_BASE", str(port_block(2)))
    daemon = RuntimeDaemon(KitSettings(port=1, state_dir=tmp_path / "state"))
    daemon.start(load_stack(), "http://127.0.0.1:1", manifests_dir=manifest.parents[2], timeout=30)
    runtime = psutil.Process(daemon.pid() or 0)
    pod_pids = [c.pid for c in runtime.children()]
    assert len(pod_pids) == 2
    runtime.kill()
    runtime.wait(10)
    daemon.stop()
    assert [pid for pid in pod_pids if _alive(pid)] == []
