"""A small EBML/Matroska reader and writer: enough to cut a PutMedia stream into fragments.

EBML elements are ``ID | size | payload``. Both the ID and the size are variable-length
integers (the count of leading zero bits of the first byte gives the length); an ID
keeps its length marker, a size drops it, and a size of all one bits means *unknown*
(live muxers write Segments and Clusters like that: they end where an element that
cannot be their child begins).

A Matroska stream is ``EBML header`` then ``Segment``; the Segment holds ``Info``
(``TimecodeScale``, nanoseconds per timecode tick, default 1 ms), ``Tracks`` and then
``Cluster`` after ``Cluster``. Kinesis Video calls each Cluster a *fragment*: a cluster
timecode plus blocks (``SimpleBlock`` or ``BlockGroup/Block``) whose timecodes are
relative to it. A PutMedia stream may start a new EBML header + Segment at any point (a
producer that restarts); later clusters belong to the newest header.

:func:`parse_stream` reads the whole body and returns each cluster with the header that
describes it, or where the data stopped making sense. The tests check it against PyAV
(FFmpeg's demuxer) on real H.264 MKV.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# -- element IDs (with their length marker, as written) -------------------------------------
EBML = 0x1A45DFA3
SEGMENT = 0x18538067
SEEK_HEAD = 0x114D9B74
INFO = 0x1549A966
TIMECODE_SCALE = 0x2AD7B1
DURATION = 0x4489
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
TRACK_NUMBER = 0xD7
TRACK_TYPE = 0x83
CODEC_ID = 0x86
DEFAULT_DURATION = 0x23E383
CLUSTER = 0x1F43B675
TIMECODE = 0xE7
SIMPLE_BLOCK = 0xA3
BLOCK_GROUP = 0xA0
BLOCK = 0xA1
REFERENCE_BLOCK = 0xFB
CUES = 0x1C53BB6B
TAGS = 0x1254C367
TAG = 0x7373
TARGETS = 0x63C0
SIMPLE_TAG = 0x67C8
TAG_NAME = 0x45A3
TAG_STRING = 0x4487
CHAPTERS = 0x1043A770
ATTACHMENTS = 0x1941A469
VOID = 0xEC
CRC32 = 0xBF

#: children of a Segment: an unknown-size Cluster ends where one of these begins
LEVEL1 = frozenset({SEEK_HEAD, INFO, TRACKS, CLUSTER, CUES, TAGS, CHAPTERS, ATTACHMENTS})
DEFAULT_TIMECODE_SCALE_NS = 1_000_000
UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"
_MAX_ID_BYTES = 4
_MAX_SIZE_BYTES = 8


class EbmlError(ValueError):
    """The bytes are not valid EBML/Matroska where they were expected to be."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"{reason} at byte {offset}")
        self.offset = offset
        self.reason = reason


# -- variable-length integers ----------------------------------------------------------------
def _vint_length(first: int, limit: int, offset: int, what: str) -> int:
    if first == 0:
        raise EbmlError(offset, f"invalid {what} (no length marker)")
    length = 8 - first.bit_length() + 1
    if length > limit:
        raise EbmlError(offset, f"invalid {what} ({length} bytes long)")
    return length


def read_id(data: bytes, pos: int) -> tuple[int, int]:
    """The element ID at ``pos`` (marker kept) and its length in bytes."""
    if pos >= len(data):
        raise EbmlError(pos, "truncated element ID")
    length = _vint_length(data[pos], _MAX_ID_BYTES, pos, "element ID")
    if pos + length > len(data):
        raise EbmlError(pos, "truncated element ID")
    return int.from_bytes(data[pos : pos + length], "big"), length


def read_size(data: bytes, pos: int) -> tuple[int | None, int]:
    """The data size at ``pos`` (None when unknown) and its length in bytes."""
    if pos >= len(data):
        raise EbmlError(pos, "truncated element size")
    length = _vint_length(data[pos], _MAX_SIZE_BYTES, pos, "element size")
    if pos + length > len(data):
        raise EbmlError(pos, "truncated element size")
    value = int.from_bytes(data[pos : pos + length], "big") & ((1 << (7 * length)) - 1)
    if value == (1 << (7 * length)) - 1:
        return None, length
    return value, length


