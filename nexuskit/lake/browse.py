"""``lake ls``, ``lake inspect`` and ``lake stats``: what is in the tiers (plain data back).

Silver, gold and vibranium are described from their manifests (committed files only);
bronze from all its objects, with those no silver run has read yet as ``pending`` and
those silver could not read at all (not JSON) as ``skipped``, each with its reason.
Every read goes through :attr:`Lake.store`, so a tier the caller may not read is reported
as ``denied`` in overviews and raises :class:`LakeAccessDenied` when asked for directly.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from nexuskit.lake.access import Lake
from nexuskit.lake.catalog import tier_schemas
from nexuskit.lake.errors import LakeAccessDenied, LakeNotFoundError
from nexuskit.lake.grants import READ, WRITE
from nexuskit.params import TIERS
from services.medallion.lib import layout
from services.medallion.lib.bronze import BronzeState, processed_by_key
from services.medallion.lib.commit import CommitLog, OutputFile
from services.medallion.lib.decode import ObjectShape, decompressed, read_blocks, sniff
from services.medallion.lib.silver import JOB as SILVER_JOB

MAX_SKIPPED_SHOWN = 50

_PARQUET_MAGIC = b"PAR1"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(layout.UTC).isoformat().replace("+00:00", "Z") if value else None


def _commit_log(lake: Lake, tier: str) -> CommitLog:
    return CommitLog(lake.store, lake.bucket(tier), cache_dir=lake.cache_dir).load()


def _bronze_summary(lake: Lake) -> dict[str, Any]:
    bucket = lake.bucket("bronze")
    objects = list(lake.store.list_keys(bucket))
    summary: dict[str, Any] = {
        "objects": len(objects),
        "bytes": sum(o.size for o in objects),
        "rows": 0,
        "pending": None,
        "skipped": None,
        "freshness": _iso(max((o.last_modified for o in objects), default=None)),
    }
    if not lake.can("silver", READ):
        return summary
    silver = CommitLog(lake.store, lake.bucket("silver"), jobs=[SILVER_JOB], cache_dir=lake.cache_dir).load()
    done = processed_by_key(silver.manifests)
    inputs = [e for m in silver.manifests for e in m.get("inputs", [])]
    skipped = [e for e in inputs if e.get("skipped")]
    state = BronzeState.from_manifest(silver.manifests[-1] if silver.manifests else None)
    summary["rows"] = sum(int(e.get("records", 0)) for e in inputs)
    summary["pending"] = sum(
        1 for o in objects if o.key not in done or (o.etag and o.etag not in done[o.key][0])
    )
    summary["skipped"] = len(skipped)
    summary["skipped_objects"] = [
        {"key": e["key"], "version_id": e.get("version_id"), "reason": e["skipped"]}
        for e in skipped[-MAX_SKIPPED_SHOWN:]
    ]
    summary["last_full_scan"] = state.last_full_scan if state else None
    return summary


def _dataset_summary(files: list[OutputFile]) -> dict[str, Any]:
    return {
        "files": len(files),
        "rows": sum(f.rows for f in files),
        "bytes": sum(f.bytes for f in files),
        "partitions": sorted({f.partition for f in files}),
        "last_commit": max((f.committed_at for f in files), default=None),
    }


def tier_summary(lake: Lake, tier: str) -> dict[str, Any]:
    """One tier: bucket, access, and per dataset files/rows/bytes (or bronze objects)."""
    summary: dict[str, Any] = {
        "tier": tier,
        "bucket": lake.bucket(tier),
        "governed": tier in lake.grants.governed,
        "read": lake.can(tier, READ),
        "write": lake.can(tier, WRITE),
    }
    if not summary["read"]:
        summary["denied"] = True
        return summary
    if tier == "bronze":
        summary.update(_bronze_summary(lake))
        return summary
    log = _commit_log(lake, tier)
    names = list(tier_schemas(lake.config)[tier])
    names += sorted({f.dataset for f in log.files() if f.dataset not in names})
    datasets = {}
    for dataset in names:
        datasets[f"{tier}.{dataset}"] = _dataset_summary(log.files(dataset))
    summary["datasets"] = datasets
    summary["objects"] = sum(d["files"] for d in datasets.values())
    summary["rows"] = sum(d["rows"] for d in datasets.values())
    summary["bytes"] = sum(d["bytes"] for d in datasets.values())
    summary["freshness"] = log.last_commit()
    return summary


def list_lake(lake: Lake, what: str | None = None, limit: int = 100) -> dict[str, Any]:
    """``ls``: every tier; one tier's datasets; or one dataset's files (``tier.dataset``)."""
    if what is None:
        return {"tiers": [tier_summary(lake, tier) for tier in TIERS]}
    tier, _, dataset = what.partition(".")
    if tier not in TIERS:
        raise LakeNotFoundError(f"unknown tier {tier!r}", f"use one of {', '.join(TIERS)}, or tier.dataset")
    if not dataset:
        if not lake.can(tier, READ):
            raise LakeAccessDenied(lake.principal, READ, f"the {tier} tier")
        if tier == "bronze":
            objects = list(lake.store.list_keys(lake.bucket(tier)))
            return {
                "tier": tier,
                "objects": [
                    {
                        "key": o.key,
                        "version_id": o.version_id,
                        "bytes": o.size,
                        "last_modified": _iso(o.last_modified),
                    }
                    for o in objects[:limit]
                ],
                "total": len(objects),
            }
        return tier_summary(lake, tier)
    known = tier_schemas(lake.config).get(tier, {})
    if tier == "bronze" or (dataset not in known and tier != "silver"):
        raise LakeNotFoundError(
            f"unknown dataset {what!r}", "see `nexuskit lake ls TIER` for a tier's datasets"
        )
    lake.require(tier, READ, dataset)
    files = _commit_log(lake, tier).files(dataset)
    if dataset not in known and not files:
        raise LakeNotFoundError(f"unknown dataset {what!r}", "see `nexuskit lake ls silver` for its datasets")
    return {
        "dataset": what,
        **_dataset_summary(files),
        "objects": [
            {
                "key": f.key,
                "version_id": f.version_id,
                "partition": f.partition,
                "rows": f.rows,
                "bytes": f.bytes,
                "sha256": f.sha256,
                "run_id": f.run_id,
                "committed_at": f.committed_at,
            }
            for f in files[:limit]
        ],
    }


def stats(lake: Lake) -> dict[str, Any]:
    """``stats``: objects, rows, bytes and freshness per tier (plus quarantine and pending)."""
    tiers = []
    for tier in TIERS:
        summary = tier_summary(lake, tier)
        entry = {k: summary.get(k) for k in ("tier", "bucket", "objects", "rows", "bytes", "freshness")}
        if summary.get("denied"):
            entry["denied"] = True
        if tier == "bronze":
            entry["pending"] = summary.get("pending")
            entry["skipped"] = summary.get("skipped")
            entry["skipped_objects"] = summary.get("skipped_objects", [])
            entry["last_full_scan"] = summary.get("last_full_scan")
        if tier == "silver" and "datasets" in summary:
            entry["quarantined"] = summary["datasets"]["silver.quarantine"]["rows"]
        tiers.append(entry)
    return {"principal": lake.principal, "tiers": tiers}


def split_location(lake: Lake, location: str) -> tuple[str, str, str | None]:
    """``s3://bucket/key``, ``tier/key`` or ``tier:key`` (``?versionId=`` optional)."""
    text, _, query = location.partition("?versionId=")
    version = query or None
    if text.startswith("s3://"):
        bucket, _, key = text[5:].partition("/")
    elif ":" in text.split("/", 1)[0]:
        tier, _, key = text.partition(":")
        bucket = lake.bucket(tier)
    else:
        tier, _, key = text.partition("/")
        bucket = lake.bucket(tier)
    if not key:
        raise LakeNotFoundError(f"{location!r} names no object", "use s3://bucket/key, tier/key or tier:key")
    return bucket, key, version


