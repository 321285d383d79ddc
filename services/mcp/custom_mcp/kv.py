"""An in-memory key-value cache with namespaces, TTLs and size limits.

Values are any JSON value; their size is the length of their compact JSON encoding.
Limits (each refused with an error that names the limit, nothing is evicted silently):
bytes per value, keys per namespace, namespaces, and bytes in total. Expired entries
vanish on access and are swept whenever a namespace is listed or counted. It is a cache:
it lives as long as the pod's process, like the emptyDir it stands in for.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

NAMESPACE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
MAX_KEY_LENGTH = 512


class KvError(ValueError):
    """A refused operation (bad name, over a limit); the message says which."""


@dataclass
class Entry:
    value: Any
    size: int
    created_at: float
    updated_at: float
    expires_at: float | None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def view(self, namespace: str, key: str, now: float) -> dict[str, Any]:
        return {
            "namespace": namespace,
            "key": key,
            "value": self.value,
            "bytes": self.size,
            "ttl_remaining_s": round(self.expires_at - now, 3) if self.expires_at is not None else None,
            "updated_at": self.updated_at,
        }


class KvStore:
    """Thread-safe: the MCP server runs sync tools on worker threads."""

    def __init__(
        self,
        max_value_bytes: int = 64 * 1024,
        max_keys_per_namespace: int = 10_000,
        max_total_bytes: int = 64 * 1024 * 1024,
        max_namespaces: int = 100,
        default_ttl: float | None = None,
        clock: Any = time.time,
    ) -> None:
        self.max_value_bytes = max_value_bytes
        self.max_keys_per_namespace = max_keys_per_namespace
        self.max_total_bytes = max_total_bytes
        self.max_namespaces = max_namespaces
        self.default_ttl = default_ttl
        self.clock = clock
        self._data: dict[str, dict[str, Entry]] = {}
        self._total = 0
        self._lock = threading.Lock()

    # -- checks ------------------------------------------------------------------------------
    @staticmethod
    def check_names(namespace: str, key: str | None = None) -> None:
        if not NAMESPACE_RE.match(namespace):
            raise KvError(
                f"invalid namespace {namespace!r}: 1-63 of a-z 0-9 . _ -, starting with a letter or digit"
            )
        if key is not None and (not key or len(key) > MAX_KEY_LENGTH):
            raise KvError(f"invalid key: 1 to {MAX_KEY_LENGTH} characters")

    def _encode(self, value: Any) -> int:
        try:
            size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        except (TypeError, ValueError) as exc:
            raise KvError(f"the value is not JSON: {exc}") from None
        if size > self.max_value_bytes:
            raise KvError(
                f"the value is {size} bytes, over the limit of {self.max_value_bytes} bytes per value"
            )
        return size

    def _ttl(self, ttl_seconds: float | None) -> float | None:
        ttl = ttl_seconds if ttl_seconds is not None else self.default_ttl
        if ttl is not None and ttl <= 0:
            raise KvError("ttl_seconds must be positive")
        return self.clock() + ttl if ttl is not None else None

    def _live(self, namespace: str, key: str, now: float) -> Entry | None:
        entries = self._data.get(namespace)
        entry = entries.get(key) if entries else None
        if entry is not None and entry.expired(now):
            self._remove(namespace, key)
            return None
        return entry

    def _remove(self, namespace: str, key: str) -> None:
        entries = self._data.get(namespace)
        if entries and key in entries:
            self._total -= entries.pop(key).size
            if not entries:
                del self._data[namespace]

    def _sweep(self, namespace: str, now: float) -> None:
        for key in [k for k, e in self._data.get(namespace, {}).items() if e.expired(now)]:
            self._remove(namespace, key)

    def _store(
        self, namespace: str, key: str, value: Any, size: int, expires_at: float | None, now: float
    ) -> Entry:
        entries = self._data.get(namespace)
        old = entries.get(key) if entries else None
        if entries is None:
            if len(self._data) >= self.max_namespaces:
                raise KvError(f"the cache holds {len(self._data)} namespaces, the limit; delete one first")
            entries = {}
        elif old is None and len(entries) >= self.max_keys_per_namespace:
            self._sweep(namespace, now)
            if len(entries) >= self.max_keys_per_namespace:
                raise KvError(
                    f"namespace {namespace!r} holds {len(entries)} keys, "
                    f"the limit of {self.max_keys_per_namespace}"
                )
        growth = size - (old.size if old else 0)
        if self._total + growth > self.max_total_bytes:
            raise KvError(
                f"the cache would hold {self._total + growth} bytes, over its limit of {self.max_total_bytes}"
            )
        entry = Entry(value, size, old.created_at if old else now, now, expires_at)
        entries[key] = entry
        self._data[namespace] = entries
        self._total += growth
        return entry

    # -- operations --------------------------------------------------------------------------
    def get(self, namespace: str, key: str) -> dict[str, Any]:
        self.check_names(namespace, key)
        with self._lock:
            now = self.clock()
            entry = self._live(namespace, key, now)
            if entry is None:
                return {"namespace": namespace, "key": key, "found": False, "value": None}
            return {"found": True, **entry.view(namespace, key, now)}

    def set(self, namespace: str, key: str, value: Any, ttl_seconds: float | None = None) -> dict[str, Any]:
        self.check_names(namespace, key)
        size = self._encode(value)
        with self._lock:
            now = self.clock()
            self._live(namespace, key, now)
            entry = self._store(namespace, key, value, size, self._ttl(ttl_seconds), now)
            return {"stored": True, **entry.view(namespace, key, now)}

    def append(
        self, namespace: str, key: str, item: Any, max_items: int = 100, ttl_seconds: float | None = None
    ) -> dict[str, Any]:
        """Append to a list value atomically, keeping the newest ``max_items``."""
        self.check_names(namespace, key)
        if max_items < 1:
            raise KvError("max_items must be at least 1")
        with self._lock:
            now = self.clock()
            entry = self._live(namespace, key, now)
            current = entry.value if entry is not None else []
            if not isinstance(current, list):
                raise KvError(f"{namespace}/{key} holds a {type(current).__name__}, not a list")
            items = [*current, item][-max_items:]
            size = self._encode(items)
            entry = self._store(namespace, key, items, size, self._ttl(ttl_seconds), now)
            return {"stored": True, "length": len(items), **entry.view(namespace, key, now)}

    def delete(self, namespace: str, key: str | None = None) -> dict[str, Any]:
        """One key, or (``key`` None) the whole namespace."""
        self.check_names(namespace, key)
        with self._lock:
            if key is None:
                entries = self._data.pop(namespace, {})
                self._total -= sum(e.size for e in entries.values())
                return {"namespace": namespace, "deleted": len(entries)}
            existed = key in self._data.get(namespace, {})
            self._remove(namespace, key)
            return {"namespace": namespace, "key": key, "deleted": int(existed)}

    def list(self, namespace: str, prefix: str = "", limit: int = 100) -> dict[str, Any]:
        self.check_names(namespace)
        with self._lock:
            now = self.clock()
            self._sweep(namespace, now)
            keys = sorted(k for k in self._data.get(namespace, {}) if k.startswith(prefix))
            return {
                "namespace": namespace,
                "keys": keys[:limit],
                "count": len(keys),
                "truncated": len(keys) > limit,
            }

    def stats(self) -> dict[str, Any]:
        with self._lock:
            now = self.clock()
            for namespace in list(self._data):
                self._sweep(namespace, now)
            return {
                "namespaces": {
                    ns: {"keys": len(e), "bytes": sum(x.size for x in e.values())}
                    for ns, e in sorted(self._data.items())
                },
                "total_bytes": self._total,
                "limits": {
                    "max_value_bytes": self.max_value_bytes,
                    "max_keys_per_namespace": self.max_keys_per_namespace,
                    "max_total_bytes": self.max_total_bytes,
                    "max_namespaces": self.max_namespaces,
                },
            }
