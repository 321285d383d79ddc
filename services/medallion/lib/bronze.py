"""Which bronze objects (and object versions) a silver run must read, without listing them all.

Bronze is listed by *unit*: each first-level folder under the bucket root and under the
client prefix (``2026/``, ``client/2026/``, ``backfill/``), plus the objects lying directly
under them. Every unit has a **watermark** kept in :class:`BronzeState`, which each silver
manifest carries (``bronze_state``; the newest manifest's is the current one, so the
watermark commits with the data):

* ``cursor`` - every key of the unit up to it has been read, and
* ``seen`` - the keys read at or after ``cursor`` minus the lookback, with their ETags.

An incremental run lists each unit from its lookback start (``StartAfter``): for Firehose's
``YYYY/MM/DD/HH/`` keys, ``bronze.lookback_hours`` before the cursor's hour (Firehose may
deliver an object late); for other units, from the start while they hold at most
:data:`RELIST_LIMIT` keys, else from the cursor. A listed key not in ``seen`` is new; a
seen key whose ETag changed has a later version. So one new object among 100,000 costs a
handful of short listings. A **full scan** - the first run, ``--full``, or when the last
was ``bronze.full_scan_hours`` ago - lists everything and compares it with every input of
every manifest: it finds what landed behind a watermark (a backfill into an old hour).

Versions: Firehose never overwrites a key; for a new key outside Firehose's layout, and for
a key whose ETag changed, every version is listed and each one not yet read is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.medallion.lib import layout
from services.medallion.lib.store import ObjectStore, ObjectVersion

STATE_FORMAT = "nexus-bronze-state/1"
RELIST_LIMIT = 5000
_HOUR = re.compile(r"^(\d{4})/(\d{2})/(\d{2})/(\d{2})/")
_MANY_NEW = 20


def _iso(value: datetime) -> str:
    return value.astimezone(layout.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class BronzeState:
    """Per unit: ``{"cursor": key, "seen": {key: [etag, [version ids]]}}``; when the last full scan ran."""

    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_full_scan: str | None = None

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any] | None) -> BronzeState | None:
        doc = (manifest or {}).get("bronze_state")
        if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
            return None
        return cls(units=dict(doc.get("units") or {}), last_full_scan=doc.get("last_full_scan"))

    def as_dict(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "units": self.units, "last_full_scan": self.last_full_scan}


@dataclass
class Pending:
    """An object version to read (``version_id`` ``""``: the current one, resolved by the GET)."""

    obj: ObjectVersion
    unit: str


@dataclass
class Discovery:
    """What a listing found: the versions to read, how, and what it cost."""

    pending: list[Pending]
    mode: str  # incremental | full
    units: dict[str, str]  # unit -> where its listing started ("" = the start)
    known: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # unit -> listed keys already read
    listed: int = 0
    version_listings: int = 0


def _channel_len(unit: str) -> int:
    """Where Firehose's ``YYYY/`` starts in the keys of ``unit``: after its channel prefix."""
    inner = unit.rstrip("/")
    return inner.rfind("/") + 1 if "/" in inner else 0


def hour_of(unit: str, key: str) -> datetime | None:
    """The hour of a key in Firehose's layout (``[channel/]YYYY/MM/DD/HH/...``), else None."""
    match = _HOUR.match(key[_channel_len(unit) :])
    if not match:
        return None
    try:
        year, month, day, hour = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, tzinfo=layout.UTC)
    except ValueError:
        return None


def lookback_start(unit: str, cursor: str, seen: int, lookback_hours: float) -> str:
    """Where an incremental listing of ``unit`` starts (``""``: from the unit's first key)."""
    if not cursor:
        return ""
    hour = hour_of(unit, cursor)
    if hour is not None:
        start = hour - timedelta(hours=lookback_hours)
        return cursor[: _channel_len(unit)] + start.strftime("%Y/%m/%d/%H/")
    return "" if seen <= RELIST_LIMIT else cursor


def list_units(
    store: ObjectStore, bucket: str, client_prefix: str
) -> tuple[list[str], dict[str, list[ObjectVersion]]]:
    """(units, objects lying directly under each channel prefix)."""
    channels = [""] + ([client_prefix] if client_prefix else [])
    units: list[str] = []
    loose: dict[str, list[ObjectVersion]] = {}
    for channel in channels:
        folders, objects = store.list_folders(bucket, channel)
        units += [
            f for f in folders if not any(f == other for other in channels if other and other != channel)
        ]
        loose[channel] = objects
    return units, loose


def processed_by_key(manifests: Iterable[dict[str, Any]]) -> dict[str, list[Any]]:
    """key -> [etags, version ids] read by any of ``manifests`` (the full-scan view)."""
    found: dict[str, list[Any]] = {}
    for manifest in manifests:
        for entry in manifest.get("inputs", []):
            slot = found.setdefault(entry["key"], [set(), set()])
            if entry.get("etag"):
                slot[0].add(entry["etag"])
            slot[1].add(entry.get("version_id") or "")
    return found


