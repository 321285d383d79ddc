"""The cluster: Deployments reconciled into pods, Services onto local ports, scheduling.

``Cluster.reconcile`` runs at once after anything that matters changed (a pod's
readiness, a pod gone, scale, restart, apply) and once a second anyway. For each
Deployment it compares the pods of the current template hash with ``replicas``: it
creates and deletes pods, and while pods of an older template exist it rolls
(``maxSurge`` extra pods at most, at least ``replicas - maxUnavailable`` available,
defaults 25 %/25 %), or with ``Recreate`` stops the old pods first. When scaling down it
deletes not-ready pods first, then the newest. ``restart`` stamps the template with
``kubectl.kubernetes.io/restartedAt`` as ``kubectl rollout restart`` does, so the new
hash rolls every pod.

Service local ports: the Services sorted by namespace and name, each port in order, get
``service_port_base``, ``+1``, ... unless ``nexuskit.dev/local-port`` pins one. The same
manifests give the same ports on every start.

Credentials: a pod's STS credentials are refreshed by rolling its Deployment when 80 %
of their lifetime has passed (a process cannot be handed new environment variables);
every token file (IRSA, projected, automounted) is rewritten in place when 80 % of its
lifetime has passed (``tokens.PodTokens``), so a client that reads it keeps working
without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulation.runtime.events import NORMAL, WARNING, EventLog
from emulation.runtime.exceptions import InvalidRequestError, ObjectNotFoundError, ProcessRuntimeError
from emulation.runtime.identity import TokenIssuer
from emulation.runtime.manifests import Deployment, Manifests, Service, load_manifests
from emulation.runtime.podenv import DnsShim
from emulation.runtime.pods import NAME_ALPHABET, Pod
from emulation.runtime.proxy import ServiceProxy
from emulation.runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
MAX_REPLICAS = 50
REFRESH_FRACTION = 0.8
TICK_SECONDS = 1.0  # a fallback: every change that matters wakes the loop at once


class PortInUseError(ProcessRuntimeError):
    """A Service's local port is taken by another process."""


def template_hash(raw_template: dict[str, Any], restarted_at: str | None) -> str:
    """A stable 10-character hash of the pod template (like ``pod-template-hash``)."""
    payload = json.dumps(raw_template, sort_keys=True) + (restarted_at or "")
    digest = int.from_bytes(hashlib.sha256(payload.encode()).digest()[:8], "big")
    out = []
    for _ in range(10):
        digest, index = divmod(digest, len(NAME_ALPHABET))
        out.append(NAME_ALPHABET[index])
    return "".join(out)


