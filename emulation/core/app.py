"""The engine's WSGI application: nexuskit's extensions in front of moto's server.

Each request is parsed once (:class:`AwsRequest`), offered to the extensions in order,
and otherwise handed to moto's ``DomainDispatcherApplication`` unchanged. Requests hold
the state lock shared, so a snapshot (which takes it exclusively) sees a consistent state.

Before any of that, the engine protects itself from the rest of the laptop:

* a ``Host`` that is not one of the engine's names is refused (DNS rebinding,
  :mod:`emulation.core.hosts`);
* ``/_nexus/*`` (health, snapshot, reset) and ``/moto-api/*`` answer the engine's admin
  only, and nothing that carries an ``Origin`` (:mod:`emulation.core.admin`,
  :mod:`emulation.core.motoapi`); an anonymous ``GET /_nexus/health`` gets
  ``{"status": "ok"}`` and nothing more;
* moto's blanket CORS headers are dropped; S3 answers CORS from each bucket's own
  configuration (:mod:`emulation.core.cors`);
* LocalStack's internal endpoints (``/_localstack/health``, ``info``, ``init``) answer
  without credentials, read-only, revealing nothing, and never to a request with an
  ``Origin`` (:mod:`emulation.core.localstack`).

LocalStack's host names work as they do there: ``s3.localhost.localstack.cloud`` is
path-style S3 (moto is handed ``localhost.localstack.cloud``, which it reads so; everything
before moto, signature checks included, sees the name the client signed),
``<bucket>.s3.localhost.localstack.cloud`` virtual-host S3, and
``<api-id>.execute-api.localhost.localstack.cloud`` an HTTP API's data plane.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import os
import pickle
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from werkzeug.wrappers import Response

from emulation.core import compilecache, cors, faults, moto_compat, s3store
from emulation.core.admin import AdminAuth
from emulation.core.exceptions import engine_refusal
from emulation.core.extension import Extension
from emulation.core.hosts import HostPolicy, is_localstack_s3_path_host, path_style_host
from emulation.core.imports import when_imported
from emulation.core.localstack import PREFIX as LOCALSTACK_PREFIX
from emulation.core.localstack import LocalStackApi, ServiceStates
from emulation.core.locks import StateLock
from emulation.core.motoapi import DISABLED, MotoApi
from emulation.core.persistence import StateStore
from emulation.core.request import DEFAULT_ACCOUNT_ID, AwsRequest
from emulation.core.settings import EngineSettings
from emulation.core.storage import MIB, StorageGuard
from emulation.iam.actions import is_execute_api, s3_bucket_and_key

log = logging.getLogger(__name__)

NEXUS_API_PREFIX = "/_nexus/"
MOTO_API_PREFIX = "/moto-api"
ADMIN_ONLY = (
    "the engine API answers the engine's admin only: sign the request with the stack's admin "
    "keys (<state_dir>/credentials.json) or send 'Authorization: Bearer <content of "
    "<state_dir>/engine-token>'"
)
CROSS_ORIGIN = "the engine API refuses requests that carry an Origin header (browser requests)"
#: moto services ``nexuskit up`` provisions (and nothing else: every service loaded here
#: stays in the engine's RSS): with ``--warm-up platform`` (what ``nexuskit up`` asks
#: for) imported in the background at start-up, in the order the first `up` needs them, so
#: that no request pays for an import. S3 comes first: it is
#: what readiness probes and most first calls ask for, so the first answer waits on the
#: warm-up's import of it instead of sharing the CPU with an import it does not need.
WARM_SERVICES: tuple[str, ...] = (
    "s3",
    "logs",
    "iam",
    "sts",
    "lakeformation",
    "kinesis",
    "dynamodb",
    "kinesisvideo",
    "firehose",
    "secretsmanager",
    "ec2",
    "eks",
    "awslambda",
    "apigatewayv2",
    "glue",
)


#: how long the engine must have served no request before the warm-up imports a service
WARM_UP_QUIET_S = 0.2

#: the botocore model moto parses a service's requests with (and builds responses from)
WARM_MODELS: dict[str, str] = {
    "sts": "sts",
    "iam": "iam",
    "s3": "s3",
    "lakeformation": "lakeformation",
    "kinesis": "kinesis",
    "kinesisvideo": "kinesisvideo",
    "firehose": "firehose",
    "ec2": "ec2",
    "eks": "eks",
    "awslambda": "lambda",
    "apigatewayv2": "apigatewayv2",
    "glue": "glue",
}


def _freeze_loaded() -> None:
    """Collect once, move what is left (loaded modules, models: it lives as long as the
    engine) out of the collector's sight, and give the freed C heap back to the system."""
    gc.collect()
    gc.freeze()
    _release_free_heap()


