"""Bronze objects to blocks of JSON lines, in bounded memory, whatever their shape.

An object is read as a stream of chunks and decompressed as it goes (GZIP, several members
or one, detected by its magic bytes; anything else is read as it is). Its shape is decided
from its first bytes:

``json lines``          one JSON value per line (Firehose's output when producers end each
                        record with a newline) - the fast path, handed on in blocks of up to
                        :data:`BLOCK_BYTES` cut at newlines;
``json array``          ``[{...}, {...}]``, one line or pretty-printed - split element by
                        element into JSON lines (``line`` is then the element's number);
``concatenated json``   ``{...}{...}`` or pretty-printed objects one after another (Firehose's
                        output when producers send no newline) - split value by value.

What cannot be read becomes a :class:`Problem` (quarantined with its reason by the caller),
and the rest of the object is still read: a record over ``max_record_bytes`` is skipped
without being held in memory (its first 64 KB are kept), a GZIP stream that ends early or
is corrupt keeps every complete record before the damage. An object that is not JSON at all
(binary, Parquet, UTF-16, an empty object) is *skipped* as a whole with the reason.
Memory is bounded by the block size and ``max_record_bytes``, never by the object.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

BLOCK_BYTES = 8 << 20
CHUNK_BYTES = 1 << 20
MAX_RAW = 65536
_SNIFF = 1 << 16
_GZIP = b"\x1f\x8b"
_UTF8_BOM = codecs.BOM_UTF8
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_WS = " \t\r\n"
_STRUCTURE = re.compile(r'["\\\[\]{},]')
_DECODER = json.JSONDecoder()


@dataclass
class Problem:
    """A part of an object that is not a record: where, its text (up to 64 KB), why."""

    line: int | None
    raw: str
    reason: str


@dataclass
class Block:
    """Complete JSON lines; ``first_line`` is the number of the first (1-based)."""

    data: bytes
    first_line: int
    lines: int = -1  # newlines in ``data`` (-1: not counted)


@dataclass
class ObjectShape:
    """What reading an object found out (filled in while its blocks are read)."""

    format: str = ""
    compression: str = "none"
    skipped: str | None = None
    problems: list[Problem] = field(default_factory=list)
    bytes_in: int = 0
    bytes_out: int = 0
    lines: int = 0


def _raw(data: bytes) -> str:
    return data[:MAX_RAW].decode("utf-8", "replace")


class _Inflater:
    """Compressed chunks -> decompressed chunks of at most CHUNK_BYTES (GZIP members chained)."""

    def __init__(self, shape: ObjectShape) -> None:
        self.shape = shape
        self.inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self.in_member = False
        self.failed = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data and not self.failed:
            self.in_member = True
            try:
                out = self.inflate.decompress(data, CHUNK_BYTES)
            except zlib.error as exc:
                self.failed = True
                self.shape.problems.append(
                    Problem(
                        None,
                        "",
                        f"GZIP data is corrupt after {self.shape.bytes_out:,} bytes ({exc}): "
                        "the rest of the object is unreadable",
                    )
                )
                return
            if out:
                yield out
            if self.inflate.eof:
                rest = self.inflate.unused_data
                self.inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
                self.in_member = False
                if rest and rest[:2] != _GZIP and rest.strip(b"\x00"):
                    self.failed = True
                    self.shape.problems.append(
                        Problem(
                            None, _raw(rest), "bytes after the end of the GZIP data are not GZIP: ignored"
                        )
                    )
                    return
                data = rest
            else:
                data = self.inflate.unconsumed_tail

    def finish(self) -> Iterator[bytes]:
        if self.failed or not self.in_member:
            return
        try:
            rest = self.inflate.flush()
        except zlib.error:
            rest = b""
        if rest:
            yield rest
        if not self.inflate.eof:
            self.shape.problems.append(
                Problem(
                    None,
                    "",
                    f"GZIP data ends early after {self.shape.bytes_out + len(rest):,} bytes "
                    "(a truncated object): its last record is incomplete",
                )
            )


def decompressed(chunks: Iterator[bytes], shape: ObjectShape) -> Iterator[bytes]:
    """The object's bytes, GZIP undone when it starts with the GZIP magic."""
    first = b""
    for chunk in chunks:
        shape.bytes_in += len(chunk)
        first += chunk
        if len(first) >= 2:
            break
    if first[:2] != _GZIP:
        shape.compression = "none"
        if first:
            shape.bytes_out += len(first)
            yield first
        for chunk in chunks:
            shape.bytes_in += len(chunk)
            shape.bytes_out += len(chunk)
            yield chunk
        return
    shape.compression = "gzip"
    inflater = _Inflater(shape)
    for chunk in _chain([first], chunks, shape):
        for out in inflater.feed(chunk):
            shape.bytes_out += len(out)
            yield out
        if inflater.failed:
            for _rest in chunks:  # drain, so the size and checksum cover the whole object
                shape.bytes_in += len(_rest)
            return
    for out in inflater.finish():
        shape.bytes_out += len(out)
        yield out


