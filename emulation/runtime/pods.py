"""One pod: a supervised local process with probes, restarts, backoff and a log file.

Lifecycle (``Pod.run``): schedule onto a virtual node (nodeSelector and taints), wait
for ``nexuskit.dev/depends-on``, prepare (volumes, env, IRSA credentials), start the
process, run the probes, and when the process exits restart it with the kubelet's
exponential backoff: the first restart at once, then ``backoff_base`` (10 s) doubling to
``backoff_max`` (300 s); the count resets after 10 minutes of running. ``restarts`` counts
every restart; ``last_termination`` keeps the exit code (a signal N reads ``128+N``, as
a container runtime reports it) and reason (``Completed``, ``Error``, ``OOMKilled``).

A pod is in its Services' endpoints only while ``ready``: its readiness probe passed
(``successThreshold`` in a row) and has not failed ``failureThreshold`` times in a row
since. A deleted pod leaves the endpoints at once and gets SIGTERM half a second later,
so connections already handed to it land first (a built-in ``preStop`` sleep). A
liveness failure (``failureThreshold`` in a row) kills the container, which restarts. A
memory limit is enforced by polling the main process's RSS every second (OOMKilled).

Processes run in their own session (``kill`` reaches the whole process group), with
``PR_SET_PDEATHSIG`` so none outlives a crashed runtime; stdout and stderr append to
``<state>/runtime/logs/<namespace>/<pod>.log``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import shutil
import signal
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any

import psutil

from emulation.runtime import podenv
from emulation.runtime.events import NORMAL, WARNING
from emulation.runtime.identity import AUDIENCE as STS_AUDIENCE
from emulation.runtime.identity import TOKEN_SECONDS, StsError, assume_role_with_web_identity
from emulation.runtime.manifests import Deployment, Probe
from emulation.runtime.probes import run_probe
from emulation.runtime.tokens import PodTokens

if TYPE_CHECKING:
    from emulation.runtime.controller import Cluster

log = logging.getLogger(__name__)

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of Kubernetes' generated names
BACKOFF_RESET_SECONDS = 600.0
TOKEN_PATH = "secrets/eks.amazonaws.com/serviceaccount/token"
MEMORY_POLL_SECONDS = 1.0
ENDPOINT_DRAIN_SECONDS = 0.5  # between leaving the Services and SIGTERM (a built-in preStop sleep)
_PR_SET_PDEATHSIG = 1

try:
    _LIBC: Any = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover
    _LIBC = None


def _die_with_parent() -> None:
    """In the child between fork and exec: get SIGKILL when the runtime dies."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(NAME_ALPHABET) for _ in range(length))


