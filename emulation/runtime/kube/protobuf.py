"""Protobuf request bodies: the few kinds kubectl's typed clients send that way.

kubectl creates ``SelfSubjectAccessReview``, ``SelfSubjectRulesReview``,
``SelfSubjectReview`` (``kubectl auth can-i``/``whoami``) and ``TokenRequest``
(``kubectl create token``) with ``Content-Type: application/vnd.kubernetes.protobuf``: the
magic ``k8s\\0`` and a ``runtime.Unknown`` envelope (type meta, raw message). This module
decodes those messages into the JSON shape the handlers read (field numbers from the
kinds' ``generated.proto``); answers go back as JSON, which the clients accept. Any other
protobuf body is 415 with a message that says what works instead: the generators of
``kubectl create deployment|configmap|secret|...`` send protobuf, ``kubectl create -f`` and
``kubectl apply -f`` send JSON.
"""

from __future__ import annotations

from typing import Any

from emulation.runtime.kube.errors import BadRequestError, UnsupportedMediaTypeError

MEDIA = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# message -> {field number: (json name, type)}; type: "string", "int", "bool", a message name,
# or "[...]" for a repeated field
MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "bytes")},
    "TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "ObjectMeta": {1: ("name", "string"), 3: ("namespace", "string")},
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes"),
        2: ("nonResourceAttributes", "NonResourceAttributes"),
    },
    "ResourceAttributes": {
        1: ("namespace", "string"),
        2: ("verb", "string"),
        3: ("group", "string"),
        4: ("version", "string"),
        5: ("resource", "string"),
        6: ("subresource", "string"),
        7: ("name", "string"),
    },
    "NonResourceAttributes": {1: ("path", "string"), 2: ("verb", "string")},
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "string")},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta")},
    "TokenRequest": {1: ("metadata", "ObjectMeta"), 2: ("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {
        1: ("audiences", "[string]"),
        3: ("boundObjectRef", "BoundObjectReference"),
        4: ("expirationSeconds", "int"),
    },
    "BoundObjectReference": {
        1: ("kind", "string"),
        2: ("apiVersion", "string"),
        3: ("name", "string"),
        4: ("uid", "string"),
    },
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise BadRequestError("truncated protobuf body")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def decode_message(data: bytes, message: str) -> dict[str, Any]:
    fields = MESSAGES[message]
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        raw: Any
        if wire == 0:
            raw, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            raw = data[pos : pos + length]
            pos += length
        elif wire == 1:
            raw, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            raw, pos = data[pos : pos + 4], pos + 4
        else:
            raise BadRequestError(f"unsupported protobuf wire type {wire}")
        if number not in fields:
            continue
        name, kind = fields[number]
        repeated = kind.startswith("[")
        kind = kind.strip("[]")
        value: Any
        if kind == "string":
            value = bytes(raw).decode("utf-8")
        elif kind == "bytes":
            value = bytes(raw)
        elif kind == "int":
            value = raw if isinstance(raw, int) else int.from_bytes(raw, "little")
        elif kind == "bool":
            value = bool(raw)
        else:
            value = decode_message(bytes(raw), kind)
        if repeated:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body as the JSON object it stands for."""
    if not body.startswith(MAGIC):
        raise BadRequestError("a protobuf body must start with the k8s magic")
    envelope = decode_message(body[len(MAGIC) :], "Unknown")
    type_meta = envelope.get("typeMeta") or {}
    kind = str(type_meta.get("kind", ""))
    if kind not in {"SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview", "TokenRequest"}:
        raise UnsupportedMediaTypeError(
            f"this API reads {kind} objects as JSON or YAML, not {MEDIA} (protobuf is read for reviews and "
            "TokenRequests only): put the object in a file and use `kubectl create -f` or `kubectl apply -f`"
        )
    obj = decode_message(envelope.get("raw", b""), kind)
    obj["kind"], obj["apiVersion"] = kind, type_meta.get("apiVersion", "")
    return obj
