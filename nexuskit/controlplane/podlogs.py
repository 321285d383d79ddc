"""Pod logs through the Kubernetes API: one pod's, or every pod's of a Deployment, followed.

``nexuskit logs NAME`` takes a Deployment, a Service (its Deployment) or a pod, as
``name`` or ``namespace/name``. A Deployment's lines are prefixed with ``[pod] ``.

:class:`LogStreams` follows: one reader thread per pod (``pods/NAME/log?follow=true``, as
``kubectl logs -f``), a watch on the Deployment's pods so new pods join, and a new stream
when a container restarts. :meth:`LogStreams.close` shuts every connection and joins
every thread (nothing leaks).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneError
from nexuskit.controlplane.cluster import list_pods, pod_entry, services
from nexuskit.controlplane.kube import apps, call, core

log = logging.getLogger(__name__)

RESTART_POLL_S = 0.5


@dataclass(frozen=True)
class LogTarget:
    namespace: str
    deployment: str | None  # every pod of it (prefixed), or
    pod: str | None  # one pod

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.deployment or self.pod}"


def resolve_target(settings: KitSettings, name: str) -> LogTarget:
    """A Deployment, the Deployment of a Service, or a pod named ``name`` (or ``namespace/name``)."""
    namespace, _, short = name.rpartition("/")
    body = json.loads(
        call("deployments", apps(settings).list_deployment_for_all_namespaces, _preload_content=False).data
    )
    found = [
        d["metadata"]
        for d in body.get("items", [])
        if d["metadata"]["name"] == short and namespace in ("", d["metadata"]["namespace"])
    ]
    if len(found) == 1:
        return LogTarget(found[0]["namespace"], found[0]["name"], None)
    for service in services(settings):
        if service["name"] == short and namespace in ("", service["namespace"]):
            owners = [
                d["metadata"]
                for d in body.get("items", [])
                if d["metadata"]["namespace"] == service["namespace"]
                and all(
                    ((d["spec"]["template"].get("metadata") or {}).get("labels") or {}).get(k) == v
                    for k, v in service["selector"].items()
                )
            ]
            if owners and service["selector"]:
                return LogTarget(owners[0]["namespace"], owners[0]["name"], None)
    for pod in list_pods(settings):
        meta = pod["metadata"]
        if meta["name"] == short and namespace in ("", meta["namespace"]):
            return LogTarget(meta["namespace"], None, meta["name"])
    raise ControlPlaneError(f"no deployment, service or pod named {name!r}", "see `nexuskit ps`")


def _pods(settings: KitSettings, target: LogTarget) -> list[dict[str, Any]]:
    pods = [pod_entry(p) for p in list_pods(settings, target.namespace)]
    if target.pod:
        return [p for p in pods if p["name"] == target.pod]
    return sorted((p for p in pods if p["deployment"] == target.deployment), key=lambda p: -p["age"])


def tail_lines(settings: KitSettings, target: LogTarget, tail: int | None) -> list[str]:
    """The current container run's last ``tail`` lines of each pod (all without ``tail``)."""
    lines: list[str] = []
    for pod in _pods(settings, target):
        kwargs: dict[str, Any] = {"tail_lines": tail} if tail is not None and tail >= 0 else {}
        try:
            text = call(
                f"log of {pod['name']}",
                core(settings).read_namespaced_pod_log,
                pod["name"],
                target.namespace,
                _preload_content=False,
                **kwargs,
            ).data.decode("utf-8", "replace")
        except ControlPlaneError as exc:
            log.info("no log for %s: %s", pod["name"], exc)
            continue
        prefix = f"[{pod['name']}] " if target.deployment else ""
        lines += [prefix + line for line in text.splitlines()]
    return lines


