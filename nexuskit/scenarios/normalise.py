"""Normalisers for snapshots: volatile values become stable, numbered placeholders.

Like LocalStack's snapshot transformers, each volatile value is replaced by a placeholder
that keeps equality: the first distinct sequence number seen becomes
``<sequence-number:1>``, the next ``<sequence-number:2>``, and the same value is always the
same placeholder within one snapshot. Mappings are walked in sorted key order, so two
recordings of the same behaviour give identical files.

What is replaced, in order:

1. *known values* the run registered (the run id, the endpoint, the state dir, a token's
   id, session name, access key and JWT...), by their label: ``<run-id>``, ``<endpoint>``;
2. by key name: request ids, sequence numbers, secrets and session tokens, version ids
   and ETags, and timestamps (``*Timestamp``, ``*Date``, ``*_at``, ``Expiration``,
   ``iat``/``exp``/``nbf``, ``ts``...);
3. by shape, anywhere in strings: JWTs, ISO-8601 timestamps (extended and basic), the date parts of Firehose
   object keys, UUIDs, 32-hex ids, AWS access key ids, IAM unique ids (``AROA...``),
   epoch milliseconds (Kinesis Video stream ARNs end in one); ``datetime`` values.

ARNs keep their structure (account and names are stable); their volatile parts (session
names, ids) are caught by the rules above.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

_ISO_TS = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?![\d])"
)
_BASIC_TS = re.compile(r"\b\d{8}T\d{6}(?:\d{1,6})?Z")  # 20261126T112203709908Z (ISO basic format)
_FIREHOSE_DATE_PATH = re.compile(r"\b\d{4}/\d{2}/\d{2}/\d{2}/")
_FIREHOSE_STAMP = re.compile(r"-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_JWT = re.compile(r"\beyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
# IAM unique ids of roles, users, groups, policies, instance profiles, certificates
_UNIQUE_ID = re.compile(r"\b(?:AROA|AIDA|AGPA|ANPA|ANVA|AIPA|ASCA|APKA)[A-Z0-9]{13,21}\b")
_EPOCH_MS = re.compile(r"(?<![\d.])1\d{12}(?![\d.])")  # 2001-2033 in epoch milliseconds

_REQUEST_ID_KEYS = {"requestid", "x-amzn-requestid", "x-amz-request-id", "x-amz-id-2", "request_id"}
_SECRET_KEYS = {"secretaccesskey", "sessiontoken", "secret_access_key", "session_token", "password"}
_VERSION_KEYS = {"versionid", "version_id"}
_ETAG_KEYS = {"etag"}
_TIMESTAMP_KEYS = {
    "ts",
    "iat",
    "exp",
    "nbf",
    "expiration",
    "expires_at",
    "issued_at",
    "lastmodified",
    "timestamp",
}
_TIMESTAMP_SUFFIXES = ("timestamp", "date", "time", "_at", "createdat", "updatedat")
_DURATION_KEYS = {"expires_in_s", "duration_s", "seconds", "elapsed_s", "millisbehindlatest"}

Rule = tuple[re.Pattern[str], str]


def _is_timestamp_key(key: str) -> bool:
    low = key.lower()
    return low in _TIMESTAMP_KEYS or low.endswith(_TIMESTAMP_SUFFIXES)


class Normaliser:
    """Replaces volatile values in a JSON-shaped value (one instance per snapshot)."""

    def __init__(self, known: Mapping[str, str] | None = None, extra: Iterable[Rule] = ()) -> None:
        # longest first, so a value that contains another is replaced whole
        self.known = sorted(((v, label) for v, label in (known or {}).items() if v), key=lambda i: -len(i[0]))
        self.extra = list(extra)
        self._numbers: dict[str, dict[str, int]] = {}

    def placeholder(self, kind: str, value: str) -> str:
        seen = self._numbers.setdefault(kind, {})
        if value not in seen:
            seen[value] = len(seen) + 1
        return f"<{kind}:{seen[value]}>"

    # -- strings -------------------------------------------------------------------------
    def text(self, value: str) -> str:
        for known, label in self.known:
            if known in value:
                value = value.replace(known, f"<{label}>")
        for pattern, replacement in self.extra:
            value = pattern.sub(replacement, value)
        value = _JWT.sub(lambda m: self.placeholder("jwt", m.group(0)), value)
        value = _ISO_TS.sub("<timestamp>", value)
        value = _BASIC_TS.sub("<timestamp>", value)
        value = _FIREHOSE_DATE_PATH.sub("<yyyy>/<mm>/<dd>/<hh>/", value)
        value = _FIREHOSE_STAMP.sub("-<datetime>-", value)
        value = _UUID.sub(lambda m: self.placeholder("uuid", m.group(0).lower()), value)
        value = _HEX32.sub(lambda m: self.placeholder("hex-id", m.group(0)), value)
        value = _ACCESS_KEY.sub(lambda m: self.placeholder("access-key", m.group(0)), value)
        value = _UNIQUE_ID.sub(lambda m: self.placeholder("unique-id", m.group(0)), value)
        return _EPOCH_MS.sub("<epoch-ms>", value)

    # -- by key ----------------------------------------------------------------------------
    def keyed(self, key: str, value: Any) -> tuple[bool, Any]:
        """(handled, replacement) for a scalar under ``key``."""
        if value is None or isinstance(value, bool | dict | list):
            return False, value
        low = key.lower()
        if low in _REQUEST_ID_KEYS:
            return True, "<request-id>"
        if low in _SECRET_KEYS:
            return True, "<secret>"
        if "sequencenumber" in low.replace("_", ""):
            return True, self.placeholder("sequence-number", str(value))
        if low in _VERSION_KEYS:
            return True, self.placeholder("version", str(value))
        if low in _ETAG_KEYS:
            return True, self.placeholder("etag", str(value))
        if low in _DURATION_KEYS and isinstance(value, int | float):
            return True, "<duration>"
        if _is_timestamp_key(key) and isinstance(value, int | float | str | datetime | date):
            return True, "<timestamp>"
        return False, value

    # -- walk ------------------------------------------------------------------------------
    def __call__(self, value: Any) -> Any:
        return self.walk(value, None)

    def walk(self, value: Any, key: str | None) -> Any:
        if isinstance(value, Mapping):
            return {str(k): self.walk(value[k], str(k)) for k in sorted(value, key=str)}
        if isinstance(value, list | tuple):
            return [self.walk(item, key) for item in value]
        if key is not None:
            handled, replaced = self.keyed(key, value)
            if handled:
                return replaced
        if isinstance(value, datetime | date):
            return "<timestamp>"
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", "replace"))
        return value


def compile_rules(rules: Mapping[str, str]) -> list[Rule]:
    """``{regex: placeholder}`` from a snapshot step, compiled."""
    return [(re.compile(pattern), replacement) for pattern, replacement in rules.items()]


def normalise(
    value: Any, known: Mapping[str, str] | None = None, rules: Mapping[str, str] | None = None
) -> Any:
    """``value`` with every volatile part replaced (see the module docstring)."""
    return Normaliser(known, compile_rules(rules or {}))(value)