def _chain(first: list[bytes], rest: Iterator[bytes], shape: ObjectShape) -> Iterator[bytes]:
    yield from first
    for chunk in rest:
        shape.bytes_in += len(chunk)
        yield chunk


# -- shape ------------------------------------------------------------------------------------
def _not_json(head: bytes) -> str | None:
    """Why an object whose first bytes are ``head`` is not JSON text, or None."""
    if not head.strip(b" \t\r\n"):
        return "empty object (no bytes)" if not head else "empty object (only whitespace)"
    if head.startswith(b"PAR1"):
        return "a Parquet file: bronze takes JSON (NDJSON, a JSON array or concatenated objects)"
    if head.startswith(_WIDE_BOMS):
        return "UTF-16/UTF-32 text: bronze takes UTF-8 JSON"
    if b"\x00" in head[:4096]:
        return f"binary content, not JSON text (starts with {head[:8].hex(' ')})"
    return None


def sniff(head: bytes) -> tuple[str, str | None]:
    """(format, reason to skip) from an object's first decompressed bytes."""
    reason = _not_json(head)
    if reason:
        return "", reason
    text = head.lstrip(b" \t\r\n")
    first_line, newline, rest = text.partition(b"\n")
    if text[:1] == b"[":
        if newline and rest.strip() and first_line.rstrip().endswith(b"]"):
            return "json lines", None  # an array on a line of its own, then more lines
        return "json array", None
    if text[:1] == b"{":
        decoded = head.decode("utf-8", "surrogateescape").lstrip(_WS)
        try:
            _value, end = _DECODER.raw_decode(decoded)
        except ValueError:
            return "json lines", None
        after = decoded[end : end + 256].lstrip(" \t\r")
        if "\n" in decoded[:end] or (after and not after.startswith("\n")):
            return "concatenated json", None
        return "json lines", None
    lines = [line.strip() for line in text.split(b"\n")[:64] if line.strip()]
    if not any(line[:1] in (b"{", b"[") for line in lines):
        return "", f"not JSON: none of its first {len(lines)} lines is a JSON object (CSV or plain text?)"
    return "json lines", None


# -- json lines ---------------------------------------------------------------------------------
def _newlines(data: bytes | bytearray) -> int:
    """How many ``\\n`` in ``data`` (numpy: twice as fast as ``bytes.count``)."""
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10))


def _too_long(line_no: int, head: bytes, size: int, limit: int) -> Problem:
    return Problem(
        line_no,
        _raw(head),
        f"record of {size:,} bytes is over the limit of {limit:,} (bronze.max_record_bytes)",
    )