class LogStreams:
    """Follows ``target``'s pods; :meth:`lines` yields their lines until :meth:`close`."""

    def __init__(self, settings: KitSettings, target: LogTarget, tail: int | None = None) -> None:
        self.settings = settings
        self.target = target
        self.tail = tail
        self.out: queue.Queue[str] = queue.Queue()
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._followed: set[str] = set()
        self._responses: set[Any] = set()
        self._lock = threading.Lock()

    def start(self) -> LogStreams:
        for pod in _pods(self.settings, self.target):
            self._follow(pod["name"], self.tail)
        if self.target.deployment:
            self._spawn(self._watch_new_pods, "log-pods")
        return self

    def _spawn(self, fn: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=fn, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _follow(self, pod: str, tail: int | None) -> None:
        with self._lock:
            if pod in self._followed or self.stop.is_set():
                return
            self._followed.add(pod)
        self._spawn(self._read, f"log-{pod}", pod, tail)

    def _open(self, pod: str, tail: int | None) -> Any:
        kwargs: dict[str, Any] = {"tail_lines": tail} if tail is not None and tail >= 0 else {}
        api = core(self.settings)
        response = call(
            f"log of {pod}",
            api.read_namespaced_pod_log,
            pod,
            self.target.namespace,
            follow=True,
            _preload_content=False,
            _request_timeout=None,
            **kwargs,
        )
        with self._lock:
            self._responses.add(response)
        return response

    def _restarts(self, pod: str) -> int | None:
        """The pod's restart count, or None once it is gone."""
        try:
            raw = call(
                f"pod {pod}",
                core(self.settings).read_namespaced_pod,
                pod,
                self.target.namespace,
                _preload_content=False,
            )
        except ControlPlaneError:
            return None
        entry = pod_entry(json.loads(raw.data))
        return None if entry["phase"] == "Terminating" else int(entry["restarts"])

    def _read(self, pod: str, tail: int | None) -> None:
        prefix = f"[{pod}] " if self.target.deployment else ""
        restarts = self._restarts(pod)
        while not self.stop.is_set() and restarts is not None:
            try:
                response = self._open(pod, tail)
            except ControlPlaneError as exc:  # not started yet: try again shortly
                log.debug("log of %s: %s", pod, exc)
                response = None
            if response is not None:
                try:
                    for raw in response:
                        if self.stop.is_set():
                            break
                        self.out.put(prefix + raw.decode("utf-8", errors="replace").rstrip("\n"))
                except Exception as exc:  # a shut or broken connection ends this run's stream
                    if not self.stop.is_set():
                        log.info("log stream of %s ended: %s", pod, exc)
                finally:
                    with self._lock:
                        self._responses.discard(response)
                    response.release_conn()
            tail = None
            while not self.stop.is_set():  # the next run, or the end of the pod
                time.sleep(RESTART_POLL_S)
                now = self._restarts(pod)
                if now is None or now != restarts:
                    restarts = now
                    break

    def _watch_new_pods(self) -> None:
        while not self.stop.wait(RESTART_POLL_S):
            try:
                for pod in _pods(self.settings, self.target):
                    self._follow(pod["name"], None)
            except ControlPlaneError as exc:
                log.info("cannot list the pods of %s: %s", self.target.label, exc)

    def lines(self, interval: float = 0.2) -> Iterator[str]:
        while not self.stop.is_set():
            try:
                yield self.out.get(timeout=interval)
            except queue.Empty:
                continue

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        with self._lock:
            responses = list(self._responses)
        for response in responses:
            sock = getattr(getattr(response, "connection", None), "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()


def logs(settings: KitSettings, name: str, tail: int | None = None, follow: bool = False) -> Iterator[str]:
    """Lines of a Deployment's (or Service's, or pod's) logs; with ``follow`` until interrupted."""
    target = resolve_target(settings, name)
    if not follow:
        yield from tail_lines(settings, target, tail)
        return
    streams = LogStreams(settings, target, tail).start()
    try:
        yield from streams.lines()
    finally:
        streams.close()
