"""What the Producers screen needs from ``nexuskit.producers`` (imported lazily).

The screen starts several runs, reads their counters every second, stops them and asks
for each run's delivery proof — the functions behind ``nexuskit produce`` and ``nexuskit
produce verify``: :func:`~nexuskit.producers.producer_for_stack` (a ``Producer`` whose
``run()`` reports progress through ``on_progress``) and
:func:`~nexuskit.producers.verify_for_stack`. While that module (or one of them) is
missing, every call raises :class:`~tui.core_gaps.CoreNotAvailableError` with the precise reason.

``Producer.run()`` stops early only on ``KeyboardInterrupt`` (Ctrl-C in the CLI). A run
started here is stopped the same way: its ``on_progress`` callback raises
``KeyboardInterrupt`` once, from the producer's own scheduling loop, after ``stop()``.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from nexuskit.config import KitSettings
from tui.core_gaps import CoreNotAvailableError, core_function, core_module

MODULE = "nexuskit.producers"
PROOF_WAIT_S = 20.0
#: Producer.run() statuses -> what the panel shows
STATES = {"finished": "done", "interrupted": "stopped", "failed": "failed"}

__all__ = ["CoreNotAvailableError", "ProducerOptions", "ProducerRun", "ProducerRuns"]


@dataclass
class ProducerOptions:
    """The form of the Producers screen (the options of ``nexuskit produce``)."""

    channel: str = "client"
    template: str = "telemetry"
    rate: float = 100.0
    mode: str = "constant"
    duration_s: float | None = 30.0
    seed: int | None = None
    anomaly_rate: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def title(self) -> str:
        duration = f"{self.duration_s:g}s" if self.duration_s else "until stopped"
        return f"{self.channel} · {self.template} · {self.rate:g}/s {self.mode} · {duration}"


class ProducerRun:
    """One producer running in a thread of its own; ``counters()`` is cheap and thread-safe."""

    def __init__(self, settings: KitSettings, options: ProducerOptions) -> None:
        module = core_module(MODULE)
        make = core_function(module, "producer_for_stack")
        produce_options = module.ProduceOptions(
            template=options.template,
            rate=options.rate,
            mode=options.mode,
            duration=options.duration_s,
            count=None if options.duration_s else 10**9,
            seed=options.seed,
            anomaly_rate=options.anomaly_rate,
        )
        self.options = options
        self._stop = threading.Event()
        self._interrupted = False
        self.latest: Any = None
        self.report: dict[str, Any] | None = None
        self.error: str | None = None
        self.state = "starting"
        self.producer = make(
            settings, produce_options, channel=options.channel, on_progress=self._on_progress
        )
        self.run_id = str(self.producer.run_id)
        self._thread = threading.Thread(target=self._run, name=f"tui-producer-{self.run_id}", daemon=True)

    def start(self) -> ProducerRun:
        self.state = "running"
        self._thread.start()
        return self

    def _on_progress(self, progress: Any) -> None:
        self.latest = progress
        if self._stop.is_set() and not self._interrupted and self.state == "running":
            self._interrupted = True
            raise KeyboardInterrupt  # Producer.run() ends the run as "interrupted"

    def _run(self) -> None:
        try:
            report = self.producer.run()
            self.report = report.as_dict()
            self.state = STATES.get(str(report.status), str(report.status))
            self.error = report.error
        except Exception as exc:
            self.error = str(exc)
            self.state = "failed"

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def counters(self) -> dict[str, Any]:
        """``state``, ``sent``, ``throttled``, ``retried``, ``failed``, ``rate``, ``planned``."""
        latest = self.latest
        doc: dict[str, Any] = {"state": self.state, "error": self.error}
        if latest is not None:
            doc.update(
                sent=latest.sent,
                throttled=latest.throttled,
                retried=latest.retried,
                failed=latest.failed,
                rate=latest.rate,
                planned=latest.planned,
                made=latest.made,
            )
        if self.report is not None:
            doc.update(
                {k: self.report[k] for k in ("sent", "throttled", "retried", "failed") if k in self.report}
            )
            doc["rate"] = self.report.get("achieved_rate")
        return doc


class ProducerRuns:
    """Start, watch, stop and prove producer runs of one stack."""

    def __init__(self, settings: KitSettings) -> None:
        self.settings = settings

    def check(self) -> None:
        """Raise CoreNotAvailableError unless every function the screen uses exists."""
        module = core_module(MODULE)
        for name in ("producer_for_stack", "verify_for_stack"):
            core_function(module, name)
        if not hasattr(module, "ProduceOptions"):
            raise CoreNotAvailableError(f"{MODULE} not available: it has no ProduceOptions yet")

    def templates(self) -> list[str]:
        module = core_module(MODULE)
        try:
            return [str(t["name"]) for t in core_function(module, "list_templates")()]
        except CoreNotAvailableError:
            return ["telemetry", "event", "sensor"]

    def start(self, options: ProducerOptions) -> ProducerRun:
        return ProducerRun(self.settings, options).start()

    def proof(self, run_id: str, wait: float = PROOF_WAIT_S) -> dict[str, Any]:
        """``sent``, ``delivered``, ``missing``, ``duplicated`` of a finished run."""
        verify = core_function(core_module(MODULE), "verify_for_stack")
        return dict(verify(self.settings, run_id, wait=wait).as_dict())