def _json_lines(data: Iterator[bytes], shape: ObjectShape, limit: int, block_bytes: int) -> Iterator[Block]:
    """Cut at newlines into blocks; a line over ``limit`` is skipped as it streams by."""
    block_bytes = min(block_bytes, limit)
    buffer = bytearray()
    line_no = 1
    skipping: tuple[bytes, int] | None = None  # (first bytes, size so far) of a line being skipped
    for chunk in data:
        if skipping is not None:
            cut = chunk.find(b"\n")
            if cut < 0:
                skipping = (skipping[0], skipping[1] + len(chunk))
                continue
            shape.problems.append(_too_long(line_no, skipping[0], skipping[1] + cut, limit))
            line_no += 1
            skipping = None
            buffer += chunk[cut + 1 :]
        else:
            buffer += chunk
        while True:
            first = buffer.find(b"\n")
            if first < 0:
                if len(buffer) > limit:  # an unfinished line already over the limit
                    skipping = (bytes(buffer[:MAX_RAW]), len(buffer))
                    buffer = bytearray()
                break
            if first > limit:
                shape.problems.append(_too_long(line_no, bytes(buffer[:MAX_RAW]), first, limit))
                line_no += 1
                del buffer[: first + 1]
                continue
            if len(buffer) < block_bytes:
                break
            cut = buffer.rfind(b"\n", 0, block_bytes)
            block = bytes(buffer[: cut + 1])
            del buffer[: cut + 1]
            newlines = _newlines(block)
            yield Block(block, line_no, newlines)
            line_no += newlines
    if skipping is not None:
        shape.problems.append(_too_long(line_no, skipping[0], skipping[1], limit))
        line_no += 1
    elif buffer and not buffer.isspace():
        if len(buffer) > limit:
            shape.problems.append(_too_long(line_no, bytes(buffer[:MAX_RAW]), len(buffer), limit))
            line_no += 1
        else:
            newlines = _newlines(buffer)
            yield Block(bytes(buffer), line_no, newlines)
            line_no += newlines + (0 if buffer.endswith(b"\n") else 1)
    shape.lines = line_no - 1


