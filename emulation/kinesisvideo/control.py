"""The Kinesis Video control-plane calls moto lacks: stream tags and UpdateStream.

moto keeps a stream's tags from ``CreateStream`` but answers ``ListTagsForStream``,
``TagStream``, ``UntagStream`` and ``UpdateStream`` with an HTML 404. These operate on
moto's own stream objects (``tags``, ``device_name``, ``media_type``, ``version``), so
``DescribeStream`` and persistence stay moto's. Call with the engine's state lock held.

AWS's rules: at most 50 tags per stream; keys of 1-128 characters, not starting with
``aws:``; values of 0-256 characters. ``UpdateStream`` needs the stream's current version
and gives it a new one.
"""

from __future__ import annotations

from typing import Any

from emulation.core import moto_compat
from emulation.kinesisvideo.exceptions import (
    InvalidArgumentException,
    TagsPerResourceExceededLimitException,
    VersionMismatchException,
)

MAX_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256


def _new_version() -> str:
    return moto_compat.random_lowercase_id()


def _check_tags(tags: Any) -> dict[str, str]:
    if not isinstance(tags, dict) or not tags:
        raise InvalidArgumentException("Tags must be a non-empty map of tag keys to values.")
    for key, value in tags.items():
        if not isinstance(value, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise InvalidArgumentException(f"Tag key {key!r} must have 1 to {MAX_KEY_LENGTH} characters.")
        if key.lower().startswith("aws:"):
            raise InvalidArgumentException(f"Tag key {key!r} uses the reserved prefix aws:.")
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidArgumentException(f"The value of tag {key!r} exceeds {MAX_VALUE_LENGTH} characters.")
    return {str(key): str(value) for key, value in tags.items()}


def list_tags_for_stream(stream: Any) -> dict[str, str]:
    return dict(stream.tags or {})


def tag_stream(stream: Any, tags: Any) -> None:
    merged = {**(stream.tags or {}), **_check_tags(tags)}
    if len(merged) > MAX_TAGS:
        raise TagsPerResourceExceededLimitException(
            f"The stream would have {len(merged)} tags; a stream may have at most {MAX_TAGS}."
        )
    stream.tags = merged


def untag_stream(stream: Any, keys: Any) -> None:
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise InvalidArgumentException("TagKeyList must be a non-empty list of tag keys.")
    stream.tags = {key: value for key, value in (stream.tags or {}).items() if key not in keys}


def update_stream(stream: Any, params: dict[str, Any]) -> None:
    if params.get("CurrentVersion") != stream.version:
        raise VersionMismatchException(
            f"The stream version {params.get('CurrentVersion')!r} is not the current version."
        )
    for param, attribute in (("DeviceName", "device_name"), ("MediaType", "media_type")):
        value = params.get(param)
        if value is not None:
            if not isinstance(value, str) or not value:
                raise InvalidArgumentException(f"{param} must be a non-empty string.")
            setattr(stream, attribute, value)
    stream.version = _new_version()
