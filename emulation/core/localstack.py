"""LocalStack's internal endpoints (``/_localstack/...``), for LocalStack's tooling.

Tools built for LocalStack (``localstack wait``/``status``, testcontainers' LocalStack
module, docker-compose health checks, awslocal/tflocal wrappers) poll these paths; the
engine answers them in LocalStack's JSON shapes with its own, truthful values:

* ``GET|HEAD /_localstack/health`` (``?reload`` accepted and harmless)::

      {"services": {"s3": "running", "kinesis": "available", ...},
       "features": {"initScripts": "initialized", "persistence": "enabled"},
       "edition": "nexuskit", "version": "<nexuskit version>"}

  The services are those the platform uses (the engine's warm-up list) plus every service
  the engine has served since it started. A service is ``running`` once it has been loaded
  (warm-up) or used, ``available`` while it would be loaded on its first request, and
  ``error`` when its warm-up failed or while the engine refuses writes (a degraded state
  dir, see :mod:`emulation.core.storage`). ``HEAD`` answers 200 with no body.
* ``GET /_localstack/info``: ``version``, ``edition``, ``is_license_activated`` (false),
  ``session_id`` (random per engine start), ``machine_id`` (random per engine start, never
  the host's id), ``system``, ``is_docker`` (false), ``server_time_utc``, ``uptime``.
* ``GET /_localstack/init`` and ``/_localstack/init/<stage>``: the init-hook status. The
  engine runs no init scripts: every start-up stage is completed and the list is empty.

They answer without credentials (as LocalStack's do), reveal no path, key or setting, and
change nothing: any other method is refused (405). A request that carries an ``Origin``
(a browser page) is refused, as for the engine's own API.
"""

from __future__ import annotations

import functools
import platform
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Response

PREFIX = "/_localstack/"
EDITION = "nexuskit"
#: LocalStack's init stages, in order; all but SHUTDOWN are completed once the engine serves
INIT_STAGES = ("BOOT", "START", "READY", "SHUTDOWN")

# LocalStack's service states (its ``ServiceState`` vocabulary)
RUNNING = "running"
AVAILABLE = "available"
ERROR = "error"

#: moto backend names whose AWS service (LocalStack's key: the SigV4 signing name) differs
_ALIASES = {
    "awslambda": "lambda",
    "awslambda_simple": "lambda",
    "apigatewayv2": "apigateway",
    "bedrockruntime": "bedrock",
    "bedrockagent": "bedrock",
    "dynamodb_v20111205": "dynamodb",
    "dynamodbstreams": "dynamodb",
}
#: moto's own apps that are not AWS services
_NOT_SERVICES = frozenset({"moto_api", "instance_metadata"})


def service_name(backend: str) -> str:
    """The AWS service (as LocalStack names it) of a moto backend name."""
    return _ALIASES.get(backend, backend)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nexuskit")
    except PackageNotFoundError:
        return "unknown"


class ServiceStates:
    """Which AWS services the engine has loaded or served (for ``/_localstack/health``)."""

    def __init__(self, platform_backends: Iterable[str]) -> None:
        self.platform = tuple(dict.fromkeys(service_name(b) for b in platform_backends))
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._failed: set[str] = set()
        self._known: frozenset[str] | None = None

    def _known_services(self) -> frozenset[str]:
        if self._known is None:
            from moto.backends import list_of_moto_modules

            names = {service_name(name) for name in list_of_moto_modules()} - _NOT_SERVICES
            self._known = frozenset(names | set(self.platform))
        return self._known

    def loaded(self, backend: str) -> None:
        """A service was loaded (imported and its app built)."""
        with self._lock:
            self._running.add(service_name(backend))
            self._failed.discard(service_name(backend))

    def failed(self, backend: str) -> None:
        """Loading a service failed (it will be tried again on its first request)."""
        with self._lock:
            self._failed.add(service_name(backend))

    def used(self, signing_name: str | None) -> None:
        """A request for this service (its SigV4 signing name) was served."""
        if not signing_name:
            return
        name = service_name(signing_name.lower())
        if name in self._running:
            return
        # Only names of services the engine knows: the signing name is the caller's text.
        if name in self._known_services():
            with self._lock:
                self._running.add(name)
                self._failed.discard(name)

    def states(self, apps: Iterable[str], degraded: bool) -> dict[str, str]:
        """Every service's state; ``apps`` are the moto apps built so far (backend names)."""
        for backend in list(apps):
            if isinstance(backend, str) and backend not in _NOT_SERVICES:
                self.loaded(backend)
        with self._lock:
            running, failed = set(self._running), set(self._failed)
        names = sorted(set(self.platform) | running | failed)
        states: dict[str, str] = {}
        for name in names:
            if degraded or name in failed:
                states[name] = ERROR
            elif name in running:
                states[name] = RUNNING
            else:
                states[name] = AVAILABLE
        return states


class LocalStackApi:
    """Answers ``/_localstack/...`` (see the module docstring)."""

    def __init__(
        self,
        states: ServiceStates,
        apps: Callable[[], Iterable[str]],
        degraded: Callable[[], bool],
        persistence: bool,
        started_at: float,
    ) -> None:
        self.states = states
        self._apps = apps
        self._degraded = degraded
        self.persistence = persistence
        self.started_at = started_at
        self.session_id = str(uuid.uuid4())
        self.machine_id = f"gen_{uuid.uuid4().hex[:12]}"

    @functools.cached_property
    def version(self) -> str:
        """nexuskit's version, read when first asked (reading the installed metadata costs
        a few milliseconds of the engine's start)."""
        return _version()

    def health(self) -> dict[str, Any]:
        return {
            "services": self.states.states(self._apps(), self._degraded()),
            "features": {
                "initScripts": "initialized",
                "persistence": "enabled" if self.persistence else "disabled",
            },
            "edition": EDITION,
            "version": self.version,
        }

    def info(self) -> dict[str, Any]:
        now = datetime.now(UTC).replace(tzinfo=None)
        return {
            "version": self.version,
            "edition": EDITION,
            "is_license_activated": False,
            "session_id": self.session_id,
            "machine_id": self.machine_id,
            "system": platform.system().lower(),
            "is_docker": False,
            "server_time_utc": now.isoformat(timespec="seconds"),
            "uptime": int(time.time() - self.started_at),
        }

    @staticmethod
    def init(stage: str | None) -> dict[str, Any] | None:
        if stage is None:
            return {"completed": {name: name != "SHUTDOWN" for name in INIT_STAGES}, "scripts": []}
        if stage.upper() not in INIT_STAGES:
            return None
        return {"completed": stage.upper() != "SHUTDOWN", "scripts": []}

    def answer(self, method: str, path: str) -> Response:
        """The answer to ``method path`` (``path`` starts with ``/_localstack/``)."""
        route = path[len(PREFIX) :].strip("/")
        if method not in {"GET", "HEAD"}:
            return _json({"message": f"{method} is not allowed on {path}"}, 405, {"Allow": "GET, HEAD"})
        if route == "health":
            if method == "HEAD":
                return Response(b"", status=200)
            return _json(self.health())
        if route == "info":
            return _json(self.info())
        if route == "init" or route.startswith("init/"):
            _, _, stage = route.partition("/")
            doc = self.init(stage or None)
            if doc is None:
                return _json({"message": f"no such stage {stage}"}, 404)
            return _json(doc)
        return _json({"message": f"no such endpoint: {path}"}, 404)


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    import json

    return Response(json.dumps(payload), status=status, headers=headers, mimetype="application/json")
