"""The video producer: a synthetic camera that sends real MKV fragments with PutMedia.

Frames are rendered at ``fps`` on a monotonic clock (real time, or as fast as possible
with ``realtime=False``), grouped into fragments of ``fragment_seconds``, encoded
(:mod:`.encode`) and put (:mod:`.putmedia`). Every fragment must come back ``PERSISTED``
(or ``RECEIVED`` on a stream without retention); an ``ERROR`` acknowledgement stops the run.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nexuskit.producers.credentials import CredentialSource
from nexuskit.producers.errors import VideoError
from nexuskit.producers.video.encode import FragmentEncoder
from nexuskit.producers.video.putmedia import PutMediaClient, data_endpoint
from nexuskit.producers.video.scene import Scene

log = logging.getLogger(__name__)


@dataclass
class VideoOptions:
    fps: float = 5.0
    duration: float | None = 10.0
    #: a number of fragments instead of a duration
    fragments: int | None = None
    fragment_seconds: float = 1.0
    width: int = 320
    height: int = 240
    realtime: bool = True
    label: str = "NEXUS CAM"

    def frames_per_fragment(self) -> int:
        return max(1, round(self.fps * self.fragment_seconds))

    def fragment_count(self) -> int:
        if self.fragments is not None:
            return self.fragments
        if self.duration is None:
            raise VideoError("say how long to film", "give --duration 10s or --count FRAGMENTS")
        return max(1, math.ceil(self.duration * self.fps / self.frames_per_fragment()))


@dataclass
class VideoProgress:
    fragments: int
    planned: int
    frames: int
    bytes: int
    elapsed_s: float


@dataclass
class VideoReport:
    stream: str
    channel: str
    endpoint: str
    fps: float
    frames: int
    fragments_sent: int
    fragments_persisted: int
    bytes_sent: int
    elapsed_s: float
    fragments_per_s: float
    acks: dict[str, int]
    fragment_numbers: list[str] = field(default_factory=list)
    credentials: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        doc["elapsed_s"] = round(self.elapsed_s, 3)
        doc["fragments_per_s"] = round(self.fragments_per_s, 3)
        return doc


class VideoProducer:
    """Films a synthetic scene into one Kinesis video stream."""

    def __init__(
        self,
        options: VideoOptions,
        credentials: CredentialSource,
        stream: str,
        *,
        on_progress: Callable[[VideoProgress], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if options.fps <= 0 or options.fps > 120:
            raise VideoError(f"fps {options.fps} must be between 0 and 120")
        if options.fragment_seconds <= 0 or options.fragment_seconds > 20:
            raise VideoError("a fragment lasts more than 0 and at most 20 seconds (Kinesis Video's limit)")
        self.options = options
        self.credentials = credentials
        self.stream = stream
        self.on_progress = on_progress
        self._monotonic, self._wall, self._sleep = monotonic, wall, sleep
        try:
            self.scene = Scene(options.width, options.height, options.label)
        except ValueError as exc:
            raise VideoError(str(exc)) from None
        self.encoder = FragmentEncoder(options.width, options.height, options.fps)

    def run(self) -> VideoReport:
        options = self.options
        endpoint = data_endpoint(self.credentials.target(), self.stream)
        client = PutMediaClient(self.credentials, self.stream, endpoint)
        per_fragment = options.frames_per_fragment()
        planned = options.fragment_count()
        producer_start = self._wall()
        started = self._monotonic()
        acks: Counter[str] = Counter()
        numbers: list[str] = []
        frames = sent_bytes = persisted = 0
        for fragment in range(planned):
            group = []
            for _ in range(per_fragment):
                offset = frames / options.fps
                if options.realtime:
                    self._sleep(max(0.0, started + offset - self._monotonic()))
                group.append((self.scene.render(frames, producer_start + offset), round(offset * 1000)))
                frames += 1
            body = self.encoder.encode(group)
            answer = client.put(body, producer_start)
            sent_bytes += len(body)
            for ack in answer.acks:
                kind = str(ack.get("EventType"))
                acks[kind] += 1
                if kind == "ERROR":
                    raise VideoError(
                        f"PutMedia refused fragment {fragment} of {self.stream}: "
                        f"{ack.get('ErrorCode')} ({ack.get('ErrorId')})"
                    )
                if kind == "PERSISTED":
                    persisted += 1
                if kind == "RECEIVED":
                    numbers.append(str(ack.get("FragmentNumber")))
            if self.on_progress is not None:
                self.on_progress(
                    VideoProgress(fragment + 1, planned, frames, sent_bytes, self._monotonic() - started)
                )
        elapsed = max(1e-9, self._monotonic() - started)
        return VideoReport(
            stream=self.stream,
            channel=self.credentials.channel,
            endpoint=endpoint,
            fps=options.fps,
            frames=frames,
            fragments_sent=planned,
            fragments_persisted=persisted,
            bytes_sent=sent_bytes,
            elapsed_s=elapsed,
            fragments_per_s=planned / elapsed,
            acks=dict(acks),
            fragment_numbers=numbers,
            credentials=self.credentials.describe(),
        )
