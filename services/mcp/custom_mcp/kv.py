"""An in-memory key-value cache with namespaces, TTLs, size limits and per-caller quotas.

Values are any JSON value; their size is the length of their compact JSON encoding.
Limits (each refused with an error that names the limit, nothing is evicted silently):
bytes per value, keys per namespace, namespaces, and bytes in total; and per caller
(the ServiceAccount that wrote): namespaces created, keys held and bytes held, so one
client cannot use up the shared limits and break the cache for the others. A key is
charged to the caller that wrote it last, a namespace to the caller that created it
(until it is empty). Expired entries vanish on access and are swept whenever a
namespace is listed or counted, or a limit is reached. It is a cache: it lives as long
as the pod's process, like the emptyDir it stands in for.
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
    owner: str = ""

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
            "written_by": self.owner,
        }


@dataclass
class Usage:
    """What one caller holds: keys and bytes it wrote, namespaces it created."""

    keys: int = 0
    bytes: int = 0
    namespaces: int = 0

    def view(self) -> dict[str, int]:
        return {"keys": self.keys, "bytes": self.bytes, "namespaces": self.namespaces}


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
        max_namespaces_per_caller: int | None = None,
        max_keys_per_caller: int | None = None,
        max_bytes_per_caller: int | None = None,
    ) -> None:
        self.max_value_bytes = max_value_bytes
        self.max_keys_per_namespace = max_keys_per_namespace
        self.max_total_bytes = max_total_bytes
        self.max_namespaces = max_namespaces
        self.max_namespaces_per_caller = max_namespaces_per_caller
        self.max_keys_per_caller = max_keys_per_caller
        self.max_bytes_per_caller = max_bytes_per_caller
        self.default_ttl = default_ttl
        self.clock = clock
        self._data: dict[str, dict[str, Entry]] = {}
        self._creators: dict[str, str] = {}  # namespace -> the caller charged for it
        self._usage: dict[str, Usage] = {}
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

    def _usage_of(self, caller: str) -> Usage:
        return self._usage.setdefault(caller, Usage())

    def _uncharge(self, entry: Entry) -> None:
        usage = self._usage_of(entry.owner)
        usage.keys -= 1
        usage.bytes -= entry.size
        self._total -= entry.size

    def _drop_namespace(self, namespace: str) -> None:
        del self._data[namespace]
        creator = self._creators.pop(namespace, None)
        if creator is not None:
            self._usage_of(creator).namespaces -= 1

    def _remove(self, namespace: str, key: str) -> None:
        entries = self._data.get(namespace)
        if entries and key in entries:
            self._uncharge(entries.pop(key))
            if not entries:
                self._drop_namespace(namespace)

    def _sweep(self, namespace: str, now: float) -> None:
        for key in [k for k, e in self._data.get(namespace, {}).items() if e.expired(now)]:
            self._remove(namespace, key)

    def _sweep_all(self, now: float) -> None:
        for namespace in list(self._data):
            self._sweep(namespace, now)

    def _check_caller(self, caller: str, namespace: str, key: str, size: int) -> None:
        """KvError when writing ``namespace/key`` would take ``caller`` over one of its quotas."""
        usage = self._usage_of(caller)
        entries = self._data.get(namespace)
        old = entries.get(key) if entries else None
        cap = self.max_namespaces_per_caller
        if entries is None and cap is not None and usage.namespaces >= cap:
            raise KvError(
                f"{caller} has created {usage.namespaces} namespaces, its limit of {cap} namespaces "
                "per caller; delete one of its namespaces first"
            )
        cap = self.max_keys_per_caller
        if cap is not None and (old is None or old.owner != caller) and usage.keys >= cap:
            raise KvError(f"{caller} holds {usage.keys} keys, its limit of {cap} keys per caller")
        cap = self.max_bytes_per_caller
        growth = size - (old.size if old is not None and old.owner == caller else 0)
        if cap is not None and usage.bytes + growth > cap:
            raise KvError(
                f"{caller} would hold {usage.bytes + growth} bytes, over its limit of {cap} bytes per caller"
            )

    def _store(
        self,
        namespace: str,
        key: str,
        value: Any,
        size: int,
        expires_at: float | None,
        now: float,
        caller: str,
    ) -> Entry:
        try:
            self._check_caller(caller, namespace, key, size)
        except KvError:
            self._sweep_all(now)  # expired entries no longer count against the caller
            self._check_caller(caller, namespace, key, size)
        entries = self._data.get(namespace)
        old = entries.get(key) if entries else None
        if entries is None and len(self._data) >= self.max_namespaces:
            self._sweep_all(now)
        if entries is None:
            if len(self._data) >= self.max_namespaces:
                raise KvError(
                    f"the cache holds {len(self._data)} namespaces, its limit of {self.max_namespaces} "
                    "namespaces in all; delete one first"
                )
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
        entry = Entry(value, size, old.created_at if old else now, now, expires_at, caller)
        if old is not None:
            self._uncharge(old)
        if namespace not in self._data:
            self._creators[namespace] = caller
            self._usage_of(caller).namespaces += 1
        entries[key] = entry
        self._data[namespace] = entries
        usage = self._usage_of(caller)
        usage.keys += 1
        usage.bytes += size
        self._total += size
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

    def set(
        self, namespace: str, key: str, value: Any, ttl_seconds: float | None = None, caller: str = ""
    ) -> dict[str, Any]:
        self.check_names(namespace, key)
        size = self._encode(value)
        with self._lock:
            now = self.clock()
            self._live(namespace, key, now)
            entry = self._store(namespace, key, value, size, self._ttl(ttl_seconds), now, caller)
            return {"stored": True, **entry.view(namespace, key, now)}

    def append(
        self,
        namespace: str,
        key: str,
        item: Any,
        max_items: int = 100,
        ttl_seconds: float | None = None,
        caller: str = "",
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
            entry = self._store(namespace, key, items, size, self._ttl(ttl_seconds), now, caller)
            return {"stored": True, "length": len(items), **entry.view(namespace, key, now)}

    def delete(self, namespace: str, key: str | None = None) -> dict[str, Any]:
        """One key, or (``key`` None) the whole namespace."""
        self.check_names(namespace, key)
        with self._lock:
            if key is None:
                entries = self._data.get(namespace, {})
                count = len(entries)
                for entry in entries.values():
                    self._uncharge(entry)
                if namespace in self._data:
                    self._drop_namespace(namespace)
                return {"namespace": namespace, "deleted": count}
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
            self._sweep_all(self.clock())
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
                    "max_namespaces_per_caller": self.max_namespaces_per_caller,
                    "max_keys_per_caller": self.max_keys_per_caller,
                    "max_bytes_per_caller": self.max_bytes_per_caller,
                },
                "callers": {
                    caller: usage.view()
                    for caller, usage in sorted(self._usage.items())
                    if usage.keys or usage.namespaces
                },
            }
