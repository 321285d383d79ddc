"""One producer run: make records when they are due, batch them, send them, count.

The calling thread is the scheduler. It reads a monotonic clock, asks the schedule how
many records are due (:mod:`nexuskit.producers.rate`), makes them (template, envelope,
anomalies, partition key) and hands batches of up to 500 to sender threads, each making
one PutRecords call at a time (:class:`~nexuskit.producers.sender.KinesisSender`). It
never sleeps per record: it waits until the next record is due, or a little longer
(``linger``, 100 ms by default) to fill a batch, so the rate is exact over the run
whatever a call costs. At most ``concurrency`` calls are in flight: when the stream
cannot take the rate, the producer falls behind instead of buffering without bound, and
``achieved_rate`` says so.

Entries a call did not accept come back to the scheduler, wait out a full-jitter backoff
and go out again in the next batch with fresh records (as the Kinesis Producer Library
does), until ``max_attempts`` calls were made for them.

A run writes its run record (:mod:`nexuskit.producers.runs`) at the start and the end.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nexuskit.aws import AwsTarget
from nexuskit.producers.credentials import CredentialSource
from nexuskit.producers.errors import ProducerError
from nexuskit.producers.rate import make_schedule, planned_count
from nexuskit.producers.records import EncodedRecord, RecordFactory
from nexuskit.producers.runs import RunStore, check_run_id, new_run_id, to_ranges
from nexuskit.producers.sender import Backoff, KinesisSender, Outcome, split_batches
from nexuskit.producers.templates import Clock, RealClock, RecordTemplate, SimulatedClock, load_template

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.25


@dataclass
class ProduceOptions:
    """What to produce and how fast (the ``nexuskit produce`` options)."""

    template: str = "telemetry"
    #: records per second (None: as fast as the stream takes them)
    rate: float | None = 100.0
    mode: str = "constant"
    period: float = 60.0
    amplitude: float = 0.5
    burst_interval: float = 1.0
    count: int | None = None
    duration: float | None = None
    seed: int | None = None
    anomaly_rate: float = 0.0
    partition_key: str = "random"
    run_id: str | None = None
    #: a simulated clock: the first record's timestamp (epoch s) and the step between records
    clock_start: float | None = None
    clock_step: float | None = None
    batch_size: int = 500
    linger: float = 0.1
    concurrency: int = 2
    max_attempts: int = 50
    backoff: Backoff = field(default_factory=Backoff)

    def resolved_seed(self) -> int:
        return self.seed if self.seed is not None else int.from_bytes(os.urandom(4), "big")

    def clock(self) -> Clock:
        if self.clock_start is None:
            if self.clock_step is not None:
                raise ProducerError("a clock step needs a simulated clock start (--start)")
            return RealClock()
        step = self.clock_step if self.clock_step is not None else 1.0 / (self.rate or 1000.0)
        return SimulatedClock(self.clock_start, step)


@dataclass
class Counters:
    """What a run did so far (kept by the scheduler thread)."""

    sent: int = 0
    throttled: int = 0
    retried: int = 0
    failed: int = 0
    bytes_sent: int = 0
    failed_seqs: list[int] = field(default_factory=list)
    fatal: str | None = None

    def snapshot(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "throttled": self.throttled,
            "retried": self.retried,
            "failed": self.failed,
        }


@dataclass
class _RunState:
    started: float
    last_progress: float = 0.0
    in_flight: int = 0
    stopping: bool = False
    #: (ready at, seq, record): records to send again once their backoff is over
    retries: list[tuple[float, int, EncodedRecord]] = field(default_factory=list)
    #: attempts made so far, for records not accepted yet
    attempts: dict[int, int] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)


def _send_loop(
    sender: KinesisSender,
    outbox: queue.Queue[list[EncodedRecord] | None],
    results: queue.Queue[tuple[list[EncodedRecord], Outcome]],
) -> None:
    while True:
        batch = outbox.get()
        if batch is None:
            return
        try:
            outcome = sender.put(batch)
        except Exception as exc:  # a sender thread must not die with records in hand
            log.exception("sending a batch failed")
            outcome = Outcome(failed=list(batch), fatal=f"sending failed: {exc}")
        results.put((batch, outcome))


@dataclass
class Progress:
    """A live view of a run, for progress bars."""

    run_id: str
    planned: int
    made: int
    sent: int
    throttled: int
    retried: int
    failed: int
    elapsed_s: float
    rate: float
    refreshes: int


@dataclass
class ProduceReport:
    run_id: str
    channel: str
    stream: str
    template: str
    record_type: str
    seed: int
    mode: str
    requested_rate: float | None
    planned: int
    made: int
    sent: int
    throttled: int
    retried: int
    failed: int
    anomalies: int
    elapsed_s: float
    achieved_rate: float
    client_cpu_s: float
    status: str
    started_at: str
    finished_at: str
    credentials: dict[str, Any]
    error: str | None = None
    failed_seqs: list[list[int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        doc = {key: value for key, value in self.__dict__.items() if key != "failed_seqs"}
        doc["achieved_rate"] = round(self.achieved_rate, 2)
        doc["elapsed_s"] = round(self.elapsed_s, 3)
        doc["client_cpu_s"] = round(self.client_cpu_s, 3)
        return doc


def make_factory(options: ProduceOptions, run_id: str, seed: int) -> tuple[RecordTemplate, RecordFactory]:
    """The template and the record factory of a run."""
    template = load_template(options.template, seed)
    factory = RecordFactory(
        template,
        run_id,
        options.clock(),
        seed=seed,
        anomaly_rate=options.anomaly_rate,
        partition_key=options.partition_key,
    )
    return template, factory


def dry_run(options: ProduceOptions, samples: int) -> dict[str, Any]:
    """The first ``samples`` records of a run with these options, made but not sent."""
    seed = options.resolved_seed()
    run_id = check_run_id(options.run_id) if options.run_id else "dry-run"
    template, factory = make_factory(options, run_id, seed)
    made = [factory.make(seq) for seq in range(samples)]
    return {
        "run_id": run_id,
        "template": template.name,
        "record_type": template.record_type,
        "seed": seed,
        "records": [record.data.decode("utf-8") for record in made],
        "partition_keys": [record.partition_key for record in made],
        "anomalies": [record.anomaly for record in made],
    }


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Producer:
    """Produces one run of records to one Kinesis stream (see the module docstring)."""

    def __init__(
        self,
        options: ProduceOptions,
        credentials: CredentialSource,
        stream: str,
        *,
        runs: RunStore | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        client_factory: Callable[[AwsTarget], Any] | None = None,
    ) -> None:
        if not 1 <= options.batch_size <= 500:
            raise ProducerError(f"batch size {options.batch_size} must be between 1 and 500 (PutRecords)")
        if options.concurrency < 1:
            raise ProducerError("concurrency must be at least 1")
        self.options = options
        self.credentials = credentials
        self.stream = stream
        self.runs = runs
        self.on_progress = on_progress
        self._monotonic = monotonic
        self._client_factory = client_factory
        self.seed = options.resolved_seed()
        self.run_id = check_run_id(options.run_id) if options.run_id else new_run_id()
        if runs is not None and runs.exists(self.run_id):
            raise ProducerError(f"run {self.run_id} exists already", "choose another --run-id")
        self.template, self.factory = make_factory(options, self.run_id, self.seed)
        rate = options.rate
        self.schedule = make_schedule(
            rate or 1.0,
            options.mode,
            period=options.period,
            amplitude=options.amplitude,
            interval=options.burst_interval,
        )
        if rate is None and options.count is None:
            raise ProducerError("an unlimited rate needs --count")
        self.planned = planned_count(self.schedule, options.count, options.duration)
        self.counters = Counters()
        self.made = 0

    # -- records without sending --------------------------------------------------------------
    def samples(self, count: int) -> list[EncodedRecord]:
        """The first ``count`` records, made but not sent (``--dry-run``)."""
        return [self.factory.make(seq) for seq in range(count)]

    # -- the run ------------------------------------------------------------------------------
    def _record(self, status: str, started_at: str, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": status,
            "channel": self.credentials.channel,
            "stream": self.stream,
            "template": self.template.name,
            "record_type": self.template.record_type,
            "seed": self.seed,
            "planned": self.planned,
            "made": self.made,
            "started_at": started_at,
            **extra,
        }

    def _progress(self, started: float) -> Progress:
        figures = self.counters.snapshot()
        elapsed = max(1e-9, self._monotonic() - started)
        return Progress(
            run_id=self.run_id,
            planned=self.planned,
            made=self.made,
            elapsed_s=elapsed,
            rate=figures["sent"] / elapsed,
            refreshes=int(self.credentials.describe().get("refreshes", 0)),
            **figures,
        )

    def run(self) -> ProduceReport:
        """Produce every planned record (or until interrupted); the final report."""
        options = self.options
        started_at = _now_iso()
        if self.runs is not None:
            self.runs.write(self._record("running", started_at, {}))
        self.credentials.target()  # a bad token service fails before any record is made
        sender = KinesisSender(self.credentials, self.stream, client_factory=self._client_factory)
        outbox: queue.Queue[list[EncodedRecord] | None] = queue.Queue()
        results: queue.Queue[tuple[list[EncodedRecord], Outcome]] = queue.Queue()
        workers = [
            threading.Thread(
                target=_send_loop, args=(sender, outbox, results), name=f"producer-send-{n}", daemon=True
            )
            for n in range(options.concurrency)
        ]
        for worker in workers:
            worker.start()
        cpu_started = time.process_time()
        started = self._monotonic()
        run = _RunState(started, rng=random.Random(f"{self.seed}/backoff"))
        status = "finished"
        try:
            try:
                self._schedule(run, outbox, results)
            except KeyboardInterrupt:
                status = "interrupted"  # no new records; what is in hand still goes out
                run.stopping = True
                self._schedule(run, outbox, results)
        except KeyboardInterrupt:  # a second interrupt: wait for the calls out, retry nothing
            run.stopping = True
            while run.in_flight:
                self._handle(run, *results.get())
            self._give_up([record for _, _, record in run.retries])
            run.retries.clear()
        finally:
            for _ in workers:
                outbox.put(None)
            for worker in workers:
                worker.join()
        elapsed = max(1e-9, self._monotonic() - started)
        if self.counters.fatal is not None:
            status = "failed"
        report = self._report(status, started_at, elapsed, time.process_time() - cpu_started)
        if self.on_progress is not None:
            with contextlib.suppress(KeyboardInterrupt):  # a stop asked for as the run ended
                self.on_progress(self._progress(started))
        if self.runs is not None:
            record = self._record(status, started_at, report.as_dict())
            record["failed_seqs"] = report.failed_seqs
            self.runs.write(record)
        return report

    # -- outcomes -------------------------------------------------------------------------------
    def _give_up(self, records: list[EncodedRecord]) -> None:
        self.counters.failed += len(records)
        self.counters.failed_seqs.extend(r.seq for r in records)

    def _handle(self, run: _RunState, batch: list[EncodedRecord], outcome: Outcome) -> None:
        """Count an outcome; line its records to retry up behind their backoff."""
        counters = self.counters
        run.in_flight -= 1
        counters.sent += outcome.accepted
        counters.bytes_sent += outcome.accepted_bytes
        counters.throttled += outcome.throttled
        if outcome.fatal is not None and counters.fatal is None:
            log.error("%s", outcome.fatal)
            counters.fatal = outcome.fatal
        self._give_up(outcome.failed)
        retry_seqs = {r.seq for r in outcome.retry}
        for record in batch:
            if record.seq not in retry_seqs:
                run.attempts.pop(record.seq, None)
        now = self._monotonic() - run.started
        for record in outcome.retry:
            attempt = run.attempts.get(record.seq, 1) + 1
            if attempt > self.options.max_attempts or counters.fatal is not None:
                run.attempts.pop(record.seq, None)
                self._give_up([record])
                continue
            run.attempts[record.seq] = attempt
            counters.retried += 1
            ready_at = now + self.options.backoff.delay(attempt - 1, run.rng)
            heapq.heappush(run.retries, (ready_at, record.seq, record))

    def _wait(
        self, run: _RunState, results: queue.Queue[tuple[list[EncodedRecord], Outcome]], timeout: float
    ) -> None:
        """Wait for an outcome (or ``timeout``), then take in every outcome that is there."""
        try:
            self._handle(run, *results.get(timeout=max(0.0, timeout)))
        except queue.Empty:
            return
        while True:
            try:
                self._handle(run, *results.get_nowait())
            except queue.Empty:
                return

    # -- the scheduler --------------------------------------------------------------------------
    def _schedule(
        self,
        run: _RunState,
        outbox: queue.Queue[list[EncodedRecord] | None],
        results: queue.Queue[tuple[list[EncodedRecord], Outcome]],
    ) -> None:
        options = self.options
        schedule = self.schedule
        size = options.batch_size
        unlimited = options.rate is None
        max_in_flight = options.concurrency
        while True:
            self._wait(run, results, 0.0)
            now = self._monotonic() - run.started
            if self.on_progress is not None and now - run.last_progress >= PROGRESS_INTERVAL_S:
                self.on_progress(self._progress(run.started))
                run.last_progress = now
            if self.counters.fatal is not None:
                run.stopping = True
                self._give_up([record for _, _, record in run.retries])
                run.retries.clear()
            planned = self.made if run.stopping else self.planned
            seq = self.made
            if seq >= planned and not run.retries and not run.in_flight:
                return
            due = planned if unlimited else min(planned, schedule.due_count(now))
            fresh = max(0, due - seq)
            retry_ready = bool(run.retries) and run.retries[0][0] <= now
            if run.in_flight >= max_in_flight or not (fresh or retry_ready):
                wake = [PROGRESS_INTERVAL_S]
                if run.in_flight < max_in_flight:
                    if seq < planned and not unlimited:
                        wake.append(schedule.due_at(seq) - now)
                    if run.retries:
                        wake.append(run.retries[0][0] - now)
                self._wait(run, results, min(wake))
                continue
            if fresh < size and due < planned and not retry_ready:
                waited = now - schedule.due_at(seq)
                if waited < options.linger:  # a little longer for a fuller batch
                    full_at = schedule.due_at(seq + size - 1)
                    self._wait(run, results, min(options.linger - waited, full_at - now))
                    continue
            batch: list[EncodedRecord] = []
            while run.retries and run.retries[0][0] <= now and len(batch) < size:
                batch.append(heapq.heappop(run.retries)[2])
            take = min(fresh, size - len(batch))
            batch.extend(self.factory.make(seq + n) for n in range(take))
            self.made = seq + take
            for part in split_batches(batch, size):
                outbox.put(part)
                run.in_flight += 1

    def _report(self, status: str, started_at: str, elapsed: float, cpu: float) -> ProduceReport:
        counters = self.counters
        return ProduceReport(
            run_id=self.run_id,
            channel=self.credentials.channel,
            stream=self.stream,
            template=self.template.name,
            record_type=self.template.record_type,
            seed=self.seed,
            mode=self.options.mode,
            requested_rate=self.options.rate,
            planned=self.planned,
            made=self.made,
            sent=counters.sent,
            throttled=counters.throttled,
            retried=counters.retried,
            failed=counters.failed,
            anomalies=self.factory.anomalies,
            elapsed_s=elapsed,
            achieved_rate=counters.sent / elapsed,
            client_cpu_s=cpu,
            status=status,
            started_at=started_at,
            finished_at=_now_iso(),
            credentials=self.credentials.describe(),
            error=counters.fatal,
            failed_seqs=to_ranges(counters.failed_seqs),
        )
