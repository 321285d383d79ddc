"""The primary-stream consumer: shard leases, ordered batches, checkpoints after the work.

A coordinator loop (every third of the lease time) heartbeats this worker, lists the
stream's shards, renews the leases it holds and takes free or expired ones up to its fair
share (shards / live workers, rounded up), handing back one extra lease per round when
another worker has joined. Each held shard has a reader:

1. start after the shard's checkpoint (``AFTER_SEQUENCE_NUMBER``), or at
   ``consumer_initial_position`` when it has none;
2. ``GetRecords`` a batch; every record holds one JSON event per line; the event's type
   (``consumer_event_field``, default ``type``) picks the workflow (the workflows'
   ``triggers``, or ``consumer_routes``); other types are counted as ignored, and types
   whose workflow needs more than ``consumer_role`` (default ``write``: no curation from
   the stream, whose producers are not callers of agent-core) as refused;
3. run the batch's workflows (``consumer_concurrency`` at a time), each with a run id
   derived from the stream, the shard and the sequence number
   (``evt-<stream tag>-<shard>-<sequence>[-<line>]``, the tag a hash of the stream's ARN and
   creation time, so a re-created stream's restarted sequence numbers are new run ids);
4. checkpoint the batch's last sequence number - only after every run of the batch has
   finished, and only while the lease is still ours.

So a restart resumes after the last checkpoint (nothing skipped), and an event whose run
already finished before a crash is not run again: its run id is found finished in the
runs table (nothing reprocessed). A run interrupted by shutdown is marked so and runs
again. Runs start at most ``consumer_max_runs_per_second`` per replica (default 20), so a
flood of events shows as lag rather than as a saturated machine. Lag is Kinesis'
``MillisBehindLatest`` per shard.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.agent_core.consumer.leases import SHARD_END, LeaseTable
from services.agent_core.metrics import AgentMetrics
from services.agent_core.settings import AgentSettings
from services.agent_core.workflow.engine import InvalidInputError, UnknownWorkflowError, WorkflowEngine
from services.agent_core.workflow.runs import FINISHED, RunStore

log = logging.getLogger(__name__)

SHARD_LIST_SECONDS = 30.0
STOP_GRACE_SECONDS = 15.0


def worker_id(pod: str | None) -> str:
    return f"{pod or socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def short_shard(shard_id: str) -> str:
    """``shardId-000000000001`` -> ``1``."""
    tail = shard_id.rsplit("-", 1)[-1]
    return str(int(tail)) if tail.isdigit() else tail


class RateLimit:
    """A token bucket: at most ``rate`` acquisitions per second (0: no limit), bursts of one second."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = max(rate, 1.0)
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if self.rate <= 0:
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


