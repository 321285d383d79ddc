"""The cluster: Deployments reconciled into pods, Services onto local ports, scheduling.

``Cluster.reconcile`` runs at once after anything that matters changed (a pod's
readiness, a pod gone, scale, restart, apply) and once a second anyway. For each
Deployment it compares the pods of the current template hash with ``replicas``: it
creates and deletes pods, and while pods of an older template exist it rolls
(``maxSurge`` extra pods at most, at least ``replicas - maxUnavailable`` available,
defaults 25 %/25 %), or with ``Recreate`` stops the old pods first. When scaling down it
deletes not-ready pods first, then the newest. ``restart`` stamps the template with
``kubectl.kubernetes.io/restartedAt`` as ``kubectl rollout restart`` does, so the new
hash rolls every pod. Each template a Deployment runs is a ReplicaSet of
:mod:`~emulation.runtime.rollout` (revisions, ``rollout undo``).

Changes: every change of the desired state (the Kubernetes API's writes, ``scale``,
``restart``) goes through :meth:`Cluster.commit`: the changed objects are validated with
every other one as a set (:func:`~emulation.runtime.manifests.parse_documents`), and the
set is swapped in whole or not at all (a ManifestError leaves everything as it was).
Listeners (the Kubernetes API's object store) hear about every change.

Service local ports: the Services sorted by namespace and name, each port in order, get
``service_port_base``, ``+1``, ... unless ``nexuskit.dev/local-port`` pins one. The same
manifests give the same ports on every start; a Service added later gets the next free
port and keeps the others where they are.

Credentials: a pod's STS credentials are refreshed by rolling its Deployment when 80 %
of their lifetime has passed (a process cannot be handed new environment variables);
every token file (IRSA, projected, automounted) is rewritten in place when 80 % of its
lifetime has passed (``tokens.PodTokens``), so a client that reads it keeps working
without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import math
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulation.runtime.events import NORMAL, WARNING, EventLog
from emulation.runtime.exceptions import ObjectNotFoundError, ProcessRuntimeError
from emulation.runtime.identity import TokenIssuer
from emulation.runtime.manifests import Deployment, DocKey, Manifests, Origin, Service, parse_documents
from emulation.runtime.podenv import DnsShim
from emulation.runtime.pods import NAME_ALPHABET, Pod
from emulation.runtime.proxy import ServiceProxy
from emulation.runtime.rollout import RolloutHistory
from emulation.runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
API_ORIGIN = Origin(Path("the Kubernetes API"), 0)
REFRESH_FRACTION = 0.8
TICK_SECONDS = 1.0  # a fallback: every change that matters wakes the loop at once


class PortInUseError(ProcessRuntimeError):
    """A Service's local port is taken by another process."""