def encode_id(element_id: int) -> bytes:
    return element_id.to_bytes(max(1, (element_id.bit_length() + 7) // 8), "big")


def encode_size(size: int) -> bytes:
    """The shortest size vint for ``size`` (never the all-ones 'unknown' pattern)."""
    for length in range(1, _MAX_SIZE_BYTES + 1):
        if size < (1 << (7 * length)) - 1:
            return ((1 << (7 * length)) | size).to_bytes(length, "big")
    raise ValueError(f"EBML size {size} is too large")


def element(element_id: int, payload: bytes) -> bytes:
    return encode_id(element_id) + encode_size(len(payload)) + payload


def uint_element(element_id: int, value: int) -> bytes:
    return element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def string_element(element_id: int, value: str) -> bytes:
    return element(element_id, value.encode("utf-8"))


def read_uint(payload: bytes) -> int:
    return int.from_bytes(payload, "big") if payload else 0


# -- elements --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Element:
    """One element: where its header starts, where its data starts and ends."""

    id: int
    start: int
    data_start: int
    end: int
    #: the size was 'unknown' in the stream (``end`` was found by scanning)
    unknown_size: bool = False

    def payload(self, data: bytes) -> bytes:
        return data[self.data_start : self.end]

    def raw(self, data: bytes) -> bytes:
        return data[self.start : self.end]


def read_header(data: bytes, pos: int) -> tuple[int, int | None, int]:
    """``(id, size or None, data start)`` of the element at ``pos``."""
    element_id, id_length = read_id(data, pos)
    size, size_length = read_size(data, pos + id_length)
    return element_id, size, pos + id_length + size_length


def children(data: bytes, start: int, end: int) -> Iterator[Element]:
    """The elements between ``start`` and ``end`` (all of known size)."""
    pos = start
    while pos < end:
        element_id, size, data_start = read_header(data, pos)
        if size is None:
            raise EbmlError(pos, f"element 0x{element_id:X} of unknown size where sizes are required")
        if data_start + size > end:
            raise EbmlError(pos, f"element 0x{element_id:X} runs past its parent (truncated data)")
        yield Element(element_id, pos, data_start, data_start + size)
        pos = data_start + size


def child_payload(data: bytes, parent: Element, element_id: int) -> bytes | None:
    for child in children(data, parent.data_start, parent.end):
        if child.id == element_id:
            return child.payload(data)
    return None


# -- Matroska --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    """One frame of a cluster: its track, timecode relative to the cluster, key frame."""

    track: int
    relative_timecode: int
    keyframe: bool
    size: int


@dataclass(frozen=True)
class StreamHeader:
    """What a cluster needs to be played on its own: EBML header, Info and Tracks."""

    ebml: bytes
    info: bytes
    tracks: bytes
    timecode_scale_ns: int
    track_numbers: frozenset[int]
    codec_ids: tuple[str, ...]
    default_durations_ns: dict[int, int] = field(default_factory=dict)

    def segment_prefix(self) -> bytes:
        """EBML header + Segment start (unknown size) + Info + Tracks."""
        return self.ebml + encode_id(SEGMENT) + UNKNOWN_SIZE + self.info + self.tracks


@dataclass(frozen=True)
class Cluster:
    """One cluster (a Kinesis Video fragment) and the header it belongs to."""

    header: StreamHeader
    timecode: int
    blocks: tuple[Block, ...]
    raw: bytes

    @property
    def duration_ticks(self) -> int:
        """Time the cluster covers, in timecode ticks (last frame's duration included)."""
        if not self.blocks:
            return 0
        stamps = sorted({block.relative_timecode for block in self.blocks})
        span = stamps[-1] - stamps[0]
        frame = 0
        scale = self.header.timecode_scale_ns
        defaults = [self.header.default_durations_ns.get(b.track, 0) for b in self.blocks]
        if any(defaults):
            frame = max(defaults) // scale
        elif len(stamps) > 1:
            frame = span // (len(stamps) - 1)
        return span + frame

    @property
    def starts_with_keyframe(self) -> bool:
        return bool(self.blocks) and self.blocks[0].keyframe


@dataclass
class ParsedStream:
    """The clusters of a stream, and the error that stopped reading (if one did)."""

    clusters: list[Cluster]
    error: EbmlError | None = None
    #: bytes read before the error (or all of them)
    consumed: int = 0


def _parse_block(payload: bytes, offset: int, simple: bool) -> Block:
    if not payload:
        raise EbmlError(offset, "empty block")
    first = payload[0]
    length = _vint_length(first, _MAX_SIZE_BYTES, offset, "block track number")
    if len(payload) < length + 3:
        raise EbmlError(offset, "truncated block header")
    track = int.from_bytes(payload[:length], "big") & ((1 << (7 * length)) - 1)
    relative = int.from_bytes(payload[length : length + 2], "big", signed=True)
    flags = payload[length + 2]
    keyframe = bool(flags & 0x80) if simple else False
    return Block(track, relative, keyframe, len(payload) - length - 3)


def _parse_header(data: bytes, ebml: Element, info: Element, tracks: Element) -> StreamHeader:
    scale = DEFAULT_TIMECODE_SCALE_NS
    info_children = []
    for child in children(data, info.data_start, info.end):
        if child.id == TIMECODE_SCALE:
            scale = read_uint(child.payload(data)) or DEFAULT_TIMECODE_SCALE_NS
        if child.id != DURATION:  # the input's duration does not describe one fragment
            info_children.append(child.raw(data))
    numbers: set[int] = set()
    codecs: list[str] = []
    defaults: dict[int, int] = {}
    for entry in children(data, tracks.data_start, tracks.end):
        if entry.id != TRACK_ENTRY:
            continue
        number = codec = default = None
        for child in children(data, entry.data_start, entry.end):
            if child.id == TRACK_NUMBER:
                number = read_uint(child.payload(data))
            elif child.id == CODEC_ID:
                codec = child.payload(data).decode("ascii", "replace")
            elif child.id == DEFAULT_DURATION:
                default = read_uint(child.payload(data))
        if number is None:
            raise EbmlError(entry.start, "track entry without a track number")
        numbers.add(number)
        codecs.append(codec or "")
        if default:
            defaults[number] = default
    if not numbers:
        raise EbmlError(tracks.start, "Tracks holds no track")
    return StreamHeader(
        ebml=ebml.raw(data),
        info=element(INFO, b"".join(info_children)),
        tracks=tracks.raw(data),
        timecode_scale_ns=scale,
        track_numbers=frozenset(numbers),
        codec_ids=tuple(codecs),
        default_durations_ns=defaults,
    )


def _cluster_end(data: bytes, start: int, data_start: int) -> int:
    """End of an unknown-size cluster: the next level-1 or EBML element, or the data's end."""
    pos = data_start
    while pos < len(data):
        element_id, size, child_start = read_header(data, pos)
        if element_id in LEVEL1 or element_id in {EBML, SEGMENT}:
            return pos
        if size is None:
            raise EbmlError(pos, f"element 0x{element_id:X} of unknown size inside a cluster")
        if child_start + size > len(data):
            raise EbmlError(pos, "cluster data is truncated")
        pos = child_start + size
    return pos


def _parse_cluster(data: bytes, cluster: Element, header: StreamHeader) -> Cluster:
    timecode: int | None = None
    blocks: list[Block] = []
    for child in children(data, cluster.data_start, cluster.end):
        if child.id == TIMECODE:
            timecode = read_uint(child.payload(data))
        elif child.id == SIMPLE_BLOCK:
            blocks.append(_parse_block(child.payload(data), child.start, simple=True))
        elif child.id == BLOCK_GROUP:
            block: Block | None = None
            referenced = False
            for part in children(data, child.data_start, child.end):
                if part.id == BLOCK:
                    block = _parse_block(part.payload(data), part.start, simple=False)
                elif part.id == REFERENCE_BLOCK:
                    referenced = True
            if block is not None:
                blocks.append(Block(block.track, block.relative_timecode, not referenced, block.size))
    if timecode is None:
        raise EbmlError(cluster.start, "cluster without a Timecode")
    for block in blocks:
        if block.track not in header.track_numbers:
            raise EbmlError(cluster.start, f"block of track {block.track}, which Tracks does not declare")
    return Cluster(header, timecode, tuple(blocks), cluster.raw(data))


def parse_stream(data: bytes) -> ParsedStream:
    """Every cluster of a Matroska byte stream (one or more EBML header + Segment)."""
    result = ParsedStream([])
    pos = 0
    try:
        while pos < len(data):
            element_id, size, data_start = read_header(data, pos)
            if element_id != EBML:
                raise EbmlError(pos, f"expected an EBML header, found element 0x{element_id:X}")
            if size is None or data_start + size > len(data):
                raise EbmlError(pos, "EBML header is truncated or of unknown size")
            ebml = Element(EBML, pos, data_start, data_start + size)
            doc_type = child_payload(data, ebml, 0x4282)
            if doc_type not in {b"matroska", b"webm"}:
                raise EbmlError(pos, f"DocType {doc_type!r} is not matroska")
            pos = ebml.end
            result.consumed = pos
            pos = _read_segment(data, pos, ebml, result)
            result.consumed = pos
    except EbmlError as error:
        result.error = error
    return result


def _read_segment(data: bytes, pos: int, ebml: Element, result: ParsedStream) -> int:
    element_id, size, data_start = read_header(data, pos)
    if element_id != SEGMENT:
        raise EbmlError(pos, f"expected a Segment, found element 0x{element_id:X}")
    end = len(data) if size is None else min(len(data), data_start + size)
    info: Element | None = None
    tracks: Element | None = None
    header: StreamHeader | None = None
    pos = data_start
    while pos < end:
        element_id, size, child_start = read_header(data, pos)
        if element_id == EBML:
            return pos  # a new stream header starts (the producer restarted)
        if element_id == CLUSTER:
            cluster_end = _cluster_end(data, pos, child_start) if size is None else child_start + size
            if cluster_end > len(data):
                raise EbmlError(pos, "cluster data is truncated")
            if header is None:
                if info is None or tracks is None:
                    raise EbmlError(pos, "cluster before the segment's Info and Tracks")
                header = _parse_header(data, ebml, info, tracks)
            cluster = Element(CLUSTER, pos, child_start, cluster_end, size is None)
            result.clusters.append(_parse_cluster(data, cluster, header))
            pos = cluster_end
            result.consumed = pos
            continue
        if size is None:
            raise EbmlError(pos, f"element 0x{element_id:X} of unknown size inside the segment")
        if child_start + size > len(data):
            raise EbmlError(pos, f"element 0x{element_id:X} is truncated")
        if element_id == INFO:
            info, header = Element(INFO, pos, child_start, child_start + size), None
        elif element_id == TRACKS:
            tracks, header = Element(TRACKS, pos, child_start, child_start + size), None
        pos = child_start + size
        result.consumed = pos
    return pos


# -- writing ---------------------------------------------------------------------------------
def tags_element(tags: Iterable[tuple[str, str]]) -> bytes:
    """A ``Tags`` element holding one ``Tag`` of ``SimpleTag`` name/value pairs."""
    simple = b"".join(
        element(SIMPLE_TAG, string_element(TAG_NAME, name) + string_element(TAG_STRING, value))
        for name, value in tags
    )
    return element(TAGS, element(TAG, element(TARGETS, b"") + simple))


def read_tags(data: bytes) -> list[dict[str, str]]:
    """The SimpleTag name/value pairs of every ``Tags`` element in a stream (for tests, tools)."""
    found: list[dict[str, str]] = []

    def walk(start: int, end: int) -> None:
        pos = start
        while pos < end:
            element_id, size, data_start = read_header(data, pos)
            if element_id in {EBML}:
                pos = data_start + (size or 0)
                continue
            if element_id == SEGMENT:
                pos = data_start  # descend (the segment's size may be unknown)
                continue
            if size is None:
                if element_id == CLUSTER:
                    pos = _cluster_end(data, pos, data_start)
                    continue
                raise EbmlError(pos, "unknown size")
            if element_id == TAGS:
                pairs: dict[str, str] = {}
                for tag in children(data, data_start, data_start + size):
                    for simple in children(data, tag.data_start, tag.end):
                        if simple.id != SIMPLE_TAG:
                            continue
                        name = child_payload(data, simple, TAG_NAME) or b""
                        value = child_payload(data, simple, TAG_STRING) or b""
                        pairs[name.decode("utf-8")] = value.decode("utf-8")
                found.append(pairs)
            pos = data_start + size

    walk(0, len(data))
    return found


def split_chunks(data: bytes) -> list[bytes]:
    """Cut a concatenation of Matroska streams (a GetMedia payload) at each EBML header."""
    starts: list[int] = []
    pos = 0
    while pos < len(data):
        element_id, size, data_start = read_header(data, pos)
        if element_id == EBML:
            starts.append(pos)
            pos = data_start + (size or 0)
        elif element_id == SEGMENT:
            pos = data_start
        elif size is None:
            pos = _cluster_end(data, pos, data_start) if element_id == CLUSTER else len(data)
        else:
            pos = data_start + size
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]
