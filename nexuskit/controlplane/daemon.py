"""The process runtime as a background daemon, like the engine: start, stop, health.

``python -m emulation.runtime`` runs detached in its own session. Its files in the state
dir: ``runtime.pid``, ``logs/runtime.log`` (its own log), ``manifests/`` (the rendered
manifests it runs), ``runtime/api.json`` (the Kubernetes API's URL and CA, the internal
channel's URL and Service ports, written by the daemon once it listens),
``runtime/admin-token`` (the admin bearer token, 0600, new at every start),
``runtime/ca.crt`` (the Kubernetes API's CA, kept), ``kubeconfig`` (written here once the
API listens), ``runtime/logs/<ns>/<pod>.log``, ``runtime/pods/`` (pod folders: mounted
ConfigMaps, emptyDirs, tokens) and ``runtime/processes.json`` (pod pids, swept by
:meth:`RuntimeDaemon.stop` should the daemon itself have died).

The daemon is supervised through its internal channel (``/health`` with the admin token:
is it up, is every Deployment ready); everything else goes through the Kubernetes API.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneClient, ControlPlaneError
from nexuskit.daemon import live_pid, spawn_detached, terminate
from nexuskit.errors import ConfigError
from nexuskit.params import StackSpec, repo_root
from nexuskit.provision.cluster import node_group_plans
from nexuskit.provision.policies import oidc_issuer_host

log = logging.getLogger(__name__)

EXIT_PORT_IN_USE = 3
EXIT_BAD_MANIFESTS = 5
SERVICE_PORT_OFFSET = 100
SERVICE_PORT_BASE_ENV = "NEXUSKIT_SERVICE_PORT_BASE"
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def service_port_base(settings: KitSettings) -> int:
    """Where the Services' local ports start: ``NEXUSKIT_SERVICE_PORT_BASE``, else engine port + 100."""
    if settings.service_port_base is not None:
        return settings.service_port_base
    return settings.port + SERVICE_PORT_OFFSET


def virtual_nodes(spec: StackSpec) -> list[dict[str, Any]]:
    """One virtual node per EKS node group, with its labels and taints (spec §2.1)."""
    return [
        {
            "name": f"{spec.cluster_name}-{plan.name}",
            "labels": dict(plan.labels),
            "taints": [
                {"key": t["key"], "value": t["value"], "effect": _EFFECTS.get(t["effect"], t["effect"])}
                for t in plan.taints
            ],
        }
        for plan in node_group_plans(spec)
    ]


