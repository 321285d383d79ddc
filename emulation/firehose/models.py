"""Firehose delivery state: a supervisor, one worker per Kinesis-sourced stream, checkpoints.

The supervisor looks at moto's Firehose backends (every account and region in use) a few
times a second and keeps exactly one :class:`DeliveryWorker` per delivery stream of type
``KinesisStreamAsSource``: it starts workers for new streams (also after a restore) and
stops them when their stream is deleted. ``reset`` and ``stop`` join every thread.

Exactly once: a worker advances the per-shard checkpoint of what it delivered in the same
shared-lock section as the S3 put, and holds S3's row store (``S3Store.atomic``) across
both and the flush that makes the object durable; the checkpoints are written in that
flush's transaction (they are the extension's ``durable_state``), and ``snapshot_state``
(called with the engine frozen) returns them too. Each change of the checkpoints counts a
*serial*; a restore keeps whichever copy has the higher one. A restored engine therefore
has checkpoints that match the restored bucket, and workers resume right after them.
"""

from __future__ import annotations

import copy
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any

from emulation.core.extension import Worker, stop_all
from emulation.core.moto_compat import existing_backend, existing_backends
from emulation.firehose.delivery import BufferingMode, Compressor
from emulation.firehose.exceptions import InvalidArgumentException
from emulation.firehose.worker import DeliveryWorker, StreamKey, created_at

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

STATE_FORMAT = 1
SUPERVISE_INTERVAL_S = 0.25
KINESIS_SOURCE = "KinesisStreamAsSource"
#: engine-wide delivery figures in ``/_nexus/health``
FIGURES = ("records_delivered", "objects_written", "bytes_written", "failures", "failed_records")


