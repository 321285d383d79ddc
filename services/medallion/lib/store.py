"""Where the jobs read and write objects: a small protocol, with S3 and local-folder stores.

The jobs speak only :class:`ObjectStore`. As Glue jobs they get an :class:`S3Store` (boto3
with the standard configuration: ``AWS_ENDPOINT_URL``, region, credentials); run in-process
by nexuskit they get its lake access layer, which checks the caller's Lake Formation grants
before each call and then does the same S3 calls. :class:`LocalStore` keeps buckets as
folders (benchmarks, unit tests of the pure logic).

Listing comes in three weights: :meth:`~ObjectStore.list_keys` (``ListObjectsV2``: current
objects in key order, from a ``start_after`` key, no version ids - what the jobs use to find
new objects), :meth:`~ObjectStore.list_objects` (current versions with their ids) and
:meth:`~ObjectStore.list_versions` (every version of the keys under a prefix).
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
from typing import Any, BinaryIO, Protocol

from services.medallion.lib.layout import UTC


@dataclass(frozen=True)
class ObjectVersion:
    """One version of one object (``version_id`` is ``""`` when the listing did not say)."""

    bucket: str
    key: str
    version_id: str
    size: int
    etag: str
    last_modified: datetime
    is_latest: bool = True


class Download:
    """An object's body as a stream (``read(n)``), with the version id S3 answered."""

    def __init__(self, stream: Any, version_id: str, size: int) -> None:
        self.stream = stream
        self.version_id = version_id
        self.size = size

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.stream.read(size)
        return data

    def close(self) -> None:
        self.stream.close()