def _canonical(value: Any) -> Any:
    """Nulls and empty objects/lists dropped: the same template however a client wrote it."""
    if isinstance(value, dict):
        out = {k: _canonical(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in out.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def template_hash(raw_template: dict[str, Any]) -> str:
    """A stable 10-character hash of the pod template (like ``pod-template-hash``)."""
    payload = json.dumps(_canonical(raw_template), sort_keys=True)
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
        self.kube_port = 0  # the Kubernetes API's port (KUBERNETES_SERVICE_PORT in pods)
        self.ca_pem = ""  # its CA (ca.crt in the automounted service-account folder)
        self.pods: dict[str, list[Pod]] = {key: [] for key in manifests.deployments}
        self.replicas = {key: d.replicas for key, d in manifests.deployments.items()}
        self.deployment_created = {key: time.time() for key in manifests.deployments}
        self.history = RolloutHistory()
        self.service_ports = self._assign_ports(manifests)
        self.dns = DnsShim(self.service_ports)
        self.proxies: list[ServiceProxy] = []
        self.listeners: list[Callable[[], None]] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._used_ports: set[int] = set()
        self._last_housekeeping = 0.0
        self._hashes: dict[str, tuple[int, str]] = {}
        self._rebinding: asyncio.Task[None] | None = None

    # -- services ---------------------------------------------------------------------------
    def _assign_ports(
        self, manifests: Manifests, previous: dict[tuple[str, str], dict[int, int]] | None = None
    ) -> dict[tuple[str, str], dict[int, int]]:
        ports: dict[tuple[str, str], dict[int, int]] = {}
        taken = {p for mapping in (previous or {}).values() for p in mapping.values()}
        next_port = self.settings.service_port_base
        for key in sorted(manifests.services):
            service = manifests.services[key]
            mapping: dict[int, int] = {}
            before = (previous or {}).get((service.namespace, service.name), {})
            for index, port in enumerate(service.ports):
                if service.local_port is not None:
                    mapping[port.port] = service.local_port + index
                elif previous is not None and port.port in before:
                    mapping[port.port] = before[port.port]  # a running Service keeps its port
                else:
                    while previous is not None and next_port in taken:
                        next_port += 1
                    mapping[port.port] = next_port
                    taken.add(next_port)
                    next_port += 1
            ports[(service.namespace, service.name)] = mapping
        return ports

    def _bindings(self) -> dict[tuple[str, int, int, int | str], Any]:
        """(Service key, port, local port, target port) of every port to listen on."""
        out = {}
        for key in sorted(self.manifests.services):
            service = self.manifests.services[key]
            for port in service.ports:
                local = self.service_ports[(service.namespace, service.name)][port.port]
                out[(key, port.port, local, port.target)] = port
        return out

    async def start_services(self) -> None:
        """Bind every Service port not bound yet (fails fast when one is taken)."""
        bound = {(p.key, p.service_port, p.local_port, p.target) for p in self.proxies}
        for binding in self._bindings():
            if binding in bound:
                continue
            key, service_port, local, target = binding
            proxy = ServiceProxy(key, service_port, local, self._endpoints_fn(key, target))
            proxy.target = target
            try:
                await proxy.start()
            except OSError as exc:
                await self.stop_services()
                raise PortInUseError(
                    f"local port {local} for Service {key} (port {service_port}) is in use: {exc.strerror}"
                ) from None
            self.proxies.append(proxy)

    async def stop_services(self, only: set[tuple[str, int, int, int | str]] | None = None) -> None:
        """Stop every proxy (or those of ``only``)."""
        keep = []
        for proxy in self.proxies:
            if only is None or (proxy.key, proxy.service_port, proxy.local_port, proxy.target) in only:
                await proxy.stop()
            else:
                keep.append(proxy)
        self.proxies = keep

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
        """Something changed: reconcile soon, and tell the listeners."""
        self._wake.set()
        for listener in self.listeners:
            listener()

    async def run(self) -> None:
        while not self._stopping:
            for key in list(self.manifests.deployments):
                self.reconcile(key)
            self._housekeeping()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_SECONDS)

    def current_hash(self, key: str) -> str:
        """The template hash of the Deployment's current template (its ReplicaSet is recorded)."""
        deploy = self.manifests.deployments[key]
        cached = self._hashes.get(key)
        if cached is None or cached[0] != id(deploy):
            current = template_hash(deploy.raw_template)
            if cached is None or cached[1] != current or self.history.find(key, current) is None:
                doc = self.manifests.documents.get(("Deployment", deploy.namespace, deploy.name), {})
                annotations = dict((doc.get("metadata") or {}).get("annotations") or {})
                self.history.observe(key, deploy.name, current, deploy.raw_template, annotations)
            cached = (id(deploy), current)
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
            self._prune_history(key, current)
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

    def _prune_history(self, key: str, current: str) -> None:
        keep = {current, *(p.template_hash for p in self.pods[key])}
        self.history.prune(key, keep, self.manifests.deployments[key].revision_history_limit)

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
        self.wake()  # before the pod's own work: watchers hear of it first
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

    def delete_pod(self, namespace: str, name: str, grace: float | None = None) -> Pod:
        """``kubectl delete pod``: the pod terminates; its ReplicaSet makes a new one."""
        pod = self.find_pod(namespace, name)
        pod.delete(grace)
        self.wake()
        return pod

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
            for pod in members:
                if pod.deleting or pod.state != "running":
                    continue
                expire, issued = pod.credentials_expire, pod.credentials_issued
                current = pod.template_hash == self.current_hash(key)  # else: already being replaced
                due = bool(expire and issued and now > issued + REFRESH_FRACTION * (expire - issued))
                if due and current and self.settings.refresh_credentials:
                    try:
                        self.restart(key, why="credentials refresh")
                    except ProcessRuntimeError as exc:
                        log.warning("cannot roll %s to refresh its credentials: %s", key, exc)
                    break

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
        for listener in self.listeners:
            listener()

    # -- changes ----------------------------------------------------------------------------
    def commit(self, changes: dict[DocKey, dict[str, Any] | None]) -> Manifests:
        """Validate the objects with ``changes`` (None deletes) as a set and run it; ManifestError."""
        documents = dict(self.manifests.documents)
        origins = dict(self.manifests.origins)
        for key, doc in changes.items():
            if doc is None:
                documents.pop(key, None)
            else:
                documents[key] = doc
                origins[key] = API_ORIGIN
        items = [(origins.get(key, API_ORIGIN), doc) for key, doc in documents.items()]
        fresh = parse_documents(self.manifests.root, items, self.settings.min_token_seconds)
        fresh.files = self.manifests.files
        self.replace_manifests(fresh)
        return fresh

    def replace_manifests(self, fresh: Manifests) -> None:
        """Run ``fresh`` (already valid): new, changed and removed Deployments; Service ports."""
        removed = set(self.manifests.deployments) - set(fresh.deployments)
        for key in removed:
            for pod in self.pods.pop(key, []):
                pod.delete()
            self.replicas.pop(key, None)
            self.deployment_created.pop(key, None)
            self._hashes.pop(key, None)
            self.history.forget(key)
        for key, deploy in fresh.deployments.items():
            if key not in self.pods:
                self.pods[key] = []
                self.deployment_created[key] = time.time()
            was = self.replicas.get(key)
            if was is not None and was != deploy.replicas:
                direction = "up" if deploy.replicas > was else "down"
                rs = f"{deploy.name}-{template_hash(deploy.raw_template)}"
                self.events.record(
                    NORMAL,
                    "ScalingReplicaSet",
                    "Deployment",
                    deploy.namespace,
                    deploy.name,
                    f"Scaled {direction} replica set {rs} from {was} to {deploy.replicas}",
                )
            self.replicas[key] = deploy.replicas
        ports = self._assign_ports(fresh, self.service_ports)
        before = set(self._bindings())
        self.manifests = fresh
        self.service_ports = ports
        if ports != self.dns.ports:
            self.dns = DnsShim(ports)
        if set(self._bindings()) != before:  # only changed Service ports are rebound
            self._rebinding = asyncio.get_running_loop().create_task(self._rebind(before), name="rebind")
        self.wake()

    async def _rebind(self, before: set[tuple[str, int, int, int | str]]) -> None:
        await self.stop_services(before - set(self._bindings()))
        try:
            await self.start_services()
        except PortInUseError as exc:
            log.error("Services changed but cannot listen: %s", exc)

    async def settled(self) -> None:
        """Wait until the Services of the last change listen."""
        if self._rebinding is not None:
            await asyncio.shield(self._rebinding)

    def _deployment_document(self, namespace: str, name: str) -> dict[str, Any]:
        self.deployment(namespace, name)
        return copy.deepcopy(self.manifests.documents[("Deployment", namespace, name)])

    def deployment(self, namespace: str, name: str) -> Deployment:
        key = f"{namespace}/{name}"
        if key not in self.manifests.deployments:
            raise ObjectNotFoundError(f'deployments.apps "{name}" not found')
        return self.manifests.deployments[key]

    def scale(self, namespace: str, name: str, replicas: int) -> Deployment:
        """Set ``spec.replicas`` (ManifestError when out of range)."""
        doc = self._deployment_document(namespace, name)
        doc["spec"]["replicas"] = replicas
        return self.commit({("Deployment", namespace, name): doc}).deployments[f"{namespace}/{name}"]

    def restart(
        self, namespace_or_key: str, name: str | None = None, why: str = "rollout restart"
    ) -> Deployment:
        """Stamp ``restartedAt`` on the template, as ``kubectl rollout restart`` does: every pod rolls."""
        if name is None:
            namespace_or_key, _, name = namespace_or_key.partition("/")
        doc = self._deployment_document(namespace_or_key, name)
        metadata = doc["spec"]["template"].setdefault("metadata", {})
        annotations = metadata.get("annotations") or {}
        annotations[RESTARTED_AT] = datetime.now(UTC).isoformat(timespec="microseconds")
        metadata["annotations"] = annotations
        fresh = self.commit({("Deployment", namespace_or_key, name): doc})
        deploy = fresh.deployments[f"{namespace_or_key}/{name}"]
        self.events.record(
            NORMAL,
            "ScalingReplicaSet",
            "Deployment",
            deploy.namespace,
            deploy.name,
            f"Rolling out new replica set {deploy.name}-{self.current_hash(deploy.key)} ({why})",
        )
        return deploy

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
    def rollout_state(self, key: str) -> dict[str, Any]:
        """Counts of a Deployment's pods: desired, live, ready, updated, available, complete."""
        members = [p for p in self.pods.get(key, []) if not p.deleting]
        current = self.current_hash(key)
        desired = self.replicas[key]
        ready = sum(1 for p in members if p.ready)
        updated = sum(1 for p in members if p.template_hash == current)
        return {
            "desired": desired,
            "pods": len(members),
            "ready": ready,
            "updated": updated,
            "available": sum(1 for p in members if p.available),
            "complete": ready >= desired and updated == len(members) == desired,
            "template_hash": current,
        }

    def all_pods(self) -> list[Pod]:
        return [p for key in sorted(self.pods) for p in sorted(self.pods[key], key=lambda p: p.created)]

    def find_pod(self, namespace: str, name: str) -> Pod:
        for pod in self.all_pods():
            if pod.namespace == namespace and pod.name == name:
                return pod
        raise ObjectNotFoundError(f'pods "{name}" not found')

    def all_ready(self) -> bool:
        return all(self.rollout_state(key)["complete"] for key in self.manifests.deployments)

    def health(self) -> dict[str, Any]:
        deployments = {}
        for key in sorted(self.manifests.deployments):
            state = self.rollout_state(key)
            deployments[key] = f"{state['ready']}/{state['desired']}"
        return {
            "status": "ok",
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 3),
            "ready": self.all_ready(),
            "deployments": deployments,
            "manifests": str(self.settings.manifests_dir),
        }

    def unhealthy_summary(self) -> str:
        parts = []
        for key in sorted(self.manifests.deployments):
            state = self.rollout_state(key)
            if not state["complete"]:
                parts.append(f"{key} {state['ready']}/{state['desired']}")
        return ", ".join(parts)

    def warn(self, reason: str, kind: str, namespace: str, name: str, message: str) -> None:
        self.events.record(WARNING, reason, kind, namespace, name, message)