class RuntimeDaemon:
    """Controls one runtime daemon identified by its state dir."""

    def __init__(self, settings: KitSettings) -> None:
        self.settings = settings
        self.state_dir = settings.resolved_state_dir()
        self.pid_file = self.state_dir / "runtime.pid"
        self.log_file = self.state_dir / "logs" / "runtime.log"
        self.manifests_dir = self.state_dir / "manifests"
        self.info_file = self.state_dir / "runtime" / "api.json"
        self.admin_token_file = self.state_dir / "runtime" / "admin-token"
        self.processes_file = self.state_dir / "runtime" / "processes.json"

    # -- process ----------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The daemon's pid when it is alive and really our runtime, else None."""
        return live_pid(self.pid_file, lambda cmdline: "emulation.runtime" in cmdline)

    def info(self) -> dict[str, Any] | None:
        """``runtime/api.json`` when the daemon that wrote it is alive."""
        pid = self.pid()
        if pid is None:
            return None
        try:
            data: dict[str, Any] = json.loads(self.info_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if data.get("pid") == pid else None

    def admin_token(self) -> str:
        """The running daemon's admin token (``runtime/admin-token``); ControlPlaneError without it."""
        try:
            token = self.admin_token_file.read_text().strip()
        except FileNotFoundError:
            raise ControlPlaneError(
                f"the running control plane wrote no admin token ({self.admin_token_file})",
                "it predates authentication: run `nexuskit down`, then `nexuskit up --local`",
            ) from None
        except OSError as exc:
            raise ControlPlaneError(
                f"cannot read the control plane's admin token {self.admin_token_file}: {exc.strerror}",
                "run nexuskit as the user that started the stack",
            ) from None
        if not token:
            raise ControlPlaneError(f"the control plane's admin token {self.admin_token_file} is empty")
        return token

    def client(self, timeout: float = 10.0) -> ControlPlaneClient:
        """A client of the running daemon's API, authenticated as the runtime admin."""
        info = self.info()
        if info is None:
            raise ControlPlaneError(
                f"no control plane is running for {self.state_dir}", "start it with `nexuskit up --local`"
            )
        return ControlPlaneClient(str(info["api_url"]), timeout=timeout, token=self.admin_token())

    def health(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = self.client(timeout=2).get("/health")
            return data
        except ControlPlaneError:
            return None

    def start(
        self,
        spec: StackSpec,
        engine_endpoint: str,
        *,
        manifests_dir: Path | None = None,
        wait_ready: bool = True,
        timeout: float | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Start the daemon on rendered manifests (or re-apply them); wait until all are ready.

        Writes ``<state>/kubeconfig``. A running daemon gets the manifests by server-side
        apply through its Kubernetes API (:func:`~nexuskit.controlplane.apply.apply_manifests`).
        """
        from nexuskit.controlplane.apply import apply_manifests
        from nexuskit.controlplane.kubeconfig import write_kubeconfig

        manifests = (manifests_dir or self.manifests_dir).resolve()
        pid = self.pid()
        if pid is None:
            self._spawn(spec, engine_endpoint, manifests, extra_args)
            if (self.info() or {}).get("kube_url"):  # not with --no-kube-api (benchmarks)
                write_kubeconfig(self.settings, self.info() or {})
        else:
            deadline = time.monotonic() + 10
            while self.health() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.health() is None:
                raise ControlPlaneError(
                    f"a runtime process (pid {pid}) owns {self.state_dir} but does not answer",
                    "run `nexuskit down` and start again",
                )
            write_kubeconfig(self.settings, self.info() or {})
            apply_manifests(self.settings, manifests)
        if timeout is None:
            timeout = self.settings.runtime_ready_timeout  # NEXUSKIT_RUNTIME_READY_TIMEOUT
        return self.wait_ready(timeout) if wait_ready else (self.health() or {})

    def _spawn(self, spec: StackSpec, engine_endpoint: str, manifests: Path, extra: tuple[str, ...]) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.info_file.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "emulation.runtime",
            "--state-dir",
            str(self.state_dir),
            "--manifests",
            str(manifests),
            "--engine-endpoint",
            engine_endpoint,
            "--region",
            spec.region,
            "--oidc-issuer",
            f"https://{oidc_issuer_host(spec)}",
            "--service-port-base",
            str(service_port_base(self.settings)),
            "--workdir",
            str(repo_root()),
            "--nodes",
            json.dumps(virtual_nodes(spec)),
            *extra,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        with open(self.log_file, "ab") as log_fh:
            proc = spawn_detached(cmd, log_fh, env, cwd=str(repo_root()))
        self.pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                self.pid_file.unlink(missing_ok=True)
                raise self._start_error(code)
            if self.health() is not None:
                return
            time.sleep(0.05)
        self.stop()
        raise ControlPlaneError("the control plane did not answer within 30 s", f"see {self.log_file}")

    def _start_error(self, code: int) -> Exception:
        line = self._last_error_line()
        if code == EXIT_BAD_MANIFESTS:
            return ConfigError(
                line.removeprefix("manifest error: "), "fix the manifest template and run up again"
            )
        if code == EXIT_PORT_IN_USE:
            return ControlPlaneError(
                line.removeprefix("error: "),
                f"stop what uses it, or move the Service ports with {SERVICE_PORT_BASE_ENV}",
            )
        return ControlPlaneError(
            f"the control plane exited with code {code} while starting", f"see {self.log_file}: {line}"
        )

    def _last_error_line(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except FileNotFoundError:
            return "(no log)"
        for line in reversed(lines):
            if line.startswith(("manifest error:", "error:")):
                return line
        return lines[-1] if lines else "(empty log)"

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """Poll ``/health`` until every Deployment is ready; ControlPlaneError on timeout."""
        deadline = time.monotonic() + timeout
        health: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            health = self.health()
            if health is None and self.pid() is None:
                raise ControlPlaneError("the control plane stopped while starting", f"see {self.log_file}")
            if health and health.get("ready"):
                return health
            time.sleep(0.1)
        pending = ", ".join(f"{k} {v}" for k, v in (health or {}).get("deployments", {}).items())
        raise ControlPlaneError(
            f"not every deployment was ready within {timeout:.0f} s ({pending})",
            "see `nexuskit ps` and `nexuskit logs DEPLOYMENT`",
        )

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the daemon (SIGTERM: it stops its pods; SIGKILL after ``timeout``), sweep leftovers."""
        pid = self.pid()
        stopped = False
        if pid is not None:
            terminate(pid, timeout, "runtime")  # SIGTERM: it stops its pods
            stopped = True
        self._sweep()
        self.pid_file.unlink(missing_ok=True)
        self.info_file.unlink(missing_ok=True)
        return stopped

    def _sweep(self) -> None:
        """Kill pod processes a dead daemon left behind, and wait until they are gone.

        ``runtime/processes.json`` records each pod process's pid and start time; a pid
        that now belongs to another process (a different start time) is left alone.
        """
        try:
            recorded = json.loads(self.processes_file.read_text())
        except (FileNotFoundError, ValueError):
            return
        leftovers = []
        for raw_pid, entry in recorded.items():
            with contextlib.suppress(psutil.Error, ValueError, TypeError):
                proc = psutil.Process(int(raw_pid))
                started = entry.get("started")
                if started is None or abs(proc.create_time() - float(started)) > 0.01:
                    continue
                log.warning("killing leftover pod process %s (%s)", proc.pid, entry.get("pod"))
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                leftovers.append(proc)
        psutil.wait_procs(leftovers, timeout=5)
        self.processes_file.unlink(missing_ok=True)

    def processes(self) -> list[int]:
        """The daemon's pid and its pods' pids (for RSS figures and leak checks)."""
        pid = self.pid()
        if pid is None:
            return []
        try:
            return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
        except psutil.NoSuchProcess:
            return []
