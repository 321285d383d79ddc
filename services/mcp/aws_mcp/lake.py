"""The medallion tiers as aws-mcp sees them: inventory, listing, reading, writing JSON.

Tiers are named (``bronze``, ``silver``, ``gold``, ``vibranium``), never buckets, so a
caller cannot reach a bucket outside the lake. Bronze is raw and immutable (Firehose
writes it): it can be read, never written. Keys under the lake's commit-protocol
prefixes (``_staging/``, ``_manifests/``, ``_index/``) are refused to writers too, so a
JSON write can never forge a commit the medallion readers would trust.
"""

from __future__ import annotations

import gzip
import importlib
import json
from collections import Counter
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.mcp.aws_mcp.settings import TIERS, AwsMcpSettings
from services.mcp.common import aws, tool_error

RESERVED_PREFIXES = ("_staging/", "_manifests/", "_index/", "_dissemination/")
WRITABLE_TIERS = ("silver", "gold", "vibranium")
MAX_WRITE_BYTES = 5 << 20


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


class Lake:
    """S3 calls on the tier buckets named by the settings."""

    def __init__(self, settings: AwsMcpSettings) -> None:
        self.settings = settings

    # -- names -------------------------------------------------------------------------------
    def tiers(self) -> dict[str, str | None]:
        return {tier: self.settings.bucket(tier) for tier in TIERS}

    def bucket(self, tier: str) -> str:
        if tier not in TIERS:
            raise tool_error(f"unknown tier {tier!r}: use one of {', '.join(TIERS)}")
        bucket = self.settings.bucket(tier)
        if not bucket:
            raise tool_error(f"no bucket is configured for the {tier} tier (LAKE_{tier.upper()}_BUCKET)")
        return bucket

    @staticmethod
    def check_key(key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/") or len(key) > 1024:
            raise tool_error(f"invalid key {key!r}: a relative key without '..', at most 1024 characters")
        return key

    # -- reads -------------------------------------------------------------------------------
    def inventory(self, tiers: list[str] | None = None) -> dict[str, Any]:
        """Objects, bytes, newest object and top-level prefixes per tier."""
        wanted = tiers or list(TIERS)
        report = []
        for tier in wanted:
            bucket = self.bucket(tier)
            report.append(self._bucket_inventory(tier, bucket))
        return {
            "tiers": report,
            "total_objects": sum(t.get("objects", 0) for t in report),
            "total_bytes": sum(t.get("bytes", 0) for t in report),
        }

    def _bucket_inventory(self, tier: str, bucket: str) -> dict[str, Any]:
        s3 = aws.client("s3")
        entry: dict[str, Any] = {"tier": tier, "bucket": bucket}
        try:
            versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status", "Disabled")
        except ClientError as exc:
            if aws.error_code(exc) in {"NoSuchBucket", "404"}:
                return {**entry, "exists": False, "objects": 0, "bytes": 0}
            raise tool_error(f"{tier} ({bucket}): {aws.describe(exc)}") from None
        prefixes: Counter[str] = Counter()
        count = size = 0
        newest: tuple[Any, str] | None = None
        truncated = False
        paginator = s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    count += 1
                    size += int(obj.get("Size", 0))
                    top = obj["Key"].split("/", 1)[0] + "/" if "/" in obj["Key"] else "(root)"
                    prefixes[top] += 1
                    if newest is None or obj["LastModified"] > newest[0]:
                        newest = (obj["LastModified"], obj["Key"])
                if count >= self.settings.inventory_max_objects:
                    truncated = bool(page.get("IsTruncated"))
                    break
        except (ClientError, BotoCoreError) as exc:
            raise tool_error(f"{tier} ({bucket}): {aws.describe(exc)}") from None
        return {
            **entry,
            "exists": True,
            "versioning": versioning,
            "objects": count,
            "bytes": size,
            "newest": {"key": newest[1], "last_modified": _iso(newest[0])} if newest else None,
            "prefixes": dict(prefixes.most_common(20)),
            "truncated": truncated,
        }

    def list_objects(
        self, tier: str, prefix: str = "", max_keys: int = 100, continuation_token: str | None = None
    ) -> dict[str, Any]:
        bucket = self.bucket(tier)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max(1, min(max_keys, 1000))}
        if continuation_token:
            kwargs["ContinuationToken"] = continuation_token
        try:
            page = aws.client("s3").list_objects_v2(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise tool_error(f"{tier} ({bucket}): {aws.describe(exc)}") from None
        return {
            "tier": tier,
            "bucket": bucket,
            "prefix": prefix,
            "objects": [
                {"key": o["Key"], "size": int(o.get("Size", 0)), "last_modified": _iso(o.get("LastModified"))}
                for o in page.get("Contents", [])
            ],
            "next_token": page.get("NextContinuationToken"),
        }

    def read_object(
        self, tier: str, key: str, version_id: str | None = None, max_bytes: int | None = None
    ) -> dict[str, Any]:
        """The object's text (gunzipped), parsed as JSON (or JSON Lines) when it is JSON."""
        bucket = self.bucket(tier)
        self.check_key(key)
        limit = min(max_bytes or self.settings.max_read_bytes, self.settings.max_read_bytes)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            answer = aws.client("s3").get_object(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            code = aws.error_code(exc)
            if code in {"NoSuchKey", "404", "NoSuchVersion"}:
                raise tool_error(f"{tier}/{key} does not exist") from None
            raise tool_error(f"{tier}/{key}: {aws.describe(exc)}") from None
        size = int(answer.get("ContentLength", 0))
        if size > limit:
            answer["Body"].close()
            raise tool_error(f"{tier}/{key} is {size} bytes, over the read limit of {limit}; list it instead")
        raw: bytes = answer["Body"].read()
        info: dict[str, Any] = {
            "tier": tier,
            "bucket": bucket,
            "key": key,
            "version_id": answer.get("VersionId"),
            "size": size,
            "content_type": answer.get("ContentType"),
            "last_modified": _iso(answer.get("LastModified")),
        }
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
            info["gzip"] = True
        if raw[:4] == b"PAR1":
            return {**info, "format": "parquet", "text": None}
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return {**info, "format": "binary", "text": None}
        return {**info, **_parse_text(text)}

    # -- writes ------------------------------------------------------------------------------
    def write_json(self, tier: str, key: str, document: Any, if_absent: bool = False) -> dict[str, Any]:
        """Put ``document`` as JSON at ``tier/key``; ``if_absent`` refuses to replace an object."""
        if tier not in WRITABLE_TIERS:
            raise tool_error(
                f"the {tier} tier is not writable: bronze is raw data written by Firehose only; "
                f"write to {', '.join(WRITABLE_TIERS)}"
            )
        bucket = self.bucket(tier)
        self.check_key(key)
        if key.startswith(RESERVED_PREFIXES):
            raise tool_error(
                f"keys under {', '.join(RESERVED_PREFIXES)} belong to the lake's own jobs; choose another key"
            )
        body = json.dumps(document, indent=2, sort_keys=True, default=str).encode()
        if len(body) > MAX_WRITE_BYTES:
            raise tool_error(f"the document is {len(body)} bytes; the limit is {MAX_WRITE_BYTES}")
        s3 = aws.client("s3")
        kwargs: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Body": body,
            "ContentType": "application/json",
            "Metadata": {"written-by": "aws-mcp"},
        }
        if if_absent:
            kwargs["IfNoneMatch"] = "*"
        try:
            answer = s3.put_object(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            if aws.error_code(exc) in {"PreconditionFailed", "412"}:
                raise tool_error(f"{tier}/{key} already exists (if_absent)") from None
            raise tool_error(f"{tier}/{key}: {aws.describe(exc)}") from None
        return {
            "tier": tier,
            "bucket": bucket,
            "key": key,
            "version_id": answer.get("VersionId"),
            "etag": str(answer.get("ETag", "")).strip('"'),
            "bytes": len(body),
        }

    def write_enrichment(self, findings: list[dict[str, Any]], code_version: str = "") -> dict[str, Any]:
        """Commit agent findings to ``silver.enrichment`` with the lake's own writer.

        The medallion library owns the dataset's schema and commit protocol; it is imported
        here, on first use, because it pulls in pyarrow.
        """
        if not findings:
            raise tool_error("findings is empty: give at least one finding")
        bucket = self.bucket("silver")
        try:  # the lake's own writer (pyarrow): loaded on first use
            write_enrichment = importlib.import_module("services.medallion.lib.enrichment").write_enrichment
            s3_store = importlib.import_module("services.medallion.lib.store").S3Store
        except (ImportError, AttributeError) as exc:
            raise tool_error(f"the medallion library is not available in this image: {exc}") from None
        try:
            manifest = write_enrichment(
                s3_store(aws.client("s3")), bucket, findings, code_version=code_version
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise tool_error(f"invalid finding: {exc}") from None
        except (ClientError, BotoCoreError) as exc:
            raise tool_error(f"silver ({bucket}): {aws.describe(exc)}") from None
        outputs = (manifest or {}).get("outputs", [])
        return {
            "tier": "silver",
            "bucket": bucket,
            "dataset": "enrichment",
            "rows": len(findings),
            "run_id": (manifest or {}).get("run_id"),
            "files": [o.get("key") for o in outputs if isinstance(o, dict)],
        }


def _parse_text(text: str) -> dict[str, Any]:
    stripped = text.strip()
    if stripped[:1] in {"{", "["}:
        try:
            return {"format": "json", "json": json.loads(stripped), "text": None}
        except ValueError:
            pass
        lines = [line for line in stripped.splitlines() if line.strip()]
        try:
            return {"format": "jsonl", "json": [json.loads(line) for line in lines], "text": None}
        except ValueError:
            pass
    return {"format": "text", "text": text}