class Pod:
    """A replica of a Deployment, run as a local process."""

    def __init__(
        self, cluster: Cluster, deploy: Deployment, template_hash: str, ports: dict[int, int]
    ) -> None:
        self.cluster = cluster
        self.deploy = deploy
        self.namespace = deploy.namespace
        self.deployment = deploy.name
        self.template_hash = template_hash
        self.name = f"{deploy.name}-{template_hash}-{random_suffix()}"
        self.uid = str(uuid.uuid4())
        self.created = time.time()
        settings = cluster.settings
        self.pod_dir = settings.pods_dir / self.namespace / self.name
        self.log_path = settings.logs_dir / self.namespace / f"{self.name}.log"
        self.ports = ports  # containerPort -> local port
        self.port_names = {name: port for name, port in deploy.template.container.ports if name}
        self.node: str | None = None
        self.restarts = 0
        self.failures = 0
        self.ready = False
        self.ready_since: float | None = None
        self.ready_changed = self.created  # when ``ready`` last flipped (the Ready condition)
        self.scheduled_at: float | None = None
        self.deleted_at: float | None = None
        self.grace: float = deploy.template.grace_seconds
        self.run_starts: list[int] = []  # log offset where each container run began
        self.state = "waiting"
        self.reason = "Pending"
        self.message = ""
        self.started_at: float | None = None
        self.ever_started = False
        self.last_termination: dict[str, Any] | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.proc_started: float | None = None
        self.deleting = False
        self.kill_reason: str | None = None
        self.env: dict[str, str] = {}
        self.credentials_expire: float | None = None
        self.credentials_issued: float | None = None
        self.tokens = PodTokens(
            cluster.issuer, self.namespace, deploy.template.service_account, self.name, self.uid
        )
        self.role_arn: str | None = None
        self.assumed_arn: str | None = None
        self._wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    # -- views ------------------------------------------------------------------------------
    @property
    def port(self) -> int | None:
        """The pod's own local port (its first container port)."""
        return next(iter(self.ports.values()), None)

    def local_port(self, target: int | str) -> int | None:
        if isinstance(target, str):
            target = int(target) if target.isdigit() else self.port_names.get(target, -1)
        return self.ports.get(target)

    @property
    def available(self) -> bool:
        """Ready for at least the Deployment's minReadySeconds."""
        if not self.ready or self.deleting or self.ready_since is None:
            return False
        return time.time() - self.ready_since >= self.deploy.min_ready_seconds

    @property
    def status(self) -> str:
        """What ``kubectl get pods`` shows in STATUS."""
        if self.deleting:
            return "Terminating"
        if self.state == "running":
            return "Running"
        if self.state == "terminated":
            return str((self.last_termination or {}).get("reason", "Error"))
        return self.reason

    @property
    def phase(self) -> str:
        """The Kubernetes PodPhase (Pending until the container first started)."""
        return "Running" if self.ever_started else "Pending"

    def as_dict(self) -> dict[str, Any]:
        now = time.time()
        return {
            "namespace": self.namespace,
            "deployment": self.deployment,
            "name": self.name,
            "uid": self.uid,
            "phase": self.status,
            "pod_phase": self.phase,
            "ready": self.ready,
            "restarts": self.restarts,
            "age_s": round(now - self.created, 1),
            "created_at": self.created,
            "port": self.port,
            "ports": {str(k): v for k, v in self.ports.items()},
            "pid": self.proc.pid if self.proc and self.proc.returncode is None else None,
            "node": self.node,
            "ip": "127.0.0.1",
            "template_hash": self.template_hash,
            "service_account": self.deploy.template.service_account,
            "role_arn": self.role_arn,
            "assumed_role_arn": self.assumed_arn,
            "credentials_expire_at": self.credentials_expire,
            "message": self.message,
            "started_at": self.started_at,
            "last_exit": self.last_termination,
            "log": str(self.log_path),
        }

    # -- control ----------------------------------------------------------------------------
    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run(), name=f"pod {self.name}")

    def delete(self, grace: float | None = None) -> None:
        """Take the pod out of its Services, then stop its process (SIGTERM, grace, SIGKILL)."""
        if self.deleting:
            return
        was_endpoint = self.ready
        self.deleting = True
        self.deleted_at = time.time()
        self.grace = self.deploy.template.grace_seconds if grace is None else grace
        self._set_ready(False)
        self._event(NORMAL, "Killing", f"Stopping container {self.deploy.template.container.name}")
        self._wake.set()
        if self.proc is not None:
            limit = self.deploy.template.grace_seconds if grace is None else grace
            drain = ENDPOINT_DRAIN_SECONDS if was_endpoint and grace is None else 0.0
            asyncio.get_running_loop().create_task(self.terminate(limit, drain))

    async def terminate(self, grace: float, drain: float = 0.0) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        if drain:  # out of the endpoints already; let connections just handed over land first
            await asyncio.sleep(drain)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()

    def kill_now(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    # -- lifecycle --------------------------------------------------------------------------
    async def run(self) -> None:
        refresher = asyncio.get_running_loop().create_task(self.tokens.run(), name=f"tokens {self.name}")
        try:
            if await self._schedule():
                while not self.deleting:
                    if not await self._prepare():
                        continue
                    if self.deleting:
                        break
                    await self._run_container()
                    if self.deleting:
                        break
                    await self._backoff()
        except Exception:  # a bug must not take the runtime down; it shows on the pod
            log.exception("pod %s failed", self.name)
            self.state, self.reason, self.message = "waiting", "RuntimeError", "see the runtime log"
            while not self.deleting:
                await self._sleep(3600)
        finally:
            refresher.cancel()
            self.cluster.pod_gone(self)
            shutil.rmtree(self.pod_dir, ignore_errors=True)

    async def _schedule(self) -> bool:
        reported = False
        while not self.deleting:
            node, why = self.cluster.schedule(self.deploy)
            if node is not None:
                self.node = node
                self.scheduled_at = time.time()
                self._event(
                    NORMAL, "Scheduled", f"Successfully assigned {self.namespace}/{self.name} to {node}"
                )
                break
            self.reason, self.message = "Pending", why
            if not reported:
                self._event(WARNING, "FailedScheduling", why)
                reported = True
            await self._sleep(5)
        reported = False
        while not self.deleting:
            waiting = self.cluster.waiting_for(self.deploy)
            if not waiting:
                return True
            self.reason, self.message = "Pending", "waiting for " + ", ".join(waiting)
            if not reported:
                self._event(NORMAL, "WaitingForDependencies", self.message)
                reported = True
            await self._sleep(0.2)
        return False

    async def _prepare(self) -> bool:
        self.state, self.reason, self.message = "waiting", "ContainerCreating", ""
        settings = self.cluster.settings
        try:
            self.pod_dir.mkdir(parents=True, exist_ok=True)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            rewrite = self.cluster.dns.rewrite
            identity = {
                "name": self.name,
                "namespace": self.namespace,
                "uid": self.uid,
                "node": self.node or "",
                "service_account": self.deploy.template.service_account,
            }
            manifests = self.cluster.manifests
            mounts = podenv.materialise_volumes(
                self.deploy, manifests, self.pod_dir, rewrite, identity, self.tokens, self.cluster.ca_pem
            )
            workdir = str(settings.workdir)
            env = podenv.base_env(workdir, self.pod_dir, settings.region)
            env["HOSTNAME"] = self.name
            if self.deploy.template.service_links:
                env.update(podenv.service_links(self.cluster.service_ports, self.namespace))
            env.update(podenv.container_env(self.deploy, self.cluster.manifests, identity, mounts, rewrite))
        except podenv.PodConfigError as exc:
            self.state, self.reason, self.message = "waiting", "CreateContainerConfigError", str(exc)
            self._event(WARNING, "Failed", f"Error: {exc}")
            await self._sleep(2)
            return False
        ports = sorted(self.ports.items())
        if ports:
            env["PORT"] = str(ports[0][1])
            for container_port, local in ports:
                env[f"PORT_{container_port}"] = str(local)
        if settings.engine_endpoint:
            env["AWS_ENDPOINT_URL"] = settings.engine_endpoint
        if self.cluster.kube_port:  # the kubelet's: the Kubernetes API of the cluster
            env["KUBERNETES_SERVICE_HOST"] = "127.0.0.1"
            env["KUBERNETES_SERVICE_PORT"] = env["KUBERNETES_SERVICE_PORT_HTTPS"] = str(
                self.cluster.kube_port
            )
        env.update(await self._identity_env())
        env.update(
            {
                "NEXUSKIT_POD_NAME": self.name,
                "NEXUSKIT_NAMESPACE": self.namespace,
                "NEXUSKIT_POD_DIR": str(self.pod_dir),
                "NEXUSKIT_MOUNTS": podenv.mounts_json(mounts),
                "NEXUSKIT_RUNTIME_API": self.cluster.api_url,
            }
        )
        self.env = env
        return True

    async def _identity_env(self) -> dict[str, str]:
        """IRSA: the projected token file and role ARN, plus role credentials from STS."""
        sa = self.cluster.manifests.service_account(self.namespace, self.deploy.template.service_account)
        self.role_arn = sa.role_arn
        if not sa.role_arn:
            return {}
        token_file = self.pod_dir / TOKEN_PATH
        token = self.tokens.write(token_file, STS_AUDIENCE, TOKEN_SECONDS)
        env = {
            "AWS_ROLE_ARN": sa.role_arn,
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
            "AWS_STS_REGIONAL_ENDPOINTS": "regional",
        }
        endpoint = self.cluster.settings.engine_endpoint
        if not endpoint:
            return env
        loop = asyncio.get_running_loop()
        try:
            creds = await loop.run_in_executor(
                None,
                assume_role_with_web_identity,
                endpoint,
                sa.role_arn,
                token,
                self.name,
                self.cluster.settings.credential_seconds,
            )
        except StsError as exc:
            self._event(WARNING, "FailedAssumeRole", f"{sa.role_arn}: {exc}")
            return env
        self.credentials_expire = creds.expiration
        self.credentials_issued = time.time()
        self.assumed_arn = creds.arn
        self._event(NORMAL, "AssumedRole", f"{creds.arn} (web identity of {self.namespace}/{sa.name})")
        env.update(
            {
                "AWS_ACCESS_KEY_ID": creds.access_key_id,
                "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
                "AWS_SESSION_TOKEN": creds.session_token,
            }
        )
        return env

    async def _run_container(self) -> None:
        settings = self.cluster.settings
        command = list(self.deploy.command)
        if command[0] in {"python", "python3"}:
            command[0] = settings.python
        cwd = settings.workdir / self.deploy.workdir if self.deploy.workdir else settings.workdir
        started = time.time()
        try:
            self.run_starts.append(self.log_path.stat().st_size)
        except FileNotFoundError:
            self.run_starts.append(0)
        try:
            with open(self.log_path, "ab") as log_fh:
                self.proc = await asyncio.create_subprocess_exec(
                    *command,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log_fh,
                    stderr=asyncio.subprocess.STDOUT,
                    env=self.env,
                    cwd=str(cwd),
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
        except OSError as exc:
            self._terminated(128, "StartError", str(exc), started)
            self._event(WARNING, "Failed", f"Error: failed to start container: {exc}")
            return
        try:  # the identity of this process for a sweep after a runtime crash (pids get reused)
            self.proc_started = psutil.Process(self.proc.pid).create_time()
        except psutil.Error:
            self.proc_started = None
        self.state, self.started_at, self.ever_started = "running", started, True
        self.message = ""
        container = self.deploy.template.container.name
        self._event(NORMAL, "Started", f"Started container {container} (pid {self.proc.pid})")
        self.cluster.processes_changed()
        probes = asyncio.get_running_loop().create_task(self._probe_all(), name=f"probes {self.name}")
        code = await self.proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # like a container: its other processes go too
        probes.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probes
        exit_code = code if code >= 0 else 128 - code
        reason = self.kill_reason or ("Completed" if exit_code == 0 else "Error")
        self._terminated(exit_code, reason, "", started)
        self.proc = None
        self.cluster.processes_changed()

    def _terminated(self, code: int, reason: str, message: str, started: float) -> None:
        finished = time.time()
        self._set_ready(False)
        self.state = "terminated"
        self.last_termination = {
            "exit_code": code,
            "reason": reason,
            "message": message,
            "started_at": started,
            "finished_at": finished,
        }
        self.kill_reason = None
        if self.deleting:
            return
        self.restarts += 1
        if finished - started >= BACKOFF_RESET_SECONDS:
            self.failures = 0
        self.failures += 1

    async def _backoff(self) -> None:
        settings = self.cluster.settings
        if self.failures <= 1:
            return
        delay = min(settings.backoff_base * 2 ** (self.failures - 2), settings.backoff_max)
        container = self.deploy.template.container.name
        self.state, self.reason = "waiting", "CrashLoopBackOff"
        self.message = f"back-off {delay:g}s restarting failed container={container} pod={self.name}"
        self._event(
            WARNING, "BackOff", f"Back-off restarting failed container {container} in pod {self.name}"
        )
        await self._sleep(delay)

    # -- probes -----------------------------------------------------------------------------
    async def _probe_all(self) -> None:
        container = self.deploy.template.container
        if container.startup is not None and not await self._startup(container.startup):
            return
        loops = [self._readiness(container.readiness) if container.readiness else self._ready_now()]
        if container.liveness is not None:
            loops.append(self._liveness(container.liveness))
        if container.memory_limit is not None:
            loops.append(self._memory(container.memory_limit))
        await asyncio.gather(*loops)

    async def _ready_now(self) -> None:
        self._set_ready(True)

    async def _attempt(self, probe: Probe) -> tuple[bool, str]:
        port = self.local_port(probe.port) if probe.port is not None else None
        cwd = str(self.cluster.settings.workdir)
        result = await run_probe(probe, port, self.env, cwd)
        return result.ok, result.detail

    async def _startup(self, probe: Probe) -> bool:
        await asyncio.sleep(probe.initial_delay)
        failures = 0
        while True:
            ok, detail = await self._attempt(probe)
            if ok:
                return True
            if self.deleting:
                return False
            failures += 1
            self._event(WARNING, "Unhealthy", f"Startup probe failed: {detail}")
            if failures >= probe.failure_threshold:
                await self._kill_unhealthy("startup")
                return False
            await asyncio.sleep(probe.period)

    async def _readiness(self, probe: Probe) -> None:
        await asyncio.sleep(probe.initial_delay)
        successes = failures = 0
        while not self.deleting:
            ok, detail = await self._attempt(probe)
            if self.deleting:
                return
            if ok:
                successes, failures = successes + 1, 0
                if not self.ready and successes >= probe.success_threshold:
                    self._set_ready(True)
            else:
                successes, failures = 0, failures + 1
                self._event(WARNING, "Unhealthy", f"Readiness probe failed: {detail}")
                if self.ready and failures >= probe.failure_threshold:
                    self._set_ready(False)
            await asyncio.sleep(probe.period)

    async def _liveness(self, probe: Probe) -> None:
        await asyncio.sleep(probe.initial_delay)
        failures = 0
        while not self.deleting:
            ok, detail = await self._attempt(probe)
            if self.deleting:
                return
            if ok:
                failures = 0
            else:
                failures += 1
                self._event(WARNING, "Unhealthy", f"Liveness probe failed: {detail}")
                if failures >= probe.failure_threshold:
                    await self._kill_unhealthy("liveness")
                    return
            await asyncio.sleep(probe.period)

    async def _kill_unhealthy(self, which: str) -> None:
        container = self.deploy.template.container.name
        self._event(NORMAL, "Killing", f"Container {container} failed {which} probe, will be restarted")
        self._set_ready(False)
        await self.terminate(self.deploy.template.grace_seconds)

    async def _memory(self, limit: float) -> None:
        while True:
            await asyncio.sleep(MEMORY_POLL_SECONDS)
            proc = self.proc
            if proc is None or proc.returncode is not None:
                return
            try:  # the main process only: listing its children would scan all of /proc
                rss = psutil.Process(proc.pid).memory_info().rss
            except psutil.Error:
                continue
            if rss > limit:
                self.kill_reason = "OOMKilled"
                self._event(
                    WARNING,
                    "OOMKilled",
                    f"container {self.deploy.template.container.name} used {rss / 2**20:.0f} MiB, "
                    f"over its limit of {limit / 2**20:.0f} MiB",
                )
                self.kill_now()
                return

    # -- helpers ----------------------------------------------------------------------------
    def _set_ready(self, ready: bool) -> None:
        if ready == self.ready:
            return
        self.ready = ready
        self.ready_changed = time.time()
        self.ready_since = self.ready_changed if ready else None
        self.cluster.wake()

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _event(self, type_: str, reason: str, message: str) -> None:
        self.cluster.events.record(type_, reason, "Pod", self.namespace, self.name, message, self.uid)
