"""The live map's reader: the client and internal data streams, from LATEST, while a page watches.

One :class:`StreamTap` per UI process. The first request that wants live data starts a
worker thread; it lists each stream's shards, takes a ``LATEST`` iterator per shard and
calls ``GetRecords`` on every shard once per ``poll_s``. It stops by itself ``idle_s``
after the last request (and on the app's shutdown), so a UI nobody looks at reads
nothing. Memory is bounded: the newest ``max_points`` points per stream, and the newest
``max_producers`` producer runs per stream (records carry the producer's ``run_id``).

Every record holds JSON lines (the producers' and the lake's format); an event with
numeric ``lat``/``lon`` becomes a point tagged with its channel (``client`` or
``internal``). Other events are only counted.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)
SHARD_LIST_S = 30.0
ERROR_BACKOFF_S = 5.0
RATE_WINDOW_S = 60.0


@dataclass
class StreamView:
    """What the tap knows of one stream (all under the tap's lock)."""

    channel: str
    stream: str
    max_points: int
    max_producers: int
    state: str = "idle"
    error: str | None = None
    records: int = 0
    last_record_at: float | None = None
    points: deque[dict[str, Any]] = field(default_factory=deque)
    arrivals: deque[float] = field(default_factory=deque)
    producers: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self.points = deque(maxlen=self.max_points)

    def add(self, event: dict[str, Any], now: float) -> None:
        self.records += 1
        self.last_record_at = now
        self.arrivals.append(now)
        while self.arrivals and now - self.arrivals[0] > RATE_WINDOW_S:
            self.arrivals.popleft()
        run_id = event.get("run_id")
        if isinstance(run_id, str) and run_id:
            seen = self.producers.pop(run_id, None) or {"run_id": run_id, "records": 0, "first_seen": now}
            seen["records"] += 1
            seen["last_seen"] = now
            self.producers[run_id] = seen
            while len(self.producers) > self.max_producers:
                self.producers.popitem(last=False)
        lat, lon = event.get("lat"), event.get("lon")
        if isinstance(lat, int | float) and isinstance(lon, int | float) and -90 <= lat <= 90:
            self.points.append(
                {
                    "lat": lat,
                    "lon": lon,
                    "device_id": event.get("device_id") or event.get("station_id"),
                    "ts": event.get("ts"),
                    "run_id": run_id if isinstance(run_id, str) else None,
                    "source": self.channel,
                    "stream": self.stream,
                    "seen": now,
                }
            )

    def summary(self, now: float) -> dict[str, Any]:
        recent = sum(1 for t in self.arrivals if now - t <= RATE_WINDOW_S)
        return {
            "channel": self.channel,
            "stream": self.stream,
            "state": self.state,
            "error": self.error,
            "records_seen": self.records,
            "records_last_minute": recent,
            "last_record_age_s": None if self.last_record_at is None else round(now - self.last_record_at, 1),
            "producers": [
                {
                    "run_id": p["run_id"],
                    "records": p["records"],
                    "last_seen_age_s": round(now - p["last_seen"], 1),
                }
                for p in reversed(self.producers.values())
            ],
        }


def events_in(data: bytes) -> Iterator[dict[str, Any]]:
    """The JSON objects of one record (JSON lines; other lines skipped)."""
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            yield doc


class StreamTap:
    """Reads ``streams`` (channel -> stream name) from LATEST while someone watches."""

    def __init__(
        self,
        streams: dict[str, str],
        kinesis_factory: Callable[[], Any],
        *,
        poll_s: float = 1.0,
        idle_s: float = 60.0,
        max_points: int = 300,
        max_producers: int = 20,
    ) -> None:
        self.kinesis_factory = kinesis_factory
        self.poll_s = poll_s
        self.idle_s = idle_s
        self.views = {
            channel: StreamView(channel, name, max_points, max_producers) for channel, name in streams.items()
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_watch = 0.0

    def watch(self) -> None:
        """Someone looks: start reading (from LATEST) unless already reading."""
        if not self.views:
            return
        with self._lock:
            self._last_watch = time.monotonic()
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            for view in self.views.values():
                view.state, view.error = "starting", None
            self._thread = threading.Thread(target=self._run, name="nexus-ui-stream-tap", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop reading and wait for the worker (the app's shutdown calls this)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self._thread = None

    @property
    def reading(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def points(self) -> list[dict[str, Any]]:
        """Every channel's kept points, oldest first, each with its age in seconds."""
        now = time.monotonic()
        with self._lock:
            merged = [p for view in self.views.values() for p in view.points]
        merged.sort(key=lambda p: float(p["seen"]))
        return [
            {**{k: v for k, v in p.items() if k != "seen"}, "age_s": round(now - p["seen"], 1)}
            for p in merged
        ]

    def summaries(self) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            return {channel: view.summary(now) for channel, view in self.views.items()}

    # -- the worker -------------------------------------------------------------------------
    def _idle(self) -> bool:
        with self._lock:
            return time.monotonic() - self._last_watch > self.idle_s

    def _set(self, view: StreamView, state: str, error: str | None = None) -> None:
        with self._lock:
            view.state, view.error = state, error

    def _run(self) -> None:
        try:
            kinesis = self.kinesis_factory()
        except (BotoCoreError, ClientError, ValueError) as exc:
            for view in self.views.values():
                self._set(view, "error", f"{type(exc).__name__}: {exc}")
            return
        iterators: dict[tuple[str, str], str] = {}  # (channel, shard id) -> iterator
        listed: dict[str, float] = {}
        try:
            while not self._stop.is_set() and not self._idle():
                for channel, view in self.views.items():
                    if time.monotonic() - listed.get(channel, -SHARD_LIST_S) >= SHARD_LIST_S:
                        if self._open_shards(kinesis, view, iterators):
                            listed[channel] = time.monotonic()
                        else:
                            listed[channel] = time.monotonic() - SHARD_LIST_S + ERROR_BACKOFF_S
                for key in list(iterators):
                    self._read(kinesis, key, iterators)
                self._stop.wait(self.poll_s)
        finally:
            for view in self.views.values():
                if view.state != "error":
                    self._set(view, "idle")
            log.info("stream reader stopped (%s)", "shutdown" if self._stop.is_set() else "idle")

    def _open_shards(self, kinesis: Any, view: StreamView, iterators: dict[tuple[str, str], str]) -> bool:
        """LATEST iterators for shards not yet read; False (and the error shown) on failure."""
        try:
            shards: list[dict[str, Any]] = []
            kwargs: dict[str, Any] = {"StreamName": view.stream}
            while True:
                page = kinesis.list_shards(**kwargs)
                shards.extend(page.get("Shards", []))
                if not page.get("NextToken"):
                    break
                kwargs = {"NextToken": page["NextToken"]}
            for shard in shards:
                key = (view.channel, shard["ShardId"])
                open_shard = "EndingSequenceNumber" not in shard.get("SequenceNumberRange", {})
                if key not in iterators and open_shard:
                    iterators[key] = kinesis.get_shard_iterator(
                        StreamName=view.stream, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
                    )["ShardIterator"]
        except (BotoCoreError, ClientError) as exc:
            log.warning("cannot read stream %s: %s", view.stream, exc)
            self._set(view, "error", f"{type(exc).__name__}: {exc}")
            return False
        self._set(view, "reading")
        return True

    def _read(self, kinesis: Any, key: tuple[str, str], iterators: dict[tuple[str, str], str]) -> None:
        view = self.views[key[0]]
        try:
            answer = kinesis.get_records(ShardIterator=iterators[key], Limit=1000)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ProvisionedThroughputExceededException":
                return  # the shard's read budget is shared with Firehose and agent-core: next round
            iterators.pop(key, None)  # expired or gone: the next shard listing takes a new one
            if code != "ExpiredIteratorException":
                self._set(view, "error", f"{code}: {exc}")
            return
        except BotoCoreError as exc:
            self._set(view, "error", f"{type(exc).__name__}: {exc}")
            return
        following = answer.get("NextShardIterator")
        if following:
            iterators[key] = following
        else:
            iterators.pop(key, None)  # the shard was closed (resharding)
        now = time.monotonic()
        with self._lock:
            view.state, view.error = "reading", None
            for record in answer.get("Records", []):
                for event in events_in(record["Data"]):
                    view.add(event, now)