# -- json arrays and concatenated values ---------------------------------------------------------
class _Values:
    """Splits a text stream into JSON values (array elements, or values one after another)."""

    def __init__(self, data: Iterator[bytes], shape: ObjectShape, limit: int, array: bool) -> None:
        self.data = data
        self.shape = shape
        self.limit = limit
        self.array = array
        self.text = ""
        self.pos = 0
        self.eof = False
        self.number = 0
        self.utf8 = codecs.getincrementaldecoder("utf-8")("surrogateescape")

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = next(self.data, None)
        if chunk is None:
            self.eof = True
            self.text = self.text[self.pos :] + self.utf8.decode(b"", final=True)
            self.pos = 0
            return False
        self.text = self.text[self.pos :] + self.utf8.decode(chunk)
        self.pos = 0
        return True

    def _skip_ws(self) -> bool:
        """Move past whitespace; False at the end of the stream."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.text) or not self._more():
                return self.pos < len(self.text)

    def _skip_value(self, why: str) -> None:
        """Skip one malformed or over-long value (its text up to the next top-level separator)."""
        start_text = self.text[self.pos : self.pos + MAX_RAW]
        depth = 0
        in_string = escaped = False
        size = 0
        while True:
            text, index = self.text, self.pos
            while index < len(text):
                char = text[index]
                if in_string:
                    if escaped:
                        escaped = False
                    elif char == "\\":
                        escaped = True
                    elif char == '"':
                        in_string = False
                    index += 1
                    continue
                match = _STRUCTURE.search(text, index)
                if match is None:
                    index = len(text)
                    break
                index, char = match.start(), match.group()
                if char == '"':
                    in_string = True
                elif char in "[{":
                    depth += 1
                elif char in "]}":
                    depth -= 1
                    if depth < 0:  # the end of the enclosing array
                        break
                elif char == "," and depth == 0:
                    break
                index += 1
                if depth == 0 and not self.array and char in "]}":
                    break
            size += index - self.pos
            self.pos = index
            if index < len(text) or not self._more():
                break
        self.shape.problems.append(Problem(self.number, start_text, why.format(size=size)))

    def values(self) -> Iterator[str]:
        if self.array:
            self._skip_ws()
            self.pos += 1  # the "["
        while self._skip_ws():
            char = self.text[self.pos]
            if self.array and char == "]":
                self.pos += 1
                if self._skip_ws():
                    self.shape.problems.append(
                        Problem(
                            None,
                            self.text[self.pos : self.pos + MAX_RAW],
                            "content after the end of the JSON array: ignored",
                        )
                    )
                return
            self.number += 1
            value = self._decode_one()
            if value is not None:
                yield value
            if self.array and self._skip_ws() and self.text[self.pos] == ",":
                self.pos += 1
        if self.array:
            self.shape.problems.append(
                Problem(self.number or None, "", "the JSON array is not closed (a truncated object?)")
            )

    def _decode_one(self) -> str | None:
        while True:
            try:
                _value, end = _DECODER.raw_decode(self.text, self.pos)
            except ValueError as exc:
                incomplete = (
                    str(exc).startswith("Unterminated") or getattr(exc, "pos", 0) >= len(self.text) - 1
                )
                if incomplete and len(self.text) - self.pos <= self.limit and self._more():
                    continue
                if incomplete and len(self.text) - self.pos > self.limit:
                    self._skip_value(
                        "record of {size:,} bytes is over the limit of "
                        + f"{self.limit:,} (bronze.max_record_bytes)"
                    )
                    return None
                if incomplete:
                    self.shape.problems.append(
                        Problem(
                            self.number,
                            self.text[self.pos : self.pos + MAX_RAW],
                            "the object ends inside this record (a truncated object?)",
                        )
                    )
                    self.pos = len(self.text)
                    return None
                self._skip_value(f"not valid JSON: {getattr(exc, 'msg', exc)}")
                return None
            text = self.text[self.pos : end]
            self.pos = end
            if end - self.pos > self.limit or len(text) > self.limit:
                self.shape.problems.append(
                    Problem(
                        self.number,
                        text[:MAX_RAW],
                        f"record of {len(text):,} characters is over the limit of {self.limit:,} "
                        "(bronze.max_record_bytes)",
                    )
                )
                return None
            return text.replace("\n", " ").replace("\r", " ") if "\n" in text or "\r" in text else text


def _split_values(
    data: Iterator[bytes], shape: ObjectShape, limit: int, block_bytes: int, array: bool
) -> Iterator[Block]:
    splitter = _Values(data, shape, limit, array)
    parts: list[bytes] = []
    size = 0
    first = 1
    for text in splitter.values():
        line = text.encode("utf-8", "surrogateescape") + b"\n"
        parts.append(line)
        size += len(line)
        if size >= block_bytes:
            yield Block(b"".join(parts), first, len(parts))
            first = splitter.number + 1
            parts, size = [], 0
    if parts:
        yield Block(b"".join(parts), first, len(parts))
    shape.lines = splitter.number


def read_blocks(
    chunks: Iterator[bytes],
    shape: ObjectShape,
    max_record_bytes: int = 8 << 20,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[Block]:
    """Blocks of JSON lines from an object's raw chunks; ``shape`` says what was found."""
    data = decompressed(chunks, shape)
    head = b""
    for chunk in data:
        head += chunk
        if len(head) >= _SNIFF:
            break
    if head.startswith(_UTF8_BOM):
        head = head[len(_UTF8_BOM) :]
    shape.format, shape.skipped = sniff(head)
    if shape.skipped:
        for _chunk in data:  # drain: the object's size and checksum still count
            pass
        return
    stream = _prepend(head, data)
    limit = max(int(max_record_bytes), 1024)
    if shape.format == "json lines":
        yield from _json_lines(stream, shape, limit, block_bytes)
    else:
        yield from _split_values(stream, shape, limit, block_bytes, shape.format == "json array")


def _prepend(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from rest


def chunks_of(read: Callable[[int], bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """``read(n)`` as an iterator of chunks (a stream's body)."""
    while True:
        chunk = read(size)
        if not chunk:
            return
        yield chunk