def resolve_int_or_percent(value: int | str, total: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        fraction = float(text[:-1]) / 100 * total
        return math.ceil(fraction) if round_up else math.floor(fraction)
    return int(text)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """Every runtime object of one daemon; all methods run on its event loop."""

    def __init__(self, settings: RuntimeSettings, manifests: Manifests) -> None:
        self.settings = settings
        self.manifests = manifests
        self.events = EventLog()
        self.issuer = TokenIssuer(settings.oidc_issuer, settings.signing_key_file)
        self.started = time.time()
        self.api_url = ""
        self.pods: dict[str, list[Pod]] = {key: [] for key in manifests.deployments}
        self.replicas = {key: d.replicas for key, d in manifests.deployments.items()}
        self.applied_replicas = dict(self.replicas)
        self.restarted_at: dict[str, str | None] = {key: None for key in manifests.deployments}
        self.deployment_created = {key: time.time() for key in manifests.deployments}
        self.service_ports = self._assign_ports(manifests)
        self.dns = DnsShim(self.service_ports)
        self.proxies: list[ServiceProxy] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._used_ports: set[int] = set()
        self._last_housekeeping = 0.0
        self._hashes: dict[str, tuple[tuple[int, str | None], str]] = {}

    # -- services ---------------------------------------------------------------------------
    def _assign_ports(self, manifests: Manifests) -> dict[tuple[str, str], dict[int, int]]:
        ports: dict[tuple[str, str], dict[int, int]] = {}
        next_port = self.settings.service_port_base
        for key in sorted(manifests.services):
            service = manifests.services[key]
            mapping: dict[int, int] = {}
            for index, port in enumerate(service.ports):
                if service.local_port is not None:
                    mapping[port.port] = service.local_port + index
                else:
                    mapping[port.port] = next_port
                    next_port += 1
            ports[(service.namespace, service.name)] = mapping
        return ports

    async def start_services(self) -> None:
        """Bind every Service's local port (fails fast when one is taken)."""
        for key in sorted(self.manifests.services):
            service = self.manifests.services[key]
            for port in service.ports:
                local = self.service_ports[(service.namespace, service.name)][port.port]
                proxy = ServiceProxy(key, port.port, local, self._endpoints_fn(key, port.target))
                try:
                    await proxy.start()
                except OSError as exc:
                    await self.stop_services()
                    raise PortInUseError(
                        f"local port {local} for Service {key} (port {port.port}) is in use: {exc.strerror}"
                    ) from None
                self.proxies.append(proxy)

    async def stop_services(self) -> None:
        for proxy in self.proxies:
            await proxy.stop()
        self.proxies = []

    def _endpoints_fn(self, key: str, target: int | str) -> Any:
        def endpoints() -> list[tuple[str, int]]:
            service = self.manifests.services.get(key)
            if service is None:
                return []
            out = []
            for pod in self.service_pods(service):
                local = pod.local_port(target)
                if local is not None:
                    out.append((pod.name, local))
            return out

        return endpoints

    def service_pods(self, service: Service, ready_only: bool = True) -> list[Pod]:
        pods = []
        for key, members in self.pods.items():
            deploy = self.manifests.deployments.get(key)
            if deploy is None or deploy.namespace != service.namespace or not service.selector:
                continue
            for pod in members:
                labels = pod.deploy.template.labels
                selected = all(labels.get(k) == v for k, v in service.selector.items())
                if selected and (not ready_only or (pod.ready and not pod.deleting)):
                    pods.append(pod)
        return pods

    # -- scheduling and dependencies --------------------------------------------------------
    def schedule(self, deploy: Deployment) -> tuple[str | None, str]:
        """The node a pod of ``deploy`` goes to, or None and the scheduler's message."""
        template = deploy.template
        unmatched = tainted = 0
        taint_text = ""
        for node in self.settings.nodes:
            if any(node.labels.get(k) != v for k, v in template.node_selector.items()):
                unmatched += 1
                continue
            blocking = [
                t
                for t in node.taints
                if t.effect in {"NoSchedule", "NoExecute"}
                and not any(
                    (tol.key == t.key or (not tol.key and tol.operator == "Exists"))
                    and (tol.operator == "Exists" or tol.value == t.value)
                    and (not tol.effect or tol.effect == t.effect)
                    for tol in template.tolerations
                )
            ]
            if blocking:
                tainted += 1
                taint_text = ", ".join(f"{{{t.key}: {t.value}}}" for t in blocking)
                continue
            return node.name, ""
        parts = []
        if unmatched:
            parts.append(f"{unmatched} node(s) didn't match Pod's node affinity/selector")
        if tainted:
            parts.append(f"{tainted} node(s) had untolerated taint {taint_text}")
        return None, f"0/{len(self.settings.nodes)} nodes are available: " + ", ".join(parts) + "."

    def ready_count(self, key: str) -> int:
        return sum(1 for p in self.pods.get(key, []) if p.ready and not p.deleting)

    def waiting_for(self, deploy: Deployment) -> list[str]:
        return [dep for dep in deploy.depends_on if self.ready_count(dep) < max(1, self.replicas.get(dep, 1))]

    # -- reconcile --------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            for key in list(self.manifests.deployments):
                self.reconcile(key)
            self._housekeeping()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_SECONDS)

    def current_hash(self, key: str) -> str:
        deploy = self.manifests.deployments[key]
        cache_key = (id(deploy), self.restarted_at.get(key))
        cached = self._hashes.get(key)
        if cached is None or cached[0] != cache_key:
            cached = (cache_key, template_hash(deploy.raw_template, cache_key[1]))
            self._hashes[key] = cached
        return cached[1]

    def reconcile(self, key: str) -> None:
        deploy = self.manifests.deployments[key]
        desired = self.replicas[key]
        current = self.current_hash(key)
        live = [p for p in self.pods[key] if not p.deleting]
        new = [p for p in live if p.template_hash == current]
        old = [p for p in live if p.template_hash != current]
        if deploy.recreate and old:
            for pod in old:
                self._delete(pod, "old template (Recreate)")
            return
        if deploy.recreate and any(p.deleting for p in self.pods[key]):
            return
        if not old:
            if len(new) < desired:
                for _ in range(desired - len(new)):
                    self._create(deploy, current)
            elif len(new) > desired:
                for pod in self._scale_down_order(new)[: len(new) - desired]:
                    self._delete(pod, "scaled down")
            return
        surge = resolve_int_or_percent(deploy.max_surge, desired, round_up=True)
        unavailable = resolve_int_or_percent(deploy.max_unavailable, desired, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        room = desired + surge - len(live)
        if len(new) < desired and room > 0:
            for _ in range(min(room, desired - len(new))):
                self._create(deploy, current)
        if len(new) > desired:
            for pod in self._scale_down_order(new)[: len(new) - desired]:
                self._delete(pod, "scaled down")
        removable = sum(1 for p in live if p.available) - (desired - unavailable)
        for pod in self._scale_down_order(old):
            if not pod.ready:
                self._delete(pod, "replaced by the new template")
            elif removable > 0:
                removable -= 1
                self._delete(pod, "replaced by the new template")

    @staticmethod
    def _scale_down_order(pods: list[Pod]) -> list[Pod]:
        """Not-ready pods first, then the newest (what the ReplicaSet controller deletes first)."""
        return sorted(pods, key=lambda p: (p.ready, -p.created))

    def _create(self, deploy: Deployment, current_hash: str) -> Pod:
        pod = Pod(self, deploy, current_hash, self._pod_ports(deploy))
        self.pods[deploy.key].append(pod)
        self.events.record(
            NORMAL,
            "SuccessfulCreate",
            "ReplicaSet",
            deploy.namespace,
            f"{deploy.name}-{current_hash}",
            f"Created pod: {pod.name}",
        )
        pod.start()
        return pod

    def _delete(self, pod: Pod, why: str) -> None:
        self.events.record(
            NORMAL,
            "SuccessfulDelete",
            "ReplicaSet",
            pod.namespace,
            f"{pod.deployment}-{pod.template_hash}",
            f"Deleted pod: {pod.name} ({why})",
        )
        pod.delete()

    def _pod_ports(self, deploy: Deployment) -> dict[int, int]:
        """A local port per container port (and per numeric probe/Service target port)."""
        wanted = [port for _, port in deploy.template.container.ports]
        container = deploy.template.container
        for probe in (container.readiness, container.liveness, container.startup):
            if probe is not None and isinstance(probe.port, int):
                wanted.append(probe.port)
        for service in self.manifests.services.values():
            selects = (
                service.namespace == deploy.namespace
                and service.selector
                and all(deploy.template.labels.get(k) == v for k, v in service.selector.items())
            )
            if selects:
                wanted += [p.target for p in service.ports if isinstance(p.target, int)]
        ports: dict[int, int] = {}
        for container_port in wanted:
            if container_port not in ports:
                port = free_port()
                while port in self._used_ports:
                    port = free_port()
                self._used_ports.add(port)
                ports[container_port] = port
        return ports

    def pod_gone(self, pod: Pod) -> None:
        members = self.pods.get(f"{pod.namespace}/{pod.deployment}", [])
        if pod in members:
            members.remove(pod)
        self._used_ports.difference_update(pod.ports.values())
        self.processes_changed()
        self.wake()

    # -- housekeeping -----------------------------------------------------------------------
    def _housekeeping(self) -> None:
        now = time.time()
        if now - self._last_housekeeping < 5:
            return
        self._last_housekeeping = now
        for key, members in self.pods.items():
            rolled = False
            for pod in members:
                if pod.deleting or pod.state != "running":
                    continue
                expire, issued = pod.credentials_expire, pod.credentials_issued
                current = pod.template_hash == self.current_hash(key)  # else: already being replaced
                due = bool(expire and issued and now > issued + REFRESH_FRACTION * (expire - issued))
                if due and current and not rolled and self.settings.refresh_credentials:
                    self.restart(key, why="credentials refresh")
                    rolled = True

    def processes_changed(self) -> None:
        """Record the pods' pids, so ``down`` can sweep them if the runtime itself died."""
        entries = {}
        for members in self.pods.values():
            for pod in members:
                if pod.proc is not None and pod.proc.returncode is None:
                    entries[str(pod.proc.pid)] = {
                        "pod": f"{pod.namespace}/{pod.name}",
                        "started": pod.proc_started,
                    }
        path = self.settings.processes_file
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(entries))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("cannot record pod processes in %s: %s", path, exc)

    # -- operations (control API) -----------------------------------------------------------
    def deployment(self, namespace: str, name: str) -> Deployment:
        key = f"{namespace}/{name}"
        if key not in self.manifests.deployments:
            raise ObjectNotFoundError(f'deployments.apps "{name}" not found in namespace {namespace}')
        return self.manifests.deployments[key]

    def scale(self, namespace: str, name: str, replicas: Any) -> dict[str, Any]:
        deploy = self.deployment(namespace, name)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or not 0 <= replicas <= MAX_REPLICAS:
            raise InvalidRequestError(
                f"replicas must be an integer from 0 to {MAX_REPLICAS}, got {replicas!r}"
            )
        before = self.replicas[deploy.key]
        self.replicas[deploy.key] = replicas
        if replicas != before:
            direction = "up" if replicas > before else "down"
            self.events.record(
                NORMAL,
                "ScalingReplicaSet",
                "Deployment",
                namespace,
                name,
                f"Scaled {direction} replica set {name}-{self.current_hash(deploy.key)} "
                f"from {before} to {replicas}",
            )
        self.wake()
        return self.deployment_status(deploy.key)

    def restart(
        self, namespace_or_key: str, name: str | None = None, why: str = "rollout restart"
    ) -> dict[str, Any]:
        key = namespace_or_key if name is None else self.deployment(namespace_or_key, name).key
        deploy = self.manifests.deployments[key]
        self.restarted_at[key] = datetime.now(UTC).isoformat(timespec="microseconds")
        self.events.record(
            NORMAL,
            "ScalingReplicaSet",
            "Deployment",
            deploy.namespace,
            deploy.name,
            f"Rolling out new replica set {deploy.name}-{self.current_hash(key)} ({why})",
        )
        self.wake()
        return self.deployment_status(key)

    async def apply(self) -> dict[str, Any]:
        """Reload the manifests folder (``kubectl apply`` semantics for what changed)."""
        fresh = load_manifests(self.settings.manifests_dir, self.settings.min_token_seconds)
        removed = set(self.manifests.deployments) - set(fresh.deployments)
        added = set(fresh.deployments) - set(self.manifests.deployments)
        for key in removed:
            for pod in self.pods.get(key, []):
                pod.delete()
        for key, deploy in fresh.deployments.items():
            if key in added:
                self.pods[key] = []
                self.restarted_at[key] = None
                self.deployment_created[key] = time.time()
                self.replicas[key] = deploy.replicas
            elif deploy.replicas != self.applied_replicas.get(key):
                self.replicas[key] = deploy.replicas  # the manifest changed replicas: it wins
            self.applied_replicas[key] = deploy.replicas
        ports = self._assign_ports(fresh)
        services_changed = ports != self.service_ports or set(fresh.services) != set(self.manifests.services)
        self.manifests = fresh
        if services_changed:
            await self.stop_services()
            self.service_ports = ports
            self.dns = DnsShim(ports)
            await self.start_services()
        for key in removed:
            self.replicas.pop(key, None)
        self.wake()
        return {"added": sorted(added), "removed": sorted(removed), "deployments": len(fresh.deployments)}

    async def shutdown(self, grace_cap: float = 10.0) -> None:
        """Stop every pod (SIGTERM, then SIGKILL after its grace period, capped)."""
        self._stopping = True
        await self.stop_services()
        pods = [p for members in self.pods.values() for p in members]
        for pod in pods:
            pod.delete(grace=min(pod.deploy.template.grace_seconds, grace_cap))
        tasks = [p.task for p in pods if p.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_cap + 5)
            for pod in pods:
                pod.kill_now()
            if pending:
                await asyncio.wait(pending, timeout=5)
        self.settings.processes_file.unlink(missing_ok=True)

    # -- views ------------------------------------------------------------------------------
    def deployment_status(self, key: str) -> dict[str, Any]:
        deploy = self.manifests.deployments[key]
        members = [p for p in self.pods.get(key, []) if not p.deleting]
        current = self.current_hash(key)
        desired = self.replicas[key]
        ready = sum(1 for p in members if p.ready)
        services = []
        for service in self.manifests.services.values():
            if service.namespace != deploy.namespace or not service.selector:
                continue
            if all(deploy.template.labels.get(k) == v for k, v in service.selector.items()):
                services.append(self.service_status(service))
        return {
            "namespace": deploy.namespace,
            "name": deploy.name,
            "replicas": desired,
            "ready": ready,
            "ready_text": f"{ready}/{desired}",
            "updated": sum(1 for p in members if p.template_hash == current),
            "available": sum(1 for p in members if p.available),
            "pods": len(members),
            "complete": ready >= desired
            and all(p.template_hash == current for p in members)
            and len(members) == desired,
            "template_hash": current,
            "age_s": round(time.time() - self.deployment_created.get(key, self.started), 1),
            "depends_on": list(deploy.depends_on),
            "waiting_for": self.waiting_for(deploy),
            "service_account": deploy.template.service_account,
            "command": list(deploy.command),
            "image": deploy.template.container.image,
            "services": services,
        }

    def service_status(self, service: Service) -> dict[str, Any]:
        ports = self.service_ports.get((service.namespace, service.name), {})
        endpoints = [f"127.0.0.1:{p.local_port(service.ports[0].target)}" for p in self.service_pods(service)]
        first = next(iter(ports.values()), None)
        return {
            "namespace": service.namespace,
            "name": service.name,
            "ports": [
                {"port": p.port, "target_port": p.target, "local_port": ports.get(p.port)}
                for p in service.ports
            ],
            "local_port": first,
            "url": f"http://127.0.0.1:{first}" if first else None,
            "cluster_dns": f"{service.name}.{service.namespace}.svc.cluster.local",
            "endpoints": endpoints,
        }

    def all_pods(self) -> list[Pod]:
        return [p for key in sorted(self.pods) for p in sorted(self.pods[key], key=lambda p: p.created)]

    def find_pod(self, namespace: str, name: str) -> Pod:
        for pod in self.all_pods():
            if pod.namespace == namespace and pod.name == name:
                return pod
        raise ObjectNotFoundError(f'pods "{name}" not found in namespace {namespace}')

    def all_ready(self) -> bool:
        return all(self.deployment_status(key)["complete"] for key in self.manifests.deployments)

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 3),
            "ready": self.all_ready(),
            "deployments": {
                key: self.deployment_status(key)["ready_text"] for key in sorted(self.manifests.deployments)
            },
            "manifests": str(self.settings.manifests_dir),
        }

    def log_files(self, namespace: str, name: str) -> list[tuple[str, Path]]:
        """(pod, log path) for a pod, or for every pod of a deployment."""
        key = f"{namespace}/{name}"
        if key in self.manifests.deployments:
            return [(p.name, p.log_path) for p in sorted(self.pods.get(key, []), key=lambda p: p.created)]
        pod = self.find_pod(namespace, name)
        return [(pod.name, pod.log_path)]

    def unhealthy_summary(self) -> str:
        parts = []
        for key in sorted(self.manifests.deployments):
            status = self.deployment_status(key)
            if not status["complete"]:
                parts.append(f"{key} {status['ready_text']}")
        return ", ".join(parts)

    def warn(self, reason: str, kind: str, namespace: str, name: str, message: str) -> None:
        self.events.record(WARNING, reason, kind, namespace, name, message)
