"""The body of ``POST /auth``, read strictly: what the auth service accepts, and why not.

A body is a JSON object ``{"user": str, "ttl_minutes": int, "metadata": {...}}``
(``ttl_minutes`` and ``metadata`` optional), at most 16 KiB. It is read so that no two
parsers can disagree on it, and every refusal is a :class:`RequestError` whose message
says what was wrong (never a message of the Python parser):

* a key given twice (``{"user": "a", "user": "admin"}``) is refused naming the key;
* ``NaN``/``Infinity``, numbers of more than 20 digits (never converted: ``10**5000`` is
  refused by its length), floats beyond a double and nesting deeper than 32 levels
  (checked before parsing) are refused;
* ``user``: a non-empty string of at most 128 characters, no control or unassigned
  characters; ``ttl_minutes``: an integer from 1 to 1440 (not a float, not a boolean);
  ``metadata``: an object nested at most 5 levels, at most 2 KiB as JSON.

Part of the function's zip: standard library only.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import unicodedata
from dataclasses import dataclass
from typing import Any

MAX_BODY_BYTES = 16 * 1024
MAX_USER_CHARS = 128
MAX_METADATA_BYTES = 2048
MAX_METADATA_DEPTH = 5  # the metadata object is level 1
MAX_JSON_DEPTH = 32  # checked before parsing: the parser never recurses deeper
MAX_NUMBER_DIGITS = 20  # longer numbers are refused unread (Python would take 10**5000)
MAX_TTL_REQUEST = 1440  # minutes a request may ask for (granted: clamped to the bounds)
FIELDS = ("user", "ttl_minutes", "metadata")
# bool before int: a JSON true is a Python int too
_JSON_TYPES = (
    (dict, "object"),
    (list, "array"),
    (str, "string"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
)


class RequestError(Exception):
    """A client error: HTTP status, message, and the field it is about (if any)."""

    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


@dataclass(frozen=True)
class AuthRequest:
    user: str
    ttl_minutes: int | None
    metadata: dict[str, Any] | None


class _JsonObject(dict[str, Any]):
    """A JSON object as parsed, remembering keys that appeared more than once."""

    duplicates: tuple[str, ...] = ()


@dataclass(frozen=True)
class _OversizedNumber:
    """A JSON number no sane field holds (its text is never converted to a Python int)."""

    description: str


def _json_type(value: Any) -> str:
    if isinstance(value, _OversizedNumber):
        return value.description
    if value is None:
        return "null"
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), type(value).__name__)


def _object(pairs: list[tuple[str, Any]]) -> _JsonObject:
    doc = _JsonObject()
    seen: list[str] = []
    for key, value in pairs:
        if key in doc and key not in seen:
            seen.append(key)
        doc[key] = value
    doc.duplicates = tuple(seen)
    return doc


def _integer(text: str) -> int | _OversizedNumber:
    digits = len(text.lstrip("-"))
    if digits > MAX_NUMBER_DIGITS:
        return _OversizedNumber(f"a number of {digits} digits (at most {MAX_NUMBER_DIGITS} are read)")
    return int(text)


def _number(text: str) -> float | _OversizedNumber:
    value = float(text)
    return value if math.isfinite(value) else _OversizedNumber("a number beyond the range of a double")


class _ConstantError(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _ConstantError(f"{name} is not a JSON number")


def _nesting(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (strings skipped), without parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def strict_json(text: str) -> Any:
    """``json.loads`` as a security boundary reads JSON: no NaN/Infinity, no numbers that
    only Python could hold, bounded nesting; duplicate keys are recorded on each object."""
    if _nesting(text) > MAX_JSON_DEPTH:
        raise RequestError(f"request body is nested too deeply (more than {MAX_JSON_DEPTH} levels)")
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_integer,
            parse_float=_number,
            parse_constant=_reject_constant,
        )
    except _ConstantError as exc:
        raise RequestError(f"request body is not valid JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        raise RequestError(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (ValueError, RecursionError):
        raise RequestError("request body is not valid JSON") from None


def parse_body(body: Any, is_base64: bool) -> AuthRequest:
    """Validate the ``POST /auth`` body; raises RequestError naming what is wrong."""
    if body is None or body == "":
        raise RequestError(
            "request body is required: a JSON object with 'user' (string), optional "
            "'ttl_minutes' (integer) and optional 'metadata' (object)"
        )
    raw: bytes
    if is_base64:
        try:
            raw = base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError):
            raise RequestError("request body is not valid base64") from None
    else:
        raw = str(body).encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise RequestError(f"request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}", status=413)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError("request body is not valid UTF-8") from None
    doc = strict_json(text)
    if not isinstance(doc, dict):
        raise RequestError(f"request body must be a JSON object, got {_json_type(doc)}")
    duplicates = getattr(doc, "duplicates", ())
    if duplicates:
        raise RequestError(
            f"duplicate key {duplicates[0]!r} in the request body: each field may appear once",
            duplicates[0],
        )
    unknown = [key for key in doc if key not in FIELDS]
    if unknown:
        names = ", ".join(repr(k) for k in unknown[:5])
        raise RequestError(f"unknown field(s) {names}; allowed fields: {', '.join(FIELDS)}", unknown[0])
    return AuthRequest(_user(doc), _ttl(doc), _metadata(doc))


def _user(doc: dict[str, Any]) -> str:
    if "user" not in doc:
        raise RequestError("field 'user' is required (a non-empty string)", "user")
    user = doc["user"]
    if not isinstance(user, str):
        raise RequestError(f"field 'user' must be a string, got {_json_type(user)}", "user")
    if not user.strip():
        raise RequestError("field 'user' must not be empty", "user")
    if len(user) > MAX_USER_CHARS:
        raise RequestError(f"field 'user' is {len(user)} characters; the limit is {MAX_USER_CHARS}", "user")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Cf", "Co", "Cn") for ch in user):
        raise RequestError("field 'user' must not contain control or unassigned characters", "user")
    return user


def _ttl(doc: dict[str, Any]) -> int | None:
    if "ttl_minutes" not in doc:
        return None
    ttl = doc["ttl_minutes"]
    wanted = f"an integer number of minutes from 1 to {MAX_TTL_REQUEST}"
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        got = repr(ttl) if isinstance(ttl, float) else _json_type(ttl)
        raise RequestError(f"field 'ttl_minutes' must be {wanted}, got {got}", "ttl_minutes")
    if not 1 <= ttl <= MAX_TTL_REQUEST:
        raise RequestError(f"field 'ttl_minutes' must be {wanted}, got {ttl}", "ttl_minutes")
    return ttl


def _metadata_problem(value: Any, depth: int) -> str | None:
    """Why ``value`` (inside metadata, ``depth`` levels down) cannot go into a token."""
    if depth > MAX_METADATA_DEPTH:
        return f"nests deeper than {MAX_METADATA_DEPTH} levels"
    if isinstance(value, _OversizedNumber):
        return f"holds {_json_type(value)}"
    children: list[Any] = []
    if isinstance(value, dict):
        duplicates = getattr(value, "duplicates", ())
        if duplicates:
            return f"has the duplicate key {duplicates[0]!r}"
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    for child in children:
        problem = _metadata_problem(child, depth + 1)
        if problem:
            return problem
    return None


def _metadata(doc: dict[str, Any]) -> dict[str, Any] | None:
    if "metadata" not in doc:
        return None
    metadata = doc["metadata"]
    if not isinstance(metadata, dict):
        raise RequestError(f"field 'metadata' must be an object, got {_json_type(metadata)}", "metadata")
    problem = _metadata_problem(metadata, 1)
    if problem:
        raise RequestError(f"field 'metadata' {problem}", "metadata")
    size = len(json.dumps(metadata).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise RequestError(
            f"field 'metadata' is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}", "metadata"
        )
    return dict(metadata)