def _versions_to_read(
    store: ObjectStore, bucket: str, keys: list[str], prefix: str | None, done_versions: dict[str, set[str]]
) -> tuple[list[ObjectVersion], int]:
    """Every version of ``keys`` not read yet, oldest first; and how many listings it took."""
    wanted = set(keys)
    listings = []
    if prefix is not None:
        listings.append(prefix)
    else:
        listings += keys
    found = []
    for listing in listings:
        for version in store.list_versions(bucket, listing):
            if version.key in wanted and version.version_id not in done_versions.get(version.key, set()):
                found.append(version)
    found.sort(key=lambda v: (v.key, v.last_modified))
    return found, len(listings)


def discover(
    store: ObjectStore,
    bucket: str,
    client_prefix: str,
    state: BronzeState | None,
    lookback_hours: float,
    full: bool,
    manifests: Iterable[dict[str, Any]] | None = None,
) -> Discovery:
    """The bronze object versions no silver run has read (see the module docstring)."""
    full = full or state is None
    units, loose = list_units(store, bucket, client_prefix)
    processed = processed_by_key(manifests or []) if full else {}
    starts: dict[str, str] = {}
    listed: dict[str, list[ObjectVersion]] = {}
    for unit in units:
        entry = (state.units.get(unit) if state else None) or {}
        start = (
            ""
            if full
            else lookback_start(unit, entry.get("cursor", ""), len(entry.get("seen", {})), lookback_hours)
        )
        starts[unit] = start
        listed[unit] = list(store.list_keys(bucket, unit, start))
    for channel, objects in loose.items():
        starts[channel] = ""
        listed[channel] = objects
    discovery = Discovery([], "full" if full else "incremental", starts)
    for unit, objects in listed.items():
        seen = {} if full else ((state.units.get(unit) if state else None) or {}).get("seen", {})
        fresh: list[ObjectVersion] = []
        changed: list[ObjectVersion] = []
        done_versions: dict[str, set[str]] = {}
        for obj in objects:
            discovery.listed += 1
            known = processed.get(obj.key) if full else seen.get(obj.key)
            if known is None:
                fresh.append(obj)
                continue
            etags = known[0] if full else {known[0]}
            discovery.known.setdefault(unit, {})[obj.key] = [obj.etag if full else known[0], sorted(known[1])]
            if obj.etag and obj.etag not in etags:
                changed.append(obj)
                done_versions[obj.key] = set(known[1])
        channel = unit[: _channel_len(unit)]
        plain: list[ObjectVersion] = []
        others: list[ObjectVersion] = []
        for obj in fresh:
            (plain if layout.is_bronze_object(obj.key, (channel,)) else others).append(obj)
        discovery.pending += [Pending(o, unit) for o in plain]
        recheck = [o.key for o in changed] + [o.key for o in others]
        if recheck:
            prefix = unit if len(recheck) > _MANY_NEW and unit.endswith("/") else None
            versions, count = _versions_to_read(store, bucket, recheck, prefix, done_versions)
            discovery.version_listings += count
            discovery.pending += [Pending(v, unit) for v in versions]
    discovery.pending.sort(key=lambda p: (p.obj.last_modified, p.obj.key, p.obj.version_id))
    return discovery


def advance(
    state: BronzeState | None,
    discovery: Discovery,
    read: list[dict[str, Any]],
    remaining: list[Pending],
    lookback_hours: float,
    now: datetime,
) -> BronzeState:
    """The state after reading ``read`` (manifest input entries), with ``remaining`` still to read."""
    units: dict[str, dict[str, Any]] = {}
    if discovery.mode == "incremental" and state is not None:
        units = {
            u: {"cursor": e.get("cursor", ""), "seen": dict(e.get("seen", {}))}
            for u, e in state.units.items()
        }
    for unit in discovery.units:
        slot = units.setdefault(unit, {"cursor": "", "seen": {}})
        for key, known in discovery.known.get(unit, {}).items():
            slot["seen"].setdefault(key, known)
    for entry in read:
        slot = units.setdefault(entry.get("unit", ""), {"cursor": "", "seen": {}})
        known = slot["seen"].get(entry["key"])
        versions = sorted(set(known[1] if known else []) | {entry.get("version_id") or ""})
        slot["seen"][entry["key"]] = [entry.get("etag", ""), versions]
    floor: dict[str, str] = {}
    for pending in remaining:
        current = floor.get(pending.unit)
        if current is None or pending.obj.key < current:
            floor[pending.unit] = pending.obj.key
    for unit, slot in units.items():
        cap = floor.get(unit)
        candidates = [k for k in slot["seen"] if cap is None or k < cap]
        if slot["cursor"] and (cap is None or slot["cursor"] < cap):
            candidates.append(slot["cursor"])
        slot["cursor"] = max(candidates) if candidates else ""
        start = lookback_start(unit, slot["cursor"], len(slot["seen"]), lookback_hours)
        if start:
            slot["seen"] = {k: v for k, v in slot["seen"].items() if k > start}
    last_full = _iso(now) if discovery.mode == "full" else (state.last_full_scan if state else None)
    return BronzeState(units=units, last_full_scan=last_full)


def full_scan_due(state: BronzeState | None, full_scan_hours: float, now: datetime) -> bool:
    if state is None or not state.last_full_scan:
        return True
    last = datetime.fromisoformat(state.last_full_scan.replace("Z", "+00:00"))
    return now - last >= timedelta(hours=full_scan_hours)