@dataclass
class _Reader:
    shard_id: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class StreamConsumer:
    def __init__(
        self,
        settings: AgentSettings,
        engine: WorkflowEngine,
        runs: RunStore,
        kinesis: Any,
        leases: LeaseTable,
        routes: dict[str, str],
        metrics: AgentMetrics,
        refused: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.runs = runs
        self.kinesis = kinesis
        self.leases = leases
        self.routes = routes
        self.refused = dict(refused or {})
        self.metrics = metrics
        self.stream = settings.stream_name
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._readers: dict[str, _Reader] = {}
        self._shards: list[dict[str, Any]] = []
        self._shards_at = 0.0
        self.lag_ms: dict[str, int] = {}
        self.stream_tag = ""  # distinguishes a re-created stream whose sequence numbers restart
        self.limit = RateLimit(settings.consumer_max_runs_per_second)
        self.last_error: str | None = None
        self.started = False

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._coordinate(), name="consumer")
        self.started = True

    async def stop(self) -> None:
        """Finish the batches in flight, checkpoint, hand the leases back."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*(self._stop_reader(sid) for sid in list(self._readers)), return_exceptions=True)
        with contextlib.suppress(ClientError, BotoCoreError):
            await asyncio.to_thread(self.leases.retire)

    def status(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "worker": self.leases.worker,
            "running": self._task is not None and not self._task.done(),
            "shards_held": sorted(self._readers),
            "lag_ms": dict(self.lag_ms),
            "routes": self.routes,
            "refused_routes": self.refused,
            "last_error": self.last_error,
        }

    # -- coordination -----------------------------------------------------------------------
    async def _coordinate(self) -> None:
        interval = max(0.5, self.settings.consumer_lease_seconds / 3)
        while not self._stop.is_set():
            try:
                await self._balance()
                self.last_error = None
            except (ClientError, BotoCoreError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("consumer coordination failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)

    async def _stream_tag(self) -> str:
        """A short hash of the stream's ARN and creation time (part of every run id)."""
        if not self.stream_tag:
            summary = await asyncio.to_thread(self.kinesis.describe_stream_summary, StreamName=self.stream)
            info = summary["StreamDescriptionSummary"]
            seed = f"{info['StreamARN']}|{info['StreamCreationTimestamp'].timestamp():.3f}"
            self.stream_tag = hashlib.sha256(seed.encode()).hexdigest()[:6]
        return self.stream_tag

    async def _list_shards(self) -> list[dict[str, Any]]:
        if time.monotonic() - self._shards_at > SHARD_LIST_SECONDS or not self._shards:
            shards: list[dict[str, Any]] = []
            kwargs: dict[str, Any] = {"StreamName": self.stream}
            while True:
                page = await asyncio.to_thread(self.kinesis.list_shards, **kwargs)
                shards.extend(page.get("Shards", []))
                token = page.get("NextToken")
                if not token:
                    break
                kwargs = {"NextToken": token}
            self._shards, self._shards_at = shards, time.monotonic()
        return self._shards

    async def _balance(self) -> None:
        await asyncio.to_thread(self.leases.heartbeat)
        await self._stream_tag()
        shards = await self._list_shards()
        workers, state = await asyncio.to_thread(self.leases.snapshot)
        pending = [
            s["ShardId"] for s in shards if (state.get(s["ShardId"]) or {}).get("checkpoint") != SHARD_END
        ]
        target = math.ceil(len(pending) / max(1, workers)) if pending else 0
        for shard_id, reader in list(self._readers.items()):
            if reader.task is not None and reader.task.done():
                self._readers.pop(shard_id)  # finished (shard end) or crashed: retaken below if needed
                continue
            if not await asyncio.to_thread(self.leases.renew, shard_id):
                log.warning("lease on %s lost; stopping its reader", shard_id)
                await self._stop_reader(shard_id, release=False)
        now = time.time()
        for shard_id in pending:
            if len(self._readers) >= target:
                break
            if shard_id in self._readers:
                continue
            lease = state.get(shard_id) or {}
            free = (
                not lease.get("owner")
                or lease.get("lease_expires_at", 0) < now
                or lease.get("owner") == self.leases.worker
            )
            if free and await asyncio.to_thread(self.leases.acquire, shard_id):
                self._start_reader(shard_id)
        if len(self._readers) > target and workers > 1:
            extra = sorted(self._readers)[-1]
            log.info("handing %s back to balance %d shards over %d workers", extra, len(pending), workers)
            await self._stop_reader(extra)
        self.metrics.consumer_leases.set(len(self._readers))

    def _start_reader(self, shard_id: str) -> None:
        reader = _Reader(shard_id)
        reader.task = asyncio.get_running_loop().create_task(self._read(reader), name=f"shard {shard_id}")
        self._readers[shard_id] = reader
        log.info("reading %s/%s", self.stream, shard_id)

    async def _stop_reader(self, shard_id: str, release: bool = True) -> None:
        reader = self._readers.pop(shard_id, None)
        if reader is None:
            return
        reader.stop.set()
        if reader.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(reader.task), STOP_GRACE_SECONDS)
            except TimeoutError:
                reader.task.cancel()
                with contextlib.suppress(BaseException):
                    await reader.task
            except Exception as exc:
                log.warning("reader of %s ended with %s", shard_id, exc)
        if release:
            with contextlib.suppress(ClientError, BotoCoreError):
                await asyncio.to_thread(self.leases.release, shard_id)

    # -- one shard --------------------------------------------------------------------------
    async def _iterator(self, shard_id: str) -> str | None:
        checkpoint = await asyncio.to_thread(self.leases.read_checkpoint, shard_id)
        if checkpoint == SHARD_END:
            return None
        kwargs: dict[str, Any] = {"StreamName": self.stream, "ShardId": shard_id}
        if checkpoint:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=checkpoint)
        else:
            kwargs["ShardIteratorType"] = self.settings.consumer_initial_position
        answer = await asyncio.to_thread(self.kinesis.get_shard_iterator, **kwargs)
        return str(answer["ShardIterator"])

    async def _read(self, reader: _Reader) -> None:
        shard_id = reader.shard_id
        label = short_shard(shard_id)
        iterator: str | None = None
        empty_reads = 0  # in a row: each doubles the wait before the next read, up to the cap
        while not reader.stop.is_set() and not self._stop.is_set():
            try:
                if iterator is None:
                    iterator = await self._iterator(shard_id)
                    if iterator is None:
                        return  # the shard was closed and fully read
                answer = await asyncio.to_thread(
                    self.kinesis.get_records, ShardIterator=iterator, Limit=self.settings.consumer_batch_size
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in {"ExpiredIteratorException", "InvalidArgumentException"}:
                    iterator = None
                    continue
                wait = (
                    1.0
                    if code in {"ProvisionedThroughputExceededException", "LimitExceededException"}
                    else 2.0
                )
                self.last_error = f"{shard_id}: {code}"
                await self._pause(reader, wait)
                continue
            except BotoCoreError as exc:
                self.last_error = f"{shard_id}: {exc}"
                await self._pause(reader, 2.0)
                continue
            records = answer.get("Records", [])
            self.lag_ms[shard_id] = int(answer.get("MillisBehindLatest") or 0)
            self.metrics.consumer_lag.labels(label).set(self.lag_ms[shard_id])
            if records:
                await self._handle_batch(shard_id, records)
                last = str(records[-1]["SequenceNumber"])
                if not await asyncio.to_thread(self.leases.checkpoint, shard_id, last):
                    log.warning("lease on %s lost before checkpoint %s; stopping", shard_id, last)
                    return
                self.metrics.consumer_checkpoints.labels(label).inc()
            iterator = answer.get("NextShardIterator")
            if iterator is None:
                await asyncio.to_thread(self.leases.checkpoint, shard_id, SHARD_END)
                return
            empty_reads = 0 if records else empty_reads + 1
            if not records or not answer.get("MillisBehindLatest"):
                await self._pause(reader, self._idle_wait(empty_reads))

    def _idle_wait(self, empty_reads: int) -> float:
        """Seconds before the next read of a caught-up shard: the idle poll after records,
        doubling with each empty read in a row up to ``consumer_idle_poll_max_seconds``."""
        base = self.settings.consumer_idle_poll_seconds
        cap = max(base, self.settings.consumer_idle_poll_max_seconds)
        return float(min(cap, base * 2 ** max(0, min(empty_reads - 1, 16))))

    async def _pause(self, reader: _Reader, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.stop.wait(), seconds)

    async def _handle_batch(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        gate = asyncio.Semaphore(self.settings.consumer_concurrency)
        jobs = []
        for record in records:
            for line_no, event in enumerate(self._events(shard_id, record)):
                if event is None:
                    continue
                run_id = f"evt-{self.stream_tag}-{short_shard(shard_id)}-{record['SequenceNumber']}"
                if line_no:
                    run_id += f"-{line_no}"
                jobs.append(self._handle_event(shard_id, run_id, event, gate))
        await asyncio.gather(*jobs)

    def _events(self, shard_id: str, record: dict[str, Any]) -> list[dict[str, Any] | None]:
        data = record.get("Data", b"")
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)
        events: list[dict[str, Any] | None] = []
        for line in text.splitlines() or [text]:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if not isinstance(event, dict):
                self.metrics.consumer_records.labels(short_shard(shard_id), "invalid").inc()
                log.warning("%s %s: not a JSON object; skipped", shard_id, record.get("SequenceNumber"))
                events.append(None)
                continue
            events.append(event)
        return events

    async def _handle_event(
        self, shard_id: str, run_id: str, event: dict[str, Any], gate: asyncio.Semaphore
    ) -> None:
        label = short_shard(shard_id)
        event_type = str(event.get(self.settings.consumer_event_field))
        workflow = self.routes.get(event_type)
        if workflow is None:
            refused = event_type in self.refused
            self.metrics.consumer_records.labels(label, "refused" if refused else "ignored").inc()
            if refused:
                log.debug("%s: event of type %r not run: %s", run_id, event_type, self.refused[event_type])
            return
        async with gate:
            stored = await self.runs.get(run_id)
            if (
                stored
                and stored.get("status") in FINISHED
                and not (stored.get("error") or {}).get("interrupted")
            ):
                self.metrics.consumer_records.labels(label, "skipped").inc()
                return  # finished before a restart: never run twice
            await self.limit.acquire()  # bounded work per replica: a flood shows as lag, not as load
            try:
                await self.engine.run(workflow, event, trigger="stream", run_id=run_id, caller="stream")
            except (InvalidInputError, UnknownWorkflowError) as exc:
                self.metrics.consumer_records.labels(label, "invalid").inc()
                log.warning("%s: event not run: %s", run_id, exc)
                return
            self.metrics.consumer_records.labels(label, "started").inc()