def _release_free_heap() -> None:
    """Give the C heap's free pages back to the system (glibc only; elsewhere a no-op)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers, mimetype="application/json")


class EngineApp:
    """WSGI app: the nexuskit API under ``/_nexus/``, the extensions, then moto."""

    def __init__(self, settings: EngineSettings, extensions: Iterable[Extension] = ()) -> None:
        self.settings = settings
        self.extensions = sorted(extensions, key=lambda ext: ext.order)
        self.state_lock = StateLock()
        self.moto = moto_compat.dispatcher()
        self.store = StateStore(settings.state_dir) if settings.state_dir and settings.persist else None
        store = self.store
        if store is not None:
            # S3 bodies go to the blob store and S3 changes are recorded as moto makes them
            # (installed the moment moto's S3 is imported: an engine that never uses S3
            # never imports it).
            when_imported("moto.s3.models", lambda _module: store.s3.install())
            for ext in self.extensions:
                if _has_durable_state(ext):
                    store.s3.add_companion(ext.name, functools.partial(_pickled_durable_state, ext))
        self.storage = StorageGuard(
            settings.state_dir if store is not None else None,
            settings.disk_reserve_mb * MIB,
            snapshot_bytes=lambda: store.generation_bytes if store is not None else 0,
        )
        self.started_at = time.time()
        #: set when the engine stops: every request from then on is refused (503)
        self.stopping = False
        self.requests = 0
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        #: when the last request ended (``time.monotonic``): the warm-up waits for quiet
        self._quiet_since = time.monotonic()
        self._dirty: set[str] = set()
        self._dirty_lock = threading.Lock()
        # One snapshot at a time: its files are written after the state lock is released.
        self._snapshot_lock = threading.Lock()
        self.restored: list[str] = []
        self.admin = AdminAuth(settings)
        self.hosts = HostPolicy(settings.allowed_hosts)
        self.moto_api = MotoApi(settings.moto_api, self.reset)
        # the platform's services: moto's (warmed up) and Bedrock (the engine's own, running
        # from the start: its extension marks it loaded)
        self.services = ServiceStates((*WARM_SERVICES, "bedrockruntime"))
        self.localstack = LocalStackApi(
            self.services,
            apps=lambda: list(self.moto.app_instances.copy()),
            degraded=lambda: self.storage.degraded is not None,
            persistence=self.store is not None,
            started_at=self.started_at,
        )

    # -- state ----------------------------------------------------------------------------
    def mark_dirty(self, *services: str) -> None:
        """Record that these services' state changed (the next snapshot writes them)."""
        with self._dirty_lock:
            self._dirty.update(services)

    def take_dirty(self) -> set[str]:
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, set()
        return dirty

    def backend(self, service: str, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> Any:
        """moto's backend for a service, account and region (for extensions)."""
        from moto.backends import get_backend

        return get_backend(service)[account_id][region]  # type: ignore[call-overload]

    def restore(self) -> None:
        """Load persisted state, then let each extension restore its own (in order)."""
        if self.store is None:
            return
        with self.state_lock.exclusive():
            self.restored, extras = self.store.restore()
            generation = self.store.generation
            for ext in self.extensions:
                ext.restore_state(extras.get(ext.name), generation)
                if _has_durable_state(ext):
                    blob = self.store.s3.companion(ext.name)
                    if blob is not None:
                        ext.restore_durable_state(pickle.loads(blob))
        if self.restored:
            log.info("restored state of %s", ", ".join(sorted(self.restored)))

    def snapshot(self, services: set[str] | None = None) -> None:
        """Persist the given services (all in use when None) as one new generation.

        Extension state is taken in the same frozen moment, so checkpoints and the
        objects they describe are always restored together.
        """
        if self.store is None:
            return
        with self._snapshot_lock:
            started = time.perf_counter()
            with self.state_lock.exclusive():
                # S3 changes background writers (Firehose deliveries) made since their last
                # flush, first: S3's rows must hold at least what the snapshot describes.
                try:
                    self.store.s3.flush()
                except OSError as exc:
                    self.storage.snapshot_failed(exc)
                    raise
                garbage = self.store.s3.collect_garbage()
                if services is not None:
                    # Services changed since the caller took its dirty set are written too:
                    # extension state taken now must not run ahead of the services it describes.
                    # (They stay dirty, so a failed write is retried by the next snapshot.)
                    with self._dirty_lock:
                        services = set(services) | self._dirty
                generation = self.store.generation + 1
                captured = self.storage.pending  # what this frozen state holds unwritten
                extras = {ext.name: ext.snapshot_state(generation) for ext in self.extensions}
                pickled = self.store.serialize(services, extras)
            self.store.blobs.delete(garbage)  # forgotten under the lock: a body stored again is rewritten
            try:
                self.store.write(pickled, generation)
            except OSError as exc:  # a full or failing disk: refuse writes until one succeeds
                self.storage.snapshot_failed(exc)
                raise
            self.storage.snapshot_written(captured)
            self.store.s3.checkpoint_passive()
            for ext in self.extensions:
                ext.snapshot_written(generation)
            self.store.last_snapshot_ms = (time.perf_counter() - started) * 1000

    def close(self) -> None:
        """The engine stopped (after its final snapshot): S3's store folds its WAL in and closes."""
        if self.store is not None:
            self.store.s3.close()

    def reset(self) -> None:
        """Wipe every service's state, the extensions' derived state and the files."""
        for ext in self.extensions:
            ext.reset()
        with self._snapshot_lock, self.state_lock.exclusive():
            moto_compat.reset_moto_state()
            if self.store is not None:
                self.store.wipe()
        self.take_dirty()

    # -- lifecycle ------------------------------------------------------------------------
    def warm_up(self) -> threading.Thread:
        """Import moto's services, build their apps and load their models in the background.

        moto imports each service on its first request; the warm-up does it beforehand,
        but only while the engine is quiet: each service waits until no request has been
        served for :data:`WARM_UP_QUIET_S`, so a burst of requests (``nexuskit up``
        provisioning the platform) never shares the CPU with it. Importing in the background
        during such a burst made it slower: the engine's CPU is one core (the GIL), and a
        request thread that waits on a socket or a file gets the interpreter back only
        when the importing thread gives it up (every 5 ms). A cold ``up`` was 0.1-0.3 s
        faster with no warm-up at all; the requests import what they use. Requests that
        need a service being imported wait on the import.

        At the end, everything loaded so far is moved out of the garbage collector's
        sight (``gc.freeze``): moto's modules and botocore's models are several hundred
        thousand long-lived objects that every full collection would otherwise walk again,
        in the middle of some request. Then the C heap the loading left free (the JSON text
        of the models, parsing temporaries) is handed back to the system (``malloc_trim``,
        ~6 MB of idle RSS).
        """

        def run() -> None:
            from moto.backends import get_backend

            for name in WARM_SERVICES:
                self._wait_until_quiet()
                if self.stopping:
                    return
                try:
                    get_backend(name)  # type: ignore[call-overload]
                    moto_compat.ensure_backend_app(self.moto, name)
                    if name in WARM_MODELS:
                        moto_compat.warm_model(WARM_MODELS[name])
                except Exception:  # a service that fails to warm up is loaded on first use
                    log.debug("warm-up of %s failed", name, exc_info=True)
                    self.services.failed(name)
                else:
                    self.services.loaded(name)
            for ext in self.extensions:
                try:
                    ext.warm_up()
                except Exception:
                    log.debug("warm-up of extension %s failed", ext.name, exc_info=True)
            self._wait_until_quiet()
            if self.stopping:
                return
            # moto's own dispatcher (and with it Flask), for the requests moto routes by more
            # than their signature (unsigned STS and Cognito calls from the platform's pods)
            self.moto.motos_dispatcher()
            _freeze_loaded()

        thread = threading.Thread(target=run, name="engine-warm-up", daemon=True)
        thread.start()
        return thread

    def _wait_until_quiet(self, patience: float | None = None) -> None:
        """Wait until no request has been served for :data:`WARM_UP_QUIET_S` (or the
        engine stops, or ``patience`` seconds have passed)."""
        deadline = None if patience is None else time.monotonic() + patience
        while not self.stopping:
            now = time.monotonic()
            quiet_for = now - self._quiet_since
            if not self._in_flight and quiet_for >= WARM_UP_QUIET_S:
                return
            if deadline is not None and now >= deadline:
                return
            time.sleep(max(0.01, WARM_UP_QUIET_S - quiet_for))

    def settle_collector(self, threshold: tuple[int, int, int], patience: float = 30.0) -> threading.Thread:
        """Give the garbage collector ``threshold`` back once the start-up burst is over.

        The engine starts with rarer collections (:data:`emulation.server.START_GC_THRESHOLD`):
        importing moto and the services its first requests use allocates several hundred
        thousand objects that live as long as the engine, and each full collection walked
        them all again (about 5 % of the CPU of a cold ``nexuskit up``). Once no request has
        been served for :data:`WARM_UP_QUIET_S` (at most ``patience`` seconds after the
        start), what is loaded is collected once, moved out of the collector's sight
        (:func:`_freeze_loaded`) and the usual thresholds apply again.
        """

        def run() -> None:
            self._wait_until_quiet(patience)
            compilecache.save()  # what the start compiled, for the next start
            compilecache.release()  # before the collection and trim: its memory goes back
            _freeze_loaded()
            gc.set_threshold(*threshold)

        thread = threading.Thread(target=run, name="engine-settle-gc", daemon=True)
        thread.start()
        return thread

    def start_extensions(self) -> None:
        for ext in self.extensions:
            ext.start(self)

    def stop_extensions(self) -> None:
        for ext in reversed(self.extensions):
            try:
                ext.stop()
            except Exception:  # stopping must reach every extension
                log.exception("extension %s failed to stop", ext.name)

    # -- forwarding -----------------------------------------------------------------------
    def call_moto(
        self, environ: dict[str, Any], *, holding: AbstractContextManager[Any] | None = None
    ) -> Response:
        """Run a request through moto and return the whole response (for extensions).

        ``holding`` is an extension's own lock, taken inside the shared state lock (the
        order every request path uses) for as long as moto works on the request.
        """
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = headers
            return lambda _data: None

        with self.state_lock.shared(), holding or nullcontext():
            try:
                chunks = self.moto(_for_moto(environ), start_response)
            except Exception as exc:
                request = environ.get(REQUEST_KEY)
                if not isinstance(request, AwsRequest):
                    raise
                return faults.failure(request, _is_s3(request), exc)
            try:
                body = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close:
                    close()
        return Response(body, status=captured["status"], headers=cors.strip_cors(captured["headers"]))

    # -- WSGI -----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        store = self.store
        return {
            "status": "degraded" if self.storage.degraded else "running",
            "degraded_reason": self.storage.degraded,
            "engine": "embedded",
            "pid": os.getpid(),
            "endpoint": self.settings.endpoint,
            "uptime_s": round(time.time() - self.started_at, 3),
            "requests": self.requests,
            "state_dir": str(self.settings.state_dir) if self.settings.state_dir else None,
            "settings": {
                "firehose_buffering": self.settings.firehose_buffering,
                "kinesis_limits": self.settings.kinesis_limits,
                "iam": self.settings.iam,
                "lake_formation": self.settings.lake_formation,
                "persist": self.settings.persist,
                "moto_api": self.settings.moto_api,
            },
            "persistence": None
            if store is None
            else {
                "snapshots": store.snapshots,
                "last_snapshot_at": store.last_snapshot_at,
                "last_snapshot_ms": round(store.last_snapshot_ms, 2),
                "restored": sorted(self.restored),
                "storage": self.storage.health(),
                "s3_rows": {"written": store.s3.rows_written, "errors": store.s3.errors},
            },
            "extensions": {ext.name: ext.health() for ext in self.extensions},
        }

    def _nexus_api(self, request: AwsRequest) -> Response:
        if "origin" in request.headers:
            return engine_refusal(CROSS_ORIGIN)
        route = request.path[len(NEXUS_API_PREFIX) :].strip("/")
        claims = self.admin.has_credentials(request)
        if route == "health" and request.method in {"GET", "HEAD"} and not claims:
            return json_response({"status": "ok"})  # a liveness probe learns nothing more
        if not claims or not self.admin.is_admin(request):
            return engine_refusal(ADMIN_ONLY)
        if route == "health":
            return json_response(self.health())
        if route == "snapshot" and request.method == "POST":
            self.snapshot(None)
            return json_response({"snapshot": "written"})
        if route == "reset" and request.method == "POST":
            self.reset()
            return json_response({"reset": "done"})
        return json_response({"message": f"no such engine API: {request.path}"}, status=404)

    def _moto_api(self, request: AwsRequest, start_response: Any) -> Iterable[bytes]:
        environ = request.environ
        if "origin" in request.headers:
            return self._answer(engine_refusal(CROSS_ORIGIN), environ, start_response)
        if not self.settings.moto_api:
            return self._answer(engine_refusal(DISABLED, status=404), environ, start_response)
        if not self.admin.is_admin(request):
            return self._answer(engine_refusal(ADMIN_ONLY), environ, start_response)
        answer = self.moto_api.answer(request)
        if answer is not None:
            return self._answer(answer, environ, start_response)
        with self.state_lock.shared():
            return self._forward(request, start_response, s3=False)

    def _forward(self, request: AwsRequest, start_response: Any, *, s3: bool) -> list[bytes]:
        """Hand the request to moto, with moto's CORS headers replaced by S3's per-bucket ones."""
        status, headers, body = self._call_moto_buffered(request, s3=s3)
        start_response(status, headers)
        return body

    def _call_moto_buffered(
        self, request: AwsRequest, *, s3: bool
    ) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        """moto's whole answer (status line, headers, body), nothing sent yet: a mutating S3
        request is answered only once its change is durable (see :meth:`_persist_s3`)."""
        answer: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer_headers = cors.strip_cors(list(headers))
            if s3:
                answer_headers += cors.actual_headers(request)
            answer["status"], answer["headers"] = status, answer_headers
            return lambda _data: None

        try:
            chunks = self.moto(_for_moto(request.environ), start)
            # moto's responses are complete byte lists; materialise inside the lock.
            body = [bytes(chunk) for chunk in chunks]
        except Exception as exc:
            response = faults.failure(request, s3, exc)
            body = [bytes(chunk) for chunk in response(request.environ, start)]
        return answer["status"], answer["headers"], body

    def _persist_s3(self, request: AwsRequest, s3: bool, status: int) -> Response | None:
        """Make the S3 changes of this request durable (call before answering it); a 503 when
        they cannot be written.

        moto's S3 methods recorded what they changed (:mod:`emulation.core.s3store`); a
        mutating S3 request that succeeded also names its bucket and key, for what moto's
        handlers change on its objects directly (a copy's metadata, a bucket's settings).
        The rows are written as those objects are now, and committed, before this returns.

        When they cannot be written (``OSError``: a full disk, an I/O error), the change is
        in moto's memory but the client is refused (503, as the storage guard refuses
        writes): an SDK retries a 503, and nothing acknowledged is ever lost. The engine is
        degraded until a snapshot succeeds again (which retries the rows first).
        """
        store = self.store
        if store is None:
            return None
        if s3 and 200 <= status < 300 and not request.is_read_only():
            bucket, key = s3_bucket_and_key(request)
            if bucket:
                s3store.touch(bucket, key)
                if key is not None and ("uploadId" in request.query or "uploads" in request.query):
                    s3store.touch(bucket, None)  # the bucket row holds its multipart uploads
        if not s3store.pending():
            return None
        try:
            store.s3.flush()
        except OSError as exc:
            self.storage.write_failed(exc)
            self.mark_dirty("s3")  # the snapshot loop retries the rows
            code = "ServiceUnavailableException" if request.target else "ServiceUnavailable"
            return faults.error(
                request,
                s3,
                503,
                code,
                f"The engine cannot persist writes now: {self.storage.degraded}. Retry later.",
            )
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.stopping:
            # Kept-alive connections outlive the listener: nothing may change state once the
            # final snapshot is under way (it would be acknowledged and then lost).
            refusal = engine_refusal("the engine is stopping", status=503)
            refusal.headers["Connection"] = "close"
            return self._answer(refusal, environ, start_response)
        with self._in_flight_lock:
            self._in_flight += 1
            self.requests += 1
        try:
            return self._serve(environ, start_response)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1
                self._quiet_since = time.monotonic()

    def _serve(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        if not self.hosts.allows(host):
            refusal = engine_refusal(self.hosts.refusal(str(host)))
            return self._answer(refusal, environ, start_response)
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith(NEXUS_API_PREFIX):
            request = AwsRequest.from_environ(environ)
            return self._answer(self._nexus_api(request), environ, start_response)
        if path.startswith(MOTO_API_PREFIX):
            return self._moto_api(AwsRequest.from_environ(environ), start_response)
        if path.startswith(LOCALSTACK_PREFIX):
            # LocalStack's tooling (localstack wait, testcontainers, tflocal) polls these.
            # (Parsed like any request: a body is read, not left on a kept-alive connection.)
            request = AwsRequest.from_environ(environ)
            if "origin" in request.headers:
                return self._answer(engine_refusal(CROSS_ORIGIN), environ, start_response)
            answer = self.localstack.answer(request.method, path)
            return self._answer(answer, environ, start_response)
        request = AwsRequest.from_environ(environ)
        environ[REQUEST_KEY] = request
        self.services.used(request.signing_service)
        s3 = _is_s3(request)
        refusal = faults.precheck(request, s3) or self.storage.refusal(request, s3)
        if refusal is not None:
            return self._answer(refusal, environ, start_response)
        for ext in self.extensions:
            response = ext.handle(request)
            if response is not None:
                changed = request.changes_state is not False and not request.is_read_only()
                if changed and request.signing_service:
                    self.mark_dirty(request.signing_service)
                if changed:
                    with self.state_lock.shared():
                        refusal = self._persist_s3(request, s3, response.status_code)
                    if refusal is not None:
                        return self._answer(refusal, environ, start_response)
                return self._answer(response, environ, start_response)
        if s3 and request.method == "OPTIONS":
            with self.state_lock.shared():
                return self._answer(cors.preflight(request), environ, start_response)
        service = None if request.is_read_only() else (request.signing_service or _service_from_host(environ))
        if service:
            self.mark_dirty(service)
        with self.state_lock.shared():
            status, headers, body = self._call_moto_buffered(request, s3=s3)
            if service:
                # Again after the change: a snapshot that took the first mark before moto
                # changed anything must not be the last one to see this request.
                self.mark_dirty(service)
                refusal = self._persist_s3(request, s3, int(status.split(" ", 1)[0]))
                if refusal is not None:
                    return self._answer(refusal, environ, start_response)
        start_response(status, headers)
        return body

    @staticmethod
    def _answer(response: Response, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body: Iterable[bytes] = response(environ, start_response)
        return body


#: the environ key under which a request's parsed :class:`AwsRequest` travels to ``call_moto``
REQUEST_KEY = "nexuskit.request"


def _for_moto(environ: dict[str, Any]) -> dict[str, Any]:
    """The environ moto is handed: LocalStack's path-style S3 names become one moto reads as
    path-style (moto takes ``s3.localhost.localstack.cloud`` for a bucket named ``s3``)."""
    host = environ.get("HTTP_HOST")
    if not host or not is_localstack_s3_path_host(str(host)):
        return environ
    return {**environ, "HTTP_HOST": path_style_host(str(host))}


def _has_durable_state(ext: Extension) -> bool:
    """Whether the extension keeps state as durable as S3's rows (overrides ``durable_state``)."""
    return type(ext).durable_state is not Extension.durable_state


def _pickled_durable_state(ext: Extension) -> bytes:
    return pickle.dumps(ext.durable_state(), protocol=pickle.HIGHEST_PROTOCOL)


def _is_s3(request: AwsRequest) -> bool:
    return (
        not is_execute_api(request)
        and (request.signing_service or _service_from_host(request.environ)) == "s3"
    )


def _service_from_host(environ: dict[str, Any]) -> str | None:
    host = str(environ.get("HTTP_HOST", ""))
    if ".amazonaws.com" in host:
        parts = host.split(".")
        return parts[-4] if len(parts) >= 4 else None
    if environ.get("PATH_INFO", "").startswith("/moto-api"):
        return None
    return "s3"  # unsigned path-style requests default to S3, as moto does