class FirehoseDelivery:
    """All delivery of one engine: supervisor, workers, checkpoints and figures."""

    def __init__(self, mode: BufferingMode) -> None:
        self.mode: BufferingMode = mode
        self.compressor = Compressor()
        self.engine: EngineApp | None = None
        self._supervisor: Worker | None = None
        self._workers: dict[StreamKey, DeliveryWorker] = {}
        # Guards the set of workers: the supervisor, reset and stop never interleave.
        self._reconcile_lock = threading.Lock()
        # Guards the checkpoints; taken inside the engine's state lock, never around it.
        self._checkpoint_lock = threading.Lock()
        self._checkpoints: dict[str, dict[str, Any]] = {}
        #: counts every change of the checkpoints (the newer of two saved copies has more)
        self._serial = 0
        # Delivery streams wiped by a reset that moto has not dropped yet.
        self._retired: weakref.WeakSet[Any] = weakref.WeakSet()
        self._stopping = False
        self._figures_lock = threading.Lock()
        self._totals = dict.fromkeys(FIGURES, 0)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, engine: EngineApp) -> None:
        self.engine = engine
        self._stopping = False
        self._supervisor = Worker("firehose-supervisor", self._supervise).start()

    def stop(self) -> None:
        """The engine is shutting down: stop the supervisor and every worker, join them."""
        with self._reconcile_lock:
            self._stopping = True
            threads = [w.thread for w in self._workers.values()]
            self._workers.clear()
        if self._supervisor is not None:
            threads.append(self._supervisor)
            self._supervisor = None
        stop_all(threads)

    def reset(self) -> None:
        """The engine is about to wipe its state: stop every worker, forget checkpoints."""
        with self._reconcile_lock:
            if self.engine is not None:
                with self.engine.state_lock.shared():
                    for _key, stream in self._kinesis_sourced_streams().values():
                        self._retired.add(stream)
            workers = list(self._workers.values())
            self._workers.clear()
            stop_all([w.thread for w in workers])
            with self._checkpoint_lock:
                self._checkpoints.clear()
            with self._figures_lock:
                self._totals = dict.fromkeys(FIGURES, 0)

    # -- supervision ----------------------------------------------------------------------
    def _supervise(self) -> float:
        try:
            self.reconcile()
        except Exception:  # the supervisor must outlive any one bad tick
            log.exception("Firehose supervisor tick failed")
        return SUPERVISE_INTERVAL_S

    def reconcile(self) -> None:
        """Start workers for new Kinesis-sourced streams, stop those whose stream is gone."""
        engine = self.engine
        if engine is None:
            return
        with self._reconcile_lock:
            if self._stopping:
                return
            with engine.state_lock.shared():
                found = self._kinesis_sourced_streams()
            gone = [key for key in self._workers if key not in found]
            stopping = [self._workers.pop(key) for key in gone]
            stop_all([w.thread for w in stopping])
            for key in gone:
                log.info("Firehose %s deleted: delivery worker stopped", key.name)
            with self._checkpoint_lock:
                wanted = {str(key) for key in found}
                for name in [name for name in self._checkpoints if name not in wanted]:
                    del self._checkpoints[name]
                    self._serial += 1
            for key, stream in found.values():
                if key not in self._workers:
                    worker = DeliveryWorker(self, key, stream)
                    self._workers[key] = worker
                    worker.thread.start()
                    log.info("Firehose %s: delivery worker started", key.name)

    def _kinesis_sourced_streams(self) -> dict[StreamKey, tuple[StreamKey, Any]]:
        """Every live ``KinesisStreamAsSource`` delivery stream. Call with the lock shared."""
        found: dict[StreamKey, tuple[StreamKey, Any]] = {}
        for account, region, backend in existing_backends("firehose"):
            for name, stream in list(backend.delivery_streams.items()):
                if stream.delivery_stream_type != KINESIS_SOURCE or stream in self._retired:
                    continue
                key = StreamKey(account, region, name, created_at(stream).isoformat())
                found[key] = (key, stream)
        return found

    @staticmethod
    def check_direct_put(account: str, region: str, name: str) -> None:
        """PutRecord/PutRecordBatch: AWS refuses them on a stream fed by Kinesis (it takes
        data only from its source). Call with the lock shared; unknown streams are moto's."""
        backend = existing_backend("firehose", account, region)
        stream = backend.delivery_streams.get(name) if backend is not None else None
        if stream is not None and stream.delivery_stream_type == KINESIS_SOURCE:
            raise InvalidArgumentException(
                f"This operation is not permitted on {KINESIS_SOURCE} delivery stream type."
            )

    def current_stream(self, key: StreamKey) -> Any:
        """The live delivery stream of ``key`` (None once deleted). Call with the lock shared."""
        backend = existing_backend("firehose", key.account, key.region)
        stream = backend.delivery_streams.get(key.name) if backend is not None else None
        if stream is None or stream in self._retired:
            return None
        if created_at(stream).isoformat() != key.created:
            return None
        return stream

    # -- checkpoints (mutated only with the engine's state lock shared) --------------------
    def checkpoints_of(self, key: StreamKey) -> tuple[str | None, dict[str, Any]]:
        """(source stream creation time, shard -> last delivered sequence) of a stream."""
        with self._checkpoint_lock:
            entry = self._checkpoints.get(str(key))
            if entry is None:
                return None, {}
            return entry.get("source_created"), dict(entry["shards"])

    def set_checkpoints(
        self, key: StreamKey, source_created: str, shards: dict[str, Any], replace: bool = False
    ) -> None:
        with self._checkpoint_lock:
            entry = self._checkpoints.setdefault(str(key), {"source_created": source_created, "shards": {}})
            if replace or entry.get("source_created") != source_created:
                entry["source_created"] = source_created
                entry["shards"] = {}
            entry["shards"].update(shards)
            self._serial += 1

    def snapshot_state(self) -> dict[str, Any]:
        with self._checkpoint_lock:
            return {
                "format": STATE_FORMAT,
                "serial": self._serial,
                "streams": copy.deepcopy(self._checkpoints),
            }

    def restore_state(self, state: Any) -> None:
        with self._checkpoint_lock:
            self._checkpoints = {}
            if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
                if state is not None:
                    log.warning("Firehose checkpoints in an unknown format were ignored")
                return
            self._checkpoints = copy.deepcopy(dict(state.get("streams", {})))
            self._serial = int(state.get("serial", 0))

    def restore_if_newer(self, state: Any) -> None:
        """Adopt ``state`` (the copy written with S3's rows) if it is newer than the restored one."""
        if isinstance(state, dict) and state.get("format") == STATE_FORMAT:
            with self._checkpoint_lock:
                newer = int(state.get("serial", 0)) > self._serial
            if newer:
                self.restore_state(state)

    # -- figures --------------------------------------------------------------------------
    def count(self, **figures: int) -> None:
        with self._figures_lock:
            for name, value in figures.items():
                self._totals[name] += value

    def health(self) -> dict[str, Any]:
        workers = list(self._workers.values())
        threads = [t for t in threading.enumerate() if t.name.startswith(DeliveryWorker.THREAD_PREFIX)]
        return {
            "buffering": self.mode,
            "supervisor_alive": bool(self._supervisor and self._supervisor.is_alive()),
            "workers": len(workers),
            "delivery_threads": sum(1 for t in threads if t.is_alive()),
            **dict(self._totals),
            "streams": [w.health() for w in workers],
        }
