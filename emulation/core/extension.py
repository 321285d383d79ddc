"""The interface every nexuskit extension of the engine implements.

An extension sees each request before moto does. ``handle`` returns a response to
answer the request itself, or ``None`` to let it go on (to the next extension and
finally to moto, unchanged). Extensions with background work (Firehose delivery, Glue
runs) start it in ``start``, and stop it in ``stop`` and ``reset`` without leaking threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.core.request import AwsRequest

if TYPE_CHECKING:
    from emulation.core.app import EngineApp


class Extension:
    """Base class: does nothing, lets every request through."""

    #: short name shown in ``/_nexus/health``
    name: str = "extension"
    #: lower runs first (IAM enforcement first, then limits, then services)
    order: int = 50

    def start(self, engine: EngineApp) -> None:
        """Called once the engine is ready and its state restored."""

    def warm_up(self) -> None:
        """Load what the first requests would otherwise pay for (runs in the engine's
        background warm-up thread, after moto's services; must be thread-safe)."""

    def handle(self, request: AwsRequest) -> Response | None:
        """Answer the request, or return None to pass it on."""
        return None

    def reset(self) -> None:
        """The engine's state was wiped: drop everything derived from it."""

    def stop(self) -> None:
        """The engine is shutting down: stop background work, join threads."""

    # -- persistence (see emulation.core.persistence) ------------------------------------
    def snapshot_state(self, generation: int) -> Any:
        """State to persist with snapshot ``generation``; called with the engine frozen.

        Whatever is returned is restored by :meth:`restore_state` together with the moto
        state of the same moment (so checkpoints never run ahead of or behind the data).
        An extension that journals writes between snapshots rotates its journal here.
        """
        return None

    def snapshot_written(self, generation: int) -> None:
        """Snapshot ``generation`` is durable: older journals may be deleted."""

    def restore_state(self, state: Any, generation: int) -> None:
        """Restore what :meth:`snapshot_state` returned (None when nothing was saved),
        then replay journals written after ``generation``. Called before serving."""

    def durable_state(self) -> Any:
        """State that must be exactly as durable as S3's objects, or None (the default: the
        snapshot's :meth:`snapshot_state` is enough).

        An extension that writes S3 objects and state describing them (Firehose: the
        objects it delivered and the checkpoints of what they hold) returns that state
        here: the engine writes it in the same transaction as every flush of S3's rows
        (:meth:`emulation.core.s3store.S3Store.add_companion`), and the extension changes
        both inside ``S3Store.atomic()``. Must be cheap and picklable; called with the
        engine's state lock held shared."""
        return None

    def restore_durable_state(self, state: Any) -> None:
        """After :meth:`restore_state`: the :meth:`durable_state` last written with S3's rows
        (it may be newer than the snapshot's state, or older; the extension decides)."""

    def health(self) -> dict[str, Any]:
        """Figures for ``/_nexus/health``."""
        return {}


class Worker:
    """A stoppable background thread that calls ``step`` until stopped.

    ``step`` returns the seconds to wait before the next call. The thread is a daemon
    only as a last resort; ``stop`` always joins it.
    """

    def __init__(self, name: str, step: Callable[[], float]) -> None:
        self.name = name
        self._step = step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Worker:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            delay = self._step()
            if delay > 0:
                self._stop.wait(delay)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()


def stop_all(workers: Iterable[Worker]) -> None:
    """Signal every worker first, then join them (so they stop in parallel)."""
    workers = list(workers)
    for worker in workers:
        worker._stop.set()
    for worker in workers:
        worker.stop()
