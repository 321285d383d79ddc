"""JSON as a security boundary reads it: one value per key, no NaN, bounded nesting.

``{"user": "a", "user": "admin"}`` is valid JSON that parsers read differently (Python
keeps the last value, others the first); a service that checks one and acts on the other
can be fooled, so such documents are refused outright, naming the key.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


class StrictJsonError(ValueError):
    """The document is not JSON, or is JSON a service must not accept."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if key in doc:
            raise StrictJsonError(f"duplicate key {key!r} in the JSON body")
        doc[key] = value
    return doc


def _constant(name: str) -> Any:
    raise StrictJsonError(f"{name} is not a JSON number")


def _depth(data: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in data:
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


def loads(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that refuses duplicate keys, NaN/Infinity and deep nesting."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise StrictJsonError("the JSON body is not UTF-8") from None
    if _depth(text) > max_depth:
        raise StrictJsonError(f"the JSON body is nested deeper than {max_depth} levels")
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except StrictJsonError:
        raise
    except (ValueError, RecursionError) as exc:
        raise StrictJsonError(f"the body is not valid JSON: {exc}") from None