def _parquet(body: bytes, limit: int) -> dict[str, Any]:
    parquet = pq.ParquetFile(pa.BufferReader(body))
    table = parquet.read(use_threads=False)  # see services.medallion.lib.writer.read_parquet
    return {
        "format": "parquet",
        "schema": [{"name": f.name, "type": str(f.type)} for f in table.schema],
        "total_rows": table.num_rows,
        "row_groups": parquet.num_row_groups,
        "rows": table.slice(0, limit).to_pylist(),
    }


def _json_lines(data: bytes, limit: int, compressed: bool) -> dict[str, Any]:
    rows: list[Any] = []
    fields: dict[str, dict[str, str]] = {}
    types: dict[str, int] = {}
    lines = bad = 0
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        lines += 1
        try:
            value = json.loads(raw)
        except ValueError as exc:
            bad += 1
            if len(rows) < limit:
                rows.append(
                    {"_error": f"not valid JSON: {exc}", "_raw": raw.decode("utf-8", "replace")[:500]}
                )
            continue
        kind = str(value.get("type")) if isinstance(value, dict) else "(not an object)"
        types[kind] = types.get(kind, 0) + 1
        if isinstance(value, dict):
            seen = fields.setdefault(kind, {})
            for name, item in value.items():
                seen.setdefault(name, type(item).__name__)
        if len(rows) < limit:
            rows.append(value)
    return {
        "format": "gzip json lines" if compressed else "json lines",
        "schema": [
            {"type": kind, "fields": [{"name": n, "type": t} for n, t in f.items()]}
            for kind, f in fields.items()
        ],
        "total_rows": lines,
        "bad_lines": bad,
        "types": types,
        "rows": rows,
    }


def inspect(lake: Lake, location: str, limit: int = 20) -> dict[str, Any]:
    """Decode one object: Parquet rows with the schema, JSON lines (GZIP or not), JSON."""
    bucket, key, version = split_location(lake, location)
    if version is None:
        found = [o for o in lake.store.list_objects(bucket, key) if o.key == key]
        if not found:
            raise LakeNotFoundError(
                f"s3://{bucket}/{key} does not exist", "list keys with `nexuskit lake ls TIER`"
            )
        version = found[0].version_id
    body = lake.store.get(bucket, key, version)
    info: dict[str, Any] = {
        "bucket": bucket,
        "key": key,
        "version_id": version,
        "tier": lake.tier_of(bucket),
        "bytes": len(body),
    }
    if body[:4] == _PARQUET_MAGIC:
        info.update(_parquet(body, limit))
        return info
    shape = ObjectShape()
    data = b"".join(decompressed(iter([body]), shape))
    kind, skipped = sniff(data[:65536])
    info["bronze_format"] = kind or None
    if skipped:
        info["skipped"] = skipped
    if shape.problems:
        info["problems"] = [p.reason for p in shape.problems]
    stripped = data.strip()
    if stripped.startswith(b"{") and b"\n" in stripped and stripped.count(b"\n{") == 0:
        try:
            info.update({"format": "json", "document": json.loads(stripped), "total_rows": 1})
            return info
        except ValueError:
            pass
    if kind in ("json array", "concatenated json"):  # the records one per line, as silver reads them
        data = b"".join(block.data for block in read_blocks(iter([data]), ObjectShape()))
    info.update(_json_lines(data, limit, compressed=shape.compression == "gzip"))
    if kind in ("json array", "concatenated json"):
        info["format"] = kind + (" (gzip)" if shape.compression == "gzip" else "")
    return info
