"""The Kinesis Video media plane: fragments put with PutMedia, listed and read back.

A PutMedia body is parsed as Matroska (:mod:`emulation.kinesisvideo.ebml`); each Cluster
becomes a *fragment* with a fragment number (47 decimal digits, increasing in ingestion
order, as AWS's), a producer timestamp (from the cluster timecode: relative to
``x-amzn-producer-start-timestamp`` or absolute), a server timestamp (arrival) and its
size. Every fragment is stored as a playable chunk: the EBML header, a Segment of unknown
size with the stream's Info and Tracks, and the Cluster. Readers get the chunk back with
AWS's fragment tags inserted before the Cluster.

Acknowledgements follow AWS: ``BUFFERING`` and ``RECEIVED`` for each fragment, then
``PERSISTED`` when the stream keeps data (retention > 0); an ``ERROR`` ack (``ErrorId``,
``ErrorCode``) ends the session: invalid MKV (4006), a fragment timecode going backwards
(4004), more than three tracks (4005), a fragment longer than 20 s (4002) or larger than
50 MB (4001).

Retention: fragments older than the stream's ``DataRetentionInHours`` (by server
timestamp) are dropped whenever the stream is read or written. Storage: with a state dir
each fragment is two files, ``<number>.mkv`` and ``<number>.json`` (metadata, written
last), under ``<state_dir>/state/kinesisvideo/<account>/<region>/<stream>/``; the store is
rebuilt from them on start, so nothing depends on snapshots. Without a state dir the
chunks live in memory.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emulation.kinesisvideo import ebml
from emulation.kinesisvideo.exceptions import (
    FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS,
    INVALID_MKV_DATA,
    MAX_FRAGMENT_DURATION_REACHED,
    MAX_FRAGMENT_SIZE_REACHED,
    MORE_THAN_ALLOWED_TRACKS_FOUND,
    AckError,
    InvalidArgumentException,
    ack_error,
)

log = logging.getLogger(__name__)

MAX_TRACKS = 3
MAX_FRAGMENT_BYTES = 50 * 1024 * 1024
MAX_FRAGMENT_SECONDS = 20.0
MAX_LIST_RESULTS = 1000
DEFAULT_LIST_RESULTS = 100
MAX_FRAGMENTS_PER_GET = 1000
#: fragment numbers: this prefix, then the arrival time in ms and a counter (47 digits)
_NUMBER_BASE = 91343852333181432392682062 * 10**21
_NUMBER_MS_FACTOR = 10**6
#: the EBML header of chunks that carry only an error (no media)
_BARE_EBML_HEADER = ebml.element(
    ebml.EBML,
    ebml.uint_element(0x4286, 1)  # EBMLVersion
    + ebml.uint_element(0x42F7, 1)  # EBMLReadVersion
    + ebml.uint_element(0x42F2, 4)  # EBMLMaxIDLength
    + ebml.uint_element(0x42F3, 8)  # EBMLMaxSizeLength
    + ebml.string_element(0x4282, "matroska")  # DocType
    + ebml.uint_element(0x4287, 4)  # DocTypeVersion
    + ebml.uint_element(0x4285, 2),  # DocTypeReadVersion
)


@dataclass(frozen=True)
class StreamRef:
    """The moto stream a media call addresses (looked up by the extension)."""

    account: str
    region: str
    name: str
    arn: str
    retention_hours: int
    #: moto's creation time: a stream deleted and created again under the same name (and
    #: moto's fixed ARN) must not see the old stream's fragments
    incarnation: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.account, self.region, self.name


@dataclass(frozen=True)
class Fragment:
    """One stored fragment (what ListFragments reports, plus where its chunk is cut)."""

    number: str
    producer_timestamp: float
    server_timestamp: float
    size: int
    length_ms: int
    timecode: int
    header_size: int

    def describe(self) -> dict[str, Any]:
        """The ``Fragment`` shape of ListFragments (timestamps as epoch seconds)."""
        return {
            "FragmentNumber": self.number,
            "FragmentSizeInBytes": self.size,
            "ProducerTimestamp": round(self.producer_timestamp, 3),
            "ServerTimestamp": round(self.server_timestamp, 3),
            "FragmentLengthInMilliseconds": self.length_ms,
        }


@dataclass(frozen=True)
class PutMediaParams:
    """The PutMedia request headers that matter to the media plane."""

    timecode_type: str  # ABSOLUTE | RELATIVE
    producer_start: float | None  # epoch seconds (RELATIVE timecodes count from it)


@dataclass
class _StreamMedia:
    incarnation: str
    fragments: list[Fragment] = field(default_factory=list)
    last_number: int = 0
    chunks: dict[str, bytes] = field(default_factory=dict)  # in-memory mode only


def _stamp(seconds: float) -> str:
    return f"{seconds:.3f}"


def _encode_token(number: str) -> str:
    return base64.urlsafe_b64encode(number.encode("ascii")).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        number = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidArgumentException("NextToken is not a token this stream issued.") from None
    if not number.isdigit():
        raise InvalidArgumentException("NextToken is not a token this stream issued.")
    return number


class MediaStore:
    """Fragments of every stream, in memory and (with a root folder) on disk."""

    def __init__(self, root: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.clock = clock
        self._lock = threading.RLock()
        self._streams: dict[tuple[str, str, str], _StreamMedia] = {}
        self.fragments_received = 0
        self.fragments_trimmed = 0
        self.bytes_received = 0
        self.error_acks = 0

    # -- streams and storage --------------------------------------------------------------
    def _dir(self, key: tuple[str, str, str]) -> Path:
        assert self.root is not None
        return self.root.joinpath(*key)

    def _media(self, stream: StreamRef) -> _StreamMedia:
        media = self._streams.get(stream.key)
        if media is not None and media.incarnation != stream.incarnation:
            log.info("video stream %s was created again: dropping the old fragments", stream.name)
            self._drop_stream(stream.key)
            media = None
        if media is None:
            media = _StreamMedia(stream.incarnation)
            self._streams[stream.key] = media
            if self.root is not None:
                folder = self._dir(stream.key)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "stream.json").write_text(
                    json.dumps({"arn": stream.arn, "incarnation": stream.incarnation})
                )
        return media

    def _drop_stream(self, key: tuple[str, str, str]) -> None:
        self._streams.pop(key, None)
        if self.root is not None:
            shutil.rmtree(self._dir(key), ignore_errors=True)

    def _write(self, stream: StreamRef, media: _StreamMedia, fragment: Fragment, chunk: bytes) -> None:
        if self.root is None:
            media.chunks[fragment.number] = chunk
            return
        folder = self._dir(stream.key)
        body = folder / f"{fragment.number}.mkv"
        meta = folder / f"{fragment.number}.json"
        tmp = body.with_suffix(".mkv.tmp")
        tmp.write_bytes(chunk)
        os.replace(tmp, body)
        tmp = meta.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(fragment)))
        os.replace(tmp, meta)  # the metadata makes the fragment exist: it comes last

    def _read(self, stream: StreamRef, media: _StreamMedia, fragment: Fragment) -> bytes | None:
        if self.root is None:
            return media.chunks.get(fragment.number)
        try:
            return (self._dir(stream.key) / f"{fragment.number}.mkv").read_bytes()
        except FileNotFoundError:
            return None

    def _delete(self, stream: StreamRef, media: _StreamMedia, fragment: Fragment) -> None:
        if self.root is None:
            media.chunks.pop(fragment.number, None)
            return
        folder = self._dir(stream.key)
        (folder / f"{fragment.number}.json").unlink(missing_ok=True)
        (folder / f"{fragment.number}.mkv").unlink(missing_ok=True)

    def restore(self) -> int:
        """Rebuild the index from the files (fragments whose metadata was written)."""
        if self.root is None or not self.root.exists():
            return 0
        restored = 0
        with self._lock:
            for info in self.root.glob("*/*/*/stream.json"):
                folder = info.parent
                key = (folder.parent.parent.name, folder.parent.name, folder.name)
                try:
                    incarnation = str(json.loads(info.read_text())["incarnation"])
                except (OSError, ValueError, KeyError):
                    log.warning("ignoring unreadable %s", info)
                    continue
                media = _StreamMedia(incarnation)
                for meta in folder.glob("*.json"):
                    if meta.name == "stream.json" or not (folder / f"{meta.stem}.mkv").exists():
                        continue
                    try:
                        fragment = Fragment(**json.loads(meta.read_text()))
                    except (OSError, ValueError, TypeError):
                        log.warning("ignoring unreadable fragment metadata %s", meta)
                        continue
                    media.fragments.append(fragment)
                media.fragments.sort(key=lambda f: int(f.number))
                if media.fragments:
                    media.last_number = int(media.fragments[-1].number)
                self._streams[key] = media
                restored += len(media.fragments)
        return restored

    def reset(self) -> None:
        with self._lock:
            self._streams.clear()
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)

    def forget(self, stream: StreamRef) -> None:
        """The stream was deleted: drop its fragments."""
        with self._lock:
            self._drop_stream(stream.key)

    # -- retention ------------------------------------------------------------------------
    def _trim(self, stream: StreamRef, media: _StreamMedia, now: float) -> None:
        horizon = now - stream.retention_hours * 3600
        expired = 0  # fragments are in arrival order: the expired ones come first
        while expired < len(media.fragments) and media.fragments[expired].server_timestamp < horizon:
            expired += 1
        if expired:
            for fragment in media.fragments[:expired]:
                self._delete(stream, media, fragment)
            del media.fragments[:expired]
            self.fragments_trimmed += expired

    # -- PutMedia -------------------------------------------------------------------------
    def _next_number(self, media: _StreamMedia, now: float) -> str:
        number = max(media.last_number + 1, _NUMBER_BASE + int(now * 1000) * _NUMBER_MS_FACTOR)
        media.last_number = number
        return str(number)

    def put_media(self, stream: StreamRef, params: PutMediaParams, body: bytes) -> list[dict[str, Any]]:
        """Store every fragment of ``body``; the acknowledgement events, in order."""
        parsed = ebml.parse_stream(body)
        acks: list[dict[str, Any]] = []
        previous: float | None = None
        with self._lock:
            now = self.clock()
            media = self._media(stream)
            self._trim(stream, media, now)
            for cluster in parsed.clusters:
                scale = cluster.header.timecode_scale_ns / 1e9
                try:
                    produced = self._producer_time(params, cluster.timecode * scale, now)
                    self._check(cluster, produced, previous)
                except AckError as error:
                    acks.append(self._error_ack(error, cluster.timecode))
                    return acks
                previous = produced
                number = self._next_number(media, now)
                acks.append(_ack("BUFFERING", cluster.timecode, number))
                prefix = cluster.header.segment_prefix()
                chunk = prefix + cluster.raw
                fragment = Fragment(
                    number=number,
                    producer_timestamp=produced,
                    server_timestamp=now,
                    size=len(chunk),
                    length_ms=round(cluster.duration_ticks * scale * 1000),
                    timecode=cluster.timecode,
                    header_size=len(prefix),
                )
                acks.append(_ack("RECEIVED", cluster.timecode, number))
                self.fragments_received += 1
                self.bytes_received += len(cluster.raw)
                if stream.retention_hours > 0:
                    self._write(stream, media, fragment, chunk)
                    media.fragments.append(fragment)
                    acks.append(_ack("PERSISTED", cluster.timecode, number))
        if parsed.error is not None:
            invalid = ack_error(INVALID_MKV_DATA, parsed.error.reason)
            last = parsed.clusters[-1].timecode if parsed.clusters else 0
            acks.append(self._error_ack(invalid, last))
        return acks

    def _error_ack(self, error: AckError, timecode: int) -> dict[str, Any]:
        self.error_acks += 1
        log.info("PutMedia refused a fragment: %s", error)
        return {
            "EventType": "ERROR",
            "FragmentTimecode": timecode,
            "ErrorId": error.error_id,
            "ErrorCode": error.error_code,
        }

    @staticmethod
    def _producer_time(params: PutMediaParams, offset_s: float, now: float) -> float:
        if params.timecode_type == "ABSOLUTE":
            return offset_s
        start = params.producer_start if params.producer_start is not None else now
        return start + offset_s

    @staticmethod
    def _check(cluster: ebml.Cluster, produced: float, previous: float | None) -> None:
        if len(cluster.header.track_numbers) > MAX_TRACKS:
            raise ack_error(
                MORE_THAN_ALLOWED_TRACKS_FOUND,
                f"{len(cluster.header.track_numbers)} tracks (at most {MAX_TRACKS})",
            )
        if previous is not None and produced < previous:
            raise ack_error(FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS, f"timecode {cluster.timecode}")
        seconds = cluster.duration_ticks * cluster.header.timecode_scale_ns / 1e9
        if seconds > MAX_FRAGMENT_SECONDS:
            raise ack_error(
                MAX_FRAGMENT_DURATION_REACHED, f"{seconds:.1f} s (at most {MAX_FRAGMENT_SECONDS} s)"
            )
        if len(cluster.raw) > MAX_FRAGMENT_BYTES:
            raise ack_error(MAX_FRAGMENT_SIZE_REACHED, f"{len(cluster.raw)} bytes")

    # -- reading --------------------------------------------------------------------------
    def fragments(self, stream: StreamRef) -> list[Fragment]:
        """The stream's fragments within retention, oldest first."""
        with self._lock:
            media = self._media(stream)
            self._trim(stream, media, self.clock())
            return list(media.fragments)

    def list_fragments(
        self,
        stream: StreamRef,
        selector: tuple[str, float, float] | None,
        max_results: int | None,
        next_token: str | None,
    ) -> tuple[list[Fragment], str | None]:
        """A page of ListFragments: ``selector`` is (PRODUCER|SERVER_TIMESTAMP, start, end)."""
        limit = DEFAULT_LIST_RESULTS if max_results is None else max_results
        if not 1 <= limit <= MAX_LIST_RESULTS:
            raise InvalidArgumentException(f"MaxResults must be between 1 and {MAX_LIST_RESULTS}.")
        after = int(_decode_token(next_token)) if next_token else -1
        matching = []
        for fragment in self.fragments(stream):
            if int(fragment.number) <= after:
                continue
            if selector is not None:
                kind, start, end = selector
                moment = (
                    fragment.producer_timestamp if kind == "PRODUCER_TIMESTAMP" else fragment.server_timestamp
                )
                if not start <= moment <= end:
                    continue
            matching.append(fragment)
        page = matching[:limit]
        token = _encode_token(page[-1].number) if len(matching) > limit else None
        return page, token

    def _chunk(
        self, stream: StreamRef, media: _StreamMedia, fragment: Fragment, before: list[tuple[str, str]]
    ) -> bytes | None:
        chunk = self._read(stream, media, fragment)
        if chunk is None:
            return None
        head, cluster = chunk[: fragment.header_size], chunk[fragment.header_size :]
        return head + ebml.tags_element(before) + cluster

    def media_for_fragment_list(self, stream: StreamRef, numbers: list[str]) -> bytes:
        """The GetMediaForFragmentList payload: one tagged chunk per requested fragment."""
        if not 1 <= len(numbers) <= MAX_FRAGMENTS_PER_GET:
            raise InvalidArgumentException(
                f"Fragments must list 1 to {MAX_FRAGMENTS_PER_GET} fragment numbers."
            )
        with self._lock:
            media = self._media(stream)
            self._trim(stream, media, self.clock())
            by_number = {fragment.number: fragment for fragment in media.fragments}
            parts: list[bytes] = []
            for number in numbers:
                fragment = by_number.get(str(number))
                chunk = None
                if fragment is not None:
                    tags = [
                        ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", fragment.number),
                        ("AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP", _stamp(fragment.server_timestamp)),
                        ("AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP", _stamp(fragment.producer_timestamp)),
                    ]
                    chunk = self._chunk(stream, media, fragment, tags)
                if chunk is None:
                    chunk = _error_chunk(
                        [
                            ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", str(number)),
                            ("AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE", "4000"),
                            ("AWS_KINESISVIDEO_EXCEPTION_MESSAGE", "Requested fragment is not found"),
                        ]
                    )
                parts.append(chunk)
        return b"".join(parts)

    def get_media(self, stream: StreamRef, start: dict[str, Any]) -> bytes:
        """The GetMedia payload: the fragments from the start selector on, tagged as AWS does.

        AWS keeps a GetMedia connection open and streams new fragments as they arrive; here
        the answer ends after the fragments stored now (``NOW`` returns none). Every chunk
        carries ``AWS_KINESISVIDEO_CONTINUATION_TOKEN``: a client polls with it.
        """
        kind = start.get("StartSelectorType")
        with self._lock:
            now = self.clock()
            media = self._media(stream)
            self._trim(stream, media, now)
            chosen = list(self._select(media.fragments, kind, start))[:MAX_FRAGMENTS_PER_GET]
            parts: list[bytes] = []
            for fragment in chosen:
                tags = [
                    ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", fragment.number),
                    ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", _stamp(fragment.server_timestamp)),
                    ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", _stamp(fragment.producer_timestamp)),
                ]
                chunk = self._chunk(stream, media, fragment, tags)
                if chunk is None:
                    continue
                behind = max(0, round((now - fragment.server_timestamp) * 1000))
                after = [
                    ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", str(behind)),
                    ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", fragment.number),
                ]
                parts.append(chunk + ebml.tags_element(after))
        return b"".join(parts)

    @staticmethod
    def _select(fragments: list[Fragment], kind: Any, start: dict[str, Any]) -> Iterator[Fragment]:
        if kind == "EARLIEST":
            yield from fragments
        elif kind == "NOW":
            return
        elif kind == "FRAGMENT_NUMBER":
            after = _fragment_number(start.get("AfterFragmentNumber"), "AfterFragmentNumber")
            yield from (f for f in fragments if int(f.number) >= after)
        elif kind == "CONTINUATION_TOKEN":
            after = _fragment_number(start.get("ContinuationToken"), "ContinuationToken")
            yield from (f for f in fragments if int(f.number) > after)
        elif kind in {"SERVER_TIMESTAMP", "PRODUCER_TIMESTAMP"}:
            moment = start.get("StartTimestamp")
            if not isinstance(moment, int | float):
                raise InvalidArgumentException(f"StartTimestamp is required for {kind}.")
            server = kind == "SERVER_TIMESTAMP"
            for fragment in fragments:
                stamp = fragment.server_timestamp if server else fragment.producer_timestamp
                if stamp + fragment.length_ms / 1000 > moment:
                    yield fragment
        else:
            raise InvalidArgumentException(f"StartSelectorType {kind!r} is not supported.")

    def health(self) -> dict[str, Any]:
        with self._lock:
            stored = sum(len(m.fragments) for m in self._streams.values())
        return {
            "fragments_received": self.fragments_received,
            "fragments_stored": stored,
            "fragments_trimmed": self.fragments_trimmed,
            "bytes_received": self.bytes_received,
            "error_acks": self.error_acks,
            "storage": str(self.root) if self.root else "memory",
        }


def _fragment_number(value: Any, name: str) -> int:
    if not isinstance(value, str) or not value.isdigit():
        raise InvalidArgumentException(f"{name} must be a fragment number.")
    return int(value)


def _ack(event: str, timecode: int, number: str) -> dict[str, Any]:
    return {"EventType": event, "FragmentTimecode": timecode, "FragmentNumber": number}


def _error_chunk(tags: list[tuple[str, str]]) -> bytes:
    return _BARE_EBML_HEADER + ebml.encode_id(ebml.SEGMENT) + ebml.UNKNOWN_SIZE + ebml.tags_element(tags)
