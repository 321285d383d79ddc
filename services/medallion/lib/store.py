"""Where the jobs read and write objects: a small protocol, with S3 and local-folder stores.

The jobs speak only :class:`ObjectStore`. As Glue jobs they get an :class:`S3Store` (boto3
with the standard configuration: ``AWS_ENDPOINT_URL``, region, credentials); run in-process
by nexuskit they get its lake access layer, which checks the caller's Lake Formation grants
before each call and then does the same S3 calls. :class:`LocalStore` keeps buckets as
folders (benchmarks, unit tests of the pure logic).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from services.medallion.lib.layout import UTC


@dataclass(frozen=True)
class ObjectVersion:
    """The current version of one object."""

    bucket: str
    key: str
    version_id: str
    size: int
    etag: str
    last_modified: datetime


class ObjectStore(Protocol):
    """The object operations the medallion jobs need."""

    def list_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectVersion]:
        """Current versions of the objects under ``prefix`` (no delete markers), by key."""
        ...

    def get(self, bucket: str, key: str, version_id: str | None = None) -> bytes: ...

    def put(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        """Write an object; returns its version id (``"null"`` when unversioned)."""
        ...

    def copy(self, bucket: str, source_key: str, key: str) -> str:
        """Server-side copy within ``bucket``; returns the new version id."""
        ...

    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        """Delete the current versions (a delete marker in a versioned bucket)."""
        ...

    def delete_versions(self, bucket: str, prefix: str) -> int:
        """Remove every version and delete marker under ``prefix``; how many."""
        ...


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class S3Store:
    """:class:`ObjectStore` over a boto3 S3 client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def from_environment(cls) -> S3Store:
        import boto3
        from botocore.config import Config

        config = Config(retries={"mode": "standard", "max_attempts": 5}, read_timeout=120)
        return cls(boto3.client("s3", config=config))

    def list_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectVersion]:
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for version in page.get("Versions", []):
                if not version.get("IsLatest"):
                    continue
                yield ObjectVersion(
                    bucket=bucket,
                    key=version["Key"],
                    version_id=str(version.get("VersionId") or "null"),
                    size=int(version.get("Size", 0)),
                    etag=str(version.get("ETag", "")).strip('"'),
                    last_modified=version["LastModified"],
                )

    def get(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id and version_id != "null":
            kwargs["VersionId"] = version_id
        body: bytes = self.client.get_object(**kwargs)["Body"].read()
        return body

    def put(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        answer = self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        return str(answer.get("VersionId") or "null")

    def copy(self, bucket: str, source_key: str, key: str) -> str:
        answer = self.client.copy_object(
            Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": source_key}
        )
        return str(answer.get("VersionId") or "null")

    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        batch: list[dict[str, str]] = []
        for key in keys:
            batch.append({"Key": key})
            if len(batch) == 1000:
                self.client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                batch = []
        if batch:
            self.client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})

    def delete_versions(self, bucket: str, prefix: str) -> int:
        paginator = self.client.get_paginator("list_object_versions")
        doomed: list[dict[str, str]] = []
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                doomed.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
        for start in range(0, len(doomed), 1000):
            chunk = doomed[start : start + 1000]
            self.client.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
        return len(doomed)


class LocalStore:
    """:class:`ObjectStore` over a folder: ``root/<bucket>/<key>`` (one version per key)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def list_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectVersion]:
        base = self.root / bucket
        if not base.is_dir():
            return
        found = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.endswith(".version"):
                    continue
                path = Path(dirpath) / name
                key = path.relative_to(base).as_posix()
                if key.startswith(prefix):
                    found.append((key, path))
        for key, path in sorted(found):
            stat = path.stat()
            yield ObjectVersion(
                bucket=bucket,
                key=key,
                version_id=self._version(path),
                size=stat.st_size,
                etag="",
                last_modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            )

    @staticmethod
    def _version(path: Path) -> str:
        marker = path.with_name(path.name + ".version")
        return marker.read_text() if marker.exists() else "null"

    def get(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        return self._path(bucket, key).read_bytes()

    def put(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        path = self._path(bucket, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(body)
        os.replace(tmp, path)
        version = uuid.uuid4().hex
        path.with_name(path.name + ".version").write_text(version)
        return version

    def copy(self, bucket: str, source_key: str, key: str) -> str:
        target = self._path(bucket, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._path(bucket, source_key), target)
        version = uuid.uuid4().hex
        target.with_name(target.name + ".version").write_text(version)
        return version

    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        for key in keys:
            path = self._path(bucket, key)
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".version").unlink(missing_ok=True)

    def delete_versions(self, bucket: str, prefix: str) -> int:
        keys = [obj.key for obj in self.list_objects(bucket, prefix)]
        self.delete(bucket, keys)
        return len(keys)
