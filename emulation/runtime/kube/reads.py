"""Reads: get, list, watch, and pod logs.

Lists carry the store's ``resourceVersion`` and honour ``labelSelector`` and
``fieldSelector`` (``limit`` is accepted; every item comes in one page). Asked for a
Table (what ``kubectl get`` asks for) they answer one. Watches stream
``{"type": ..., "object": ...}`` lines: from ``resourceVersion`` (``410 Expired`` as an
``ERROR`` event when it is older than the history), or the current objects as ``ADDED``
first (no version, ``0``, or ``sendInitialEvents=true``, which ends them with a
``BOOKMARK`` annotated ``k8s.io/initial-events-end``); with ``allowWatchBookmarks`` a
``BOOKMARK`` every ``bookmark_seconds``; until ``timeoutSeconds`` or the client leaves.
An object that stops matching the selectors is ``DELETED`` for that watch.

Logs (``pods/NAME/log``) are the current container run's lines (``previous=true``: the
run before), ``tailLines``, ``limitBytes``, ``container`` (the pod's one container);
``follow=true`` streams new output until the container exits or the pod is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

from emulation.runtime.exceptions import ObjectNotFoundError
from emulation.runtime.kube import errors
from emulation.runtime.kube.http import Request, Stream, send_bytes
from emulation.runtime.kube.selectors import field_matcher, label_matcher
from emulation.runtime.kube.tables import table, wants_table
from emulation.runtime.kube.workloads import scale_object

if TYPE_CHECKING:
    from emulation.runtime.kube.server import KubeApi, Target
    from emulation.runtime.pods import Pod

WATCH_SECONDS = 1800
LOG_POLL_SECONDS = 0.05
CLOSED_CHECK_SECONDS = 5.0


class Reads:
    def __init__(self, api: KubeApi) -> None:
        self.api = api
        self.store = api.store

    async def handle(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        if target.sub == "log":
            await self.logs(request, writer, target)
        elif target.verb == "get":
            obj = self.get(target)
            if target.sub == "scale":
                obj = scale_object(obj)
            elif wants_table(request.headers.get("accept", "")):
                obj = table(
                    target.resource.id,
                    [obj],
                    str(self.store.rv),
                    request.query.get("includeObject", "Metadata"),
                )
            await self.api.respond(request, writer, 200, obj)
        elif target.verb == "list":
            await self.list(request, writer, target)
        else:
            await self.watch(request, writer, target)

    def get(self, target: Target) -> dict[str, Any]:
        res = target.resource
        namespace = target.namespace if res.namespaced else ""
        obj = self.store.get(res.id, namespace, target.name)
        if obj is None:
            raise errors.not_found(res.plural, res.group, target.name)
        return obj

    def _matching(self, request: Request, target: Target) -> list[dict[str, Any]]:
        labels = label_matcher(request.query.get("labelSelector"))
        fields = field_matcher(request.query.get("fieldSelector"), target.resource.id)
        namespace = target.namespace if target.resource.namespaced and target.namespace else None
        return [o for o in self.store.items(target.resource.id, namespace) if labels(o) and fields(o)]

    async def list(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        res = target.resource
        items = self._matching(request, target)
        version = str(self.store.rv)
        if wants_table(request.headers.get("accept", "")):
            body = table(res.id, items, version, request.query.get("includeObject", "Metadata"))
        else:
            body = {
                "kind": f"{res.kind}List",
                "apiVersion": res.group_version,
                "metadata": {"resourceVersion": version},
                "items": items,
            }
        await self.api.respond(request, writer, 200, body)

    # -- watch ------------------------------------------------------------------------------
    async def watch(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        res = target.resource
        labels = label_matcher(request.query.get("labelSelector"))
        fields = field_matcher(request.query.get("fieldSelector"), res.id)
        namespace = target.namespace if res.namespaced and target.namespace else None
        raw_version = request.query.get("resourceVersion", "")
        initial_events = request.flag("sendInitialEvents")
        bookmarks = request.flag("allowWatchBookmarks")
        timeout = request.int_param("timeoutSeconds") or WATCH_SECONDS
        as_table = wants_table(request.headers.get("accept", ""))
        include = request.query.get("includeObject", "Metadata")

        def matches(obj: dict[str, Any]) -> bool:
            return labels(obj) and fields(obj)

        watcher = self.store.subscribe(res.id, namespace)
        stream = Stream(writer)
        self.api.streams.add(writer)
        try:
            visible: set[tuple[str, str]] = set()
            error: errors.KubeError | None = None
            if raw_version in {"", "0"} or initial_events:
                backlog = [
                    (self.store.rv, "ADDED", o) for o in self.store.items(res.id, namespace) if matches(o)
                ]
            else:
                if not raw_version.isdigit():
                    raise errors.BadRequestError(f"resourceVersion: Invalid value: {raw_version!r}")
                visible = {_key(o) for o in self.store.items(res.id, namespace) if matches(o)}
                try:
                    backlog = self.store.changes_since(res.id, namespace, int(raw_version))
                except errors.GoneError as exc:
                    backlog, error = [], exc
            content = "application/json;as=Table;v=v1;g=meta.k8s.io" if as_table else "application/json"
            await stream.start(content)

            async def send(kind: str, obj: dict[str, Any]) -> None:
                if as_table and kind not in {"BOOKMARK", "ERROR"}:
                    obj = table(res.id, [obj], obj["metadata"].get("resourceVersion", ""), include)
                await stream.send(
                    json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"
                )

            if error is not None:
                await send("ERROR", error.status())
                await stream.end()
                return
            for _, kind, obj in backlog:
                decided = _decide(kind, obj, matches(obj), visible)
                if decided:
                    await send(decided, obj)
            if initial_events and bookmarks:
                await send("BOOKMARK", self._bookmark(target, initial_end=True))
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + self.api.bookmark_seconds
            while not writer.is_closing():
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = min(deadline - now, CLOSED_CHECK_SECONDS)
                if bookmarks:
                    wait = min(wait, max(0.0, next_bookmark - now))
                try:
                    item = await asyncio.wait_for(watcher.queue.get(), wait)
                except TimeoutError:
                    if bookmarks and time.monotonic() >= next_bookmark:
                        await send("BOOKMARK", self._bookmark(target))
                        next_bookmark = time.monotonic() + self.api.bookmark_seconds
                    continue
                if item is None:  # the client fell behind
                    break
                _, kind, obj = item
                decided = _decide(kind, obj, matches(obj), visible)
                if decided:
                    await send(decided, obj)
            await stream.end()
        finally:
            self.store.unsubscribe(watcher)
            self.api.streams.discard(writer)

    def _bookmark(self, target: Target, initial_end: bool = False) -> dict[str, Any]:
        metadata: dict[str, Any] = {"resourceVersion": str(self.store.rv)}
        if initial_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {
            "kind": target.resource.kind,
            "apiVersion": target.resource.group_version,
            "metadata": metadata,
        }

    # -- logs -------------------------------------------------------------------------------
    def _pod(self, target: Target) -> Pod:
        try:
            return self.api.cluster.find_pod(target.namespace, target.name)
        except ObjectNotFoundError:
            raise errors.not_found("pods", "", target.name) from None

    async def logs(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        pod = self._pod(target)
        container = pod.deploy.template.container.name
        wanted = request.query.get("container") or container
        if wanted != container:
            raise errors.BadRequestError(f"container {wanted} is not valid for pod {pod.name}")
        runs = list(pod.run_starts)
        previous = request.flag("previous")
        if previous and len(runs) < 2:
            raise errors.BadRequestError(
                f'previous terminated container "{container}" in pod "{pod.name}" not found'
            )
        if not runs:
            raise errors.BadRequestError(
                f'container "{container}" in pod "{pod.name}" is waiting to start: '
                f"{pod.reason or 'ContainerCreating'}"
            )
        start, end = (runs[-2], runs[-1]) if previous else (runs[-1], None)
        try:
            with open(pod.log_path, "rb") as fh:
                fh.seek(start)
                data = fh.read() if end is None else fh.read(end - start)
        except FileNotFoundError:
            data = b""
        offset = start + len(data)
        tail = request.int_param("tailLines")
        if tail is not None and tail >= 0:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-tail:]) if tail else b""
        limit = request.int_param("limitBytes")
        if limit is not None and limit > 0:
            data = data[:limit]
        if not request.flag("follow") or previous:
            await send_bytes(writer, 200, data, "text/plain")
            return
        stream = Stream(writer)
        self.api.streams.add(writer)
        try:
            await stream.start("text/plain")
            await stream.send(data)
            while not writer.is_closing():
                await asyncio.sleep(LOG_POLL_SECONDS)
                fresh = b""
                with contextlib.suppress(FileNotFoundError), open(pod.log_path, "rb") as fh:
                    fh.seek(offset)
                    fresh = (
                        fh.read()
                        if len(pod.run_starts) == len(runs)
                        else fh.read(pod.run_starts[len(runs)] - offset)
                    )
                offset += len(fresh)
                await stream.send(fresh)
                gone = pod not in self.api.cluster.pods.get(f"{pod.namespace}/{pod.deployment}", [])
                if (gone or len(pod.run_starts) != len(runs) or pod.state == "terminated") and not fresh:
                    break
            await stream.end()
        finally:
            self.api.streams.discard(writer)


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


def _decide(kind: str, obj: dict[str, Any], matches: bool, visible: set[tuple[str, str]]) -> str | None:
    """The event type this watch sends for a change (selectors turn some into ADDED/DELETED)."""
    key = _key(obj)
    if kind == "DELETED":
        if key in visible or matches:
            visible.discard(key)
            return "DELETED"
        return None
    if matches:
        sent = kind if key in visible or kind == "ADDED" else "ADDED"
        visible.add(key)
        return sent
    if key in visible:
        visible.discard(key)
        return "DELETED"
    return None
