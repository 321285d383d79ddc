"""AWS event stream framing (``application/vnd.amazon.eventstream``), as boto3 parses it.

A message is: total length (4 bytes, big-endian), headers length (4), CRC32 of those 8
bytes (4), the headers, the payload, and the CRC32 of everything before it (4). A header
is its name length (1 byte), name, value type (1 byte; 7 = string), value length (2) and
value. Bedrock sends each event with ``:event-type``, ``:content-type`` and
``:message-type`` headers and a JSON payload.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from typing import Any

_STRING = 7


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
    return (
        struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", _STRING, len(raw_value)) + raw_value
    )


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event stream message with string headers."""
    raw_headers = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + raw_headers + payload
    return message + struct.pack("!I", binascii.crc32(message) & 0xFFFFFFFF)


def encode_event(event_type: str, payload: Any) -> bytes:
    """An ``event`` message whose payload is ``payload`` as JSON."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(payload).encode("utf-8"))


def encode_chunk(chunk: Any) -> bytes:
    """InvokeModelWithResponseStream's ``chunk`` event: the model's JSON, base64 in ``bytes``."""
    raw = json.dumps(chunk).encode("utf-8")
    return encode_event("chunk", {"bytes": base64.b64encode(raw).decode("ascii")})


def encode_exception(code: str, message: str) -> bytes:
    """An in-stream error (``:message-type: exception``)."""
    headers = {":exception-type": code, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, json.dumps({"message": message}).encode("utf-8"))
