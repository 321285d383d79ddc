"""Kubernetes-style events: what happened to which object, newest last.

Reasons follow the kubelet and controllers: ``Scheduled``, ``FailedScheduling``,
``Created``, ``Started``, ``Killing``, ``Unhealthy``, ``BackOff``, ``Failed``,
``ScalingReplicaSet``, ``SuccessfulCreate``, ``SuccessfulDelete``, plus the runtime's
``WaitingForDependencies``, ``AssumedRole`` and ``FailedAssumeRole``. A repeat of the
same reason and message for the same object bumps ``count`` instead of adding a line
(and takes a new ``id``, so "since ID" finds it again). ``name`` is the event's own,
stable name (``<object>.<hex>``, as Kubernetes names events); ``uid`` is the involved
object's when the recorder knows it. Listeners hear of every new or bumped event.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("emulation.runtime.events")

NORMAL = "Normal"
WARNING = "Warning"


@dataclass
class Event:
    id: int
    type: str
    reason: str
    kind: str
    namespace: str
    name: str
    message: str
    first_time: float
    last_time: float
    count: int = 1
    uid: str = ""  # the involved object's
    event_name: str = ""  # the event's own name (``<object>.<hex>``)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "reason": self.reason,
            "object": f"{self.kind}/{self.name}",
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "message": self.message,
            "count": self.count,
            "first_time": self.first_time,
            "last_time": self.last_time,
        }


class EventLog:
    """A bounded in-memory list of events (the newest ``limit``)."""

    def __init__(self, limit: int = 2000) -> None:
        self._events: deque[Event] = deque(maxlen=limit)
        self._last_by_object: dict[tuple[str, str, str], Event] = {}
        self._next_id = 1
        self.listeners: list[Callable[[Event], None]] = []

    def record(
        self, type_: str, reason: str, kind: str, namespace: str, name: str, message: str, uid: str = ""
    ) -> Event:
        event = self._record(type_, reason, kind, namespace, name, message, uid)
        for listener in self.listeners:
            listener(event)
        return event

    def events(self) -> list[Event]:
        """Every kept event, oldest first."""
        return list(self._events)

    def _record(
        self, type_: str, reason: str, kind: str, namespace: str, name: str, message: str, uid: str
    ) -> Event:
        now = time.time()
        key = (kind, namespace, name)
        last = self._last_by_object.get(key)
        if last is not None and last.reason == reason and last.message == message:
            last.count += 1
            last.last_time = now
            last.id = self._take_id()
            self._events.remove(last)
            self._events.append(last)
            return last
        event = Event(self._take_id(), type_, reason, kind, namespace, name, message, now, now, 1, uid)
        event.event_name = f"{name}.{int(now * 1e9):x}{event.id:04x}"
        if len(self._events) == self._events.maxlen:
            dropped = self._events[0]
            if self._last_by_object.get((dropped.kind, dropped.namespace, dropped.name)) is dropped:
                del self._last_by_object[(dropped.kind, dropped.namespace, dropped.name)]
        self._events.append(event)
        self._last_by_object[key] = event
        level = logging.WARNING if type_ == WARNING else logging.INFO
        log.log(level, "%s %s/%s/%s: %s", reason, kind, namespace, name, message)
        return event

    def _take_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    def list(
        self, namespace: str | None = None, since: int = 0, name: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            e.as_dict()
            for e in self._events
            if e.id > since
            and (namespace is None or e.namespace == namespace)
            and (name is None or e.name == name or e.name.startswith(f"{name}-"))
        ]