class ObjectStore(Protocol):
    """The object operations the medallion jobs need."""

    def list_keys(self, bucket: str, prefix: str = "", start_after: str = "") -> Iterator[ObjectVersion]:
        """Current objects under ``prefix`` with keys after ``start_after``, in key order."""
        ...

    def list_folders(self, bucket: str, prefix: str = "") -> tuple[list[str], list[ObjectVersion]]:
        """(sub-folders ``prefix<name>/``, objects directly under ``prefix``): a ``/`` listing."""
        ...

    def list_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectVersion]:
        """Current versions of the objects under ``prefix`` (no delete markers), by key."""
        ...

    def list_versions(self, bucket: str, prefix: str) -> Iterator[ObjectVersion]:
        """Every version of every key under ``prefix`` (no delete markers)."""
        ...

    def get(self, bucket: str, key: str, version_id: str | None = None) -> bytes: ...

    def open(self, bucket: str, key: str, version_id: str | None = None) -> Download:
        """The object's body as a stream (the caller closes it)."""
        ...

    def put(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        """Write an object; returns its version id (``"null"`` when unversioned)."""
        ...

    def copy(self, bucket: str, source_key: str, key: str) -> str:
        """Server-side copy within ``bucket``; returns the new version id."""
        ...

    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        """Delete the current versions (a delete marker in a versioned bucket)."""
        ...

    def delete_exact(self, bucket: str, versions: Iterable[tuple[str, str]]) -> None:
        """Remove the given (key, version id) pairs for good."""
        ...

    def delete_versions(self, bucket: str, prefix: str) -> int:
        """Remove every version and delete marker under ``prefix``; how many."""
        ...


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _etag(value: Any) -> str:
    return str(value or "").strip('"')


class S3Store:
    """:class:`ObjectStore` over a boto3 S3 client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def from_environment(cls) -> S3Store:
        import boto3
        from botocore.config import Config

        # Integrity is the job's own: it hashes (sha256) every object it reads, and readers check
        # the sha256 its manifests record. botocore's default CRC32 on every body in and out
        # costs a tenth of a bronze -> silver run's CPU for nothing more.
        config = Config(
            retries={"mode": "standard", "max_attempts": 5},
            read_timeout=120,
            max_pool_connections=16,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return cls(boto3.client("s3", config=config))

    def list_keys(self, bucket: str, prefix: str = "", start_after: str = "") -> Iterator[ObjectVersion]:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if start_after:
            kwargs["StartAfter"] = start_after
        for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
            for entry in page.get("Contents", []):
                yield ObjectVersion(
                    bucket,
                    entry["Key"],
                    "",
                    int(entry.get("Size", 0)),
                    _etag(entry.get("ETag")),
                    entry["LastModified"],
                )

    def list_folders(self, bucket: str, prefix: str = "") -> tuple[list[str], list[ObjectVersion]]:
        folders: list[str] = []
        objects: list[ObjectVersion] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        )
        for page in pages:
            folders += [entry["Prefix"] for entry in page.get("CommonPrefixes", [])]
            objects += [
                ObjectVersion(
                    bucket, e["Key"], "", int(e.get("Size", 0)), _etag(e.get("ETag")), e["LastModified"]
                )
                for e in page.get("Contents", [])
            ]
        return sorted(folders), objects

    def _versions(self, bucket: str, prefix: str) -> Iterator[ObjectVersion]:
        for page in self.client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for version in page.get("Versions", []):
                yield ObjectVersion(
                    bucket=bucket,
                    key=version["Key"],
                    version_id=str(version.get("VersionId") or "null"),
                    size=int(version.get("Size", 0)),
                    etag=_etag(version.get("ETag")),
                    last_modified=version["LastModified"],
                    is_latest=bool(version.get("IsLatest")),
                )

    def list_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectVersion]:
        return (v for v in self._versions(bucket, prefix) if v.is_latest)

    def list_versions(self, bucket: str, prefix: str) -> Iterator[ObjectVersion]:
        return self._versions(bucket, prefix)

    def _get(self, bucket: str, key: str, version_id: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id and version_id != "null":
            kwargs["VersionId"] = version_id
        answer: dict[str, Any] = self.client.get_object(**kwargs)
        return answer

    def get(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        body: bytes = self._get(bucket, key, version_id)["Body"].read()
        return body

    def open(self, bucket: str, key: str, version_id: str | None = None) -> Download:
        answer = self._get(bucket, key, version_id)
        version = str(answer.get("VersionId") or version_id or "null")
        return Download(answer["Body"], version, int(answer.get("ContentLength", 0)))

    def put(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        answer = self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        return str(answer.get("VersionId") or "null")

    def copy(self, bucket: str, source_key: str, key: str) -> str:
        answer = self.client.copy_object(
            Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": source_key}
        )
        return str(answer.get("VersionId") or "null")

    def _delete_batches(self, bucket: str, entries: Iterable[dict[str, str]]) -> int:
        batch: list[dict[str, str]] = []
        count = 0
        for entry in entries:
            batch.append(entry)
            if len(batch) == 1000:
                self.client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                count += len(batch)
                batch = []
        if batch:
            self.client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            count += len(batch)
        return count

    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        self._delete_batches(bucket, ({"Key": key} for key in keys))

    def delete_exact(self, bucket: str, versions: Iterable[tuple[str, str]]) -> None:
        entries = (
            {"Key": key, "VersionId": version} if version and version != "null" else {"Key": key}
            for key, version in versions
        )
        self._delete_batches(bucket, entries)

    def delete_versions(self, bucket: str, prefix: str) -> int:
        doomed: list[dict[str, str]] = []
        for page in self.client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                doomed.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
        return self._delete_batches(bucket, doomed)


class LocalStore:
    """:class:`ObjectStore` over a folder: ``root/<bucket>/<key>`` (one version per key)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def _entry(self, bucket: str, key: str, path: Path) -> ObjectVersion:
        stat = path.stat()
        return ObjectVersion(
            bucket=bucket,
            key=key,
            version_id=self._version(path),
            size=stat.st_size,
            etag=f"{stat.st_size:x}-{stat.st_mtime_ns:x}",
            last_modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        )

    def _keys(self, bucket: str, prefix: str) -> list[tuple[str, Path]]:
        base = self.root / bucket
        if not base.is_dir():
            return []
        start = base / prefix.rpartition("/")[0] if "/" in prefix else base
        found = []
        for dirpath, _dirs, files in os.walk(start):
            for name in files:
                if name.endswith(".version") or name.endswith(".tmp"):
                    continue
                path = Path(dirpath) / name
                key = path.relative_to(base).as_posix()
                if key.startswith(prefix):
                    found.append((key, path))
        return sorted(found)

    def list_keys(self, bucket: str, prefix: str = "", start_after: str = "") -> Iterator[ObjectVersion]:
        for key, path in self._keys(bucket, prefix):
            if key > start_after:
                yield self._entry(bucket, key, path)

    def list_folders(self, bucket: str, prefix: str = "") -> tuple[list[str], list[ObjectVersion]]:
        base = self._path(bucket, prefix) if prefix else self.root / bucket
        if not base.is_dir():
            return [], []
        folders, objects = [], []
        for entry in sorted(os.scandir(base), key=lambda e: e.name):
            if entry.is_dir():
                folders.append(f"{prefix}{entry.name}/")
            elif not entry.name.endswith((".version", ".tmp")):
                objects.append(self._entry(bucket, prefix + entry.name, Path(entry.path)))
        return folders, objects

    def list_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectVersion]:
        for key, path in self._keys(bucket, prefix):
            yield self._entry(bucket, key, path)

    def list_versions(self, bucket: str, prefix: str) -> Iterator[ObjectVersion]:
        return self.list_objects(bucket, prefix)

    @staticmethod
    def _version(path: Path) -> str:
        marker = path.with_name(path.name + ".version")
        return marker.read_text() if marker.exists() else "null"

    def get(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        return self._path(bucket, key).read_bytes()

    def open(self, bucket: str, key: str, version_id: str | None = None) -> Download:
        path = self._path(bucket, key)
        stream: BinaryIO = path.open("rb")
        return Download(stream, self._version(path), path.stat().st_size)

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

    def delete_exact(self, bucket: str, versions: Iterable[tuple[str, str]]) -> None:
        doomed = []
        for key, version in versions:
            path = self._path(bucket, key)
            if path.exists() and self._version(path) in (version, "null"):
                doomed.append(key)
        self.delete(bucket, doomed)

    def delete_versions(self, bucket: str, prefix: str) -> int:
        keys = [obj.key for obj in self.list_objects(bucket, prefix)]
        self.delete(bucket, keys)
        return len(keys)
