"""Bucket listings that cost what they return, not what the bucket holds.

moto answers ListObjects(V2) by walking every key of the bucket (building a set of all of
them, sorting it, and only then cutting at the marker and at MaxKeys), and
ListObjectVersions by deep-copying every version of every key in the bucket - the bodies
included. Measured in-process with moto 5: a ListObjectsV2 page after ``StartAfter`` took
0.54 s at 100,000 keys, and listing the versions of ONE key took 3.2 s at 20,000 keys. The
lake's incremental run, which lists a few hundred keys after its watermarks, paid for the
whole bucket on every call.

Here moto's own listing code still makes every answer (its ordering, markers, common
prefixes, truncation and tokens, quirks included); it is only handed the part of the
bucket that can appear in the page:

* ListObjects/ListObjectsV2: the keys under the prefix. After a marker (V1 without a
  delimiter) or a ``StartAfter``/continuation token (V2), only keys past it: an item
  at or before the marker is cut by moto anyway, and a common prefix past the marker
  has all of its keys past it. With a delimiter, one key stands for each common prefix
  (moto collapses them into one entry anyway), and only as many entries as the page can
  hold, plus one to know it is truncated, are handed over.
* ListObjectVersions: the versions of the keys from ``min(prefix, KeyMarker)`` to the end
  of the prefix's range. Versions before it are skipped by moto's pagination or fall
  outside the prefix, and past the prefix's range nothing more is added.

:func:`install` wraps moto's backend methods; ``tests/emulation/s3/test_listing.py`` checks,
on buckets with versions, delete markers, folders and markers of every kind, that every
answer equals moto's own.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from emulation.core import moto_compat

_installed = False
#: moto's own methods, by name (what the tests compare the answers with)
ORIGINALS: dict[str, Any] = {}


class _Keys:
    """What moto's listing code reads of a bucket's key store: a chosen part of it."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self._pairs = pairs

    def items(self) -> Iterator[tuple[str, Any]]:
        """(name, latest version) pairs, for ListObjects."""
        for name, versions in self._pairs:
            yield name, versions[-1]

    def iterlists(self) -> Iterator[tuple[str, list[Any]]]:
        """(name, every version) pairs, for ListObjectVersions."""
        return iter(self._pairs)


class _BucketPart:
    """A bucket as moto's ListObjects code sees it, holding only ``keys``."""

    def __init__(self, bucket: Any, keys: _Keys) -> None:
        self.name = bucket.name
        self.keys = keys


class _BackendPart:
    """The backend as moto's ListObjectVersions code sees it: ``get_bucket`` of one part."""

    def __init__(self, bucket: Any) -> None:
        self._bucket = bucket

    def get_bucket(self, bucket_name: str) -> Any:
        return self._bucket


def _versions_of(store: Any, names: list[str]) -> list[tuple[str, list[Any]]]:
    """(name, versions) for ``names`` still in ``store`` (a concurrent delete may drop one)."""
    found = []
    for name in names:
        versions = dict.get(store, name)
        if versions:
            found.append((name, versions))
    return found


def _after(text: str) -> str:
    """The smallest string greater than every string that starts with ``text``."""
    return text[:-1] + chr(ord(text[-1]) + 1)


def _page(
    store: Any,
    prefix: str,
    delimiter: str | None,
    after: str | None,
    room: int | None,
    delete_marker: type,
) -> list[tuple[str, list[Any]]]:
    """The keys moto needs to answer a listing page (see the module docstring).

    ``after``: only keys past it; ``room``: stop once the page is known to be truncated
    (``room + 1`` entries); an entry is a key whose latest version is not a delete marker,
    or (with ``delimiter``) a common prefix past ``after``."""
    names = sorted(n for n in list(dict.keys(store)) if n.startswith(prefix) and (after is None or n > after))
    chosen: list[tuple[str, list[Any]]] = []
    entries = index = 0
    start = len(prefix)
    while index < len(names) and (room is None or entries <= room):
        name = names[index]
        cut = name.find(delimiter, start) if delimiter else -1
        if cut < 0:
            index += 1
            versions = dict.get(store, name)
            if versions and not isinstance(versions[-1], delete_marker):
                chosen.append((name, versions))
                entries += 1
            continue
        folder = name[: cut + len(delimiter or "")]
        end = bisect_left(names, _after(folder), index)
        if after is None or folder > after:  # moto drops a common prefix at or before the marker
            # one key stands for the common prefix (moto collapses its keys into one entry)
            for other in names[index:end]:
                versions = dict.get(store, other)
                if versions:
                    chosen.append((other, versions))
                    entries += 1
                    break
        index = end
    return chosen


def install() -> None:
    """Wrap moto's S3 listing methods (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.s3 import models

    delete_marker = models.FakeDeleteMarker
    table_bucket: tuple[type, ...] = tuple(
        t for t in [getattr(models, "FakeTableStorageBucket", None)] if isinstance(t, type)
    )
    originals = moto_compat.listing_methods()
    list_objects = originals["list_objects"]
    list_objects_v2 = originals["list_objects_v2"]
    list_object_versions = originals["list_object_versions"]
    ORIGINALS.update(originals)

    def fast_list_objects(
        self: Any,
        bucket: Any,
        prefix: str | None,
        delimiter: str | None,
        marker: str | None,
        max_keys: int | None,
    ) -> Any:
        if isinstance(bucket, (_BucketPart, *table_bucket)):
            return list_objects(self, bucket, prefix, delimiter, marker, max_keys)
        after = None
        if marker and not delimiter:  # with a delimiter moto keeps common prefixes before it
            after = moto_compat.pagination_token(self, marker) or marker
        room = max_keys if not delimiter else None  # ... and it does not truncate them
        pairs = _page(bucket.keys, prefix or "", delimiter, after, room, delete_marker)
        part = _BucketPart(bucket, _Keys(pairs))
        return list_objects(self, part, prefix, delimiter, marker, max_keys)

    def fast_list_objects_v2(
        self: Any,
        bucket: Any,
        prefix: str | None,
        delimiter: str | None,
        continuation_token: str | None,
        start_after: str | None,
        max_keys: int,
    ) -> Any:
        if isinstance(bucket, table_bucket):
            return list_objects_v2(self, bucket, prefix, delimiter, continuation_token, start_after, max_keys)
        after = None
        if continuation_token or start_after:
            after = (
                moto_compat.pagination_token(self, continuation_token) if continuation_token else start_after
            )
        pairs = _page(bucket.keys, prefix or "", delimiter, after, max_keys, delete_marker)
        part = _BucketPart(bucket, _Keys(pairs))
        return list_objects_v2(self, part, prefix, delimiter, continuation_token, start_after, max_keys)

    def fast_list_object_versions(
        self: Any,
        bucket_name: str,
        delimiter: str | None = None,
        key_marker: str | None = None,
        max_keys: int | None = 1000,
        prefix: str = "",
        version_id_marker: str | None = None,
    ) -> Any:
        bucket = self.get_bucket(bucket_name)
        store = bucket.keys
        low = prefix if key_marker is None else min(prefix, key_marker)
        names = sorted(n for n in list(dict.keys(store)) if n >= low and (n.startswith(prefix) or n < prefix))
        part = _BucketPart(bucket, _Keys(_versions_of(store, names)))
        return list_object_versions(
            _BackendPart(part), bucket_name, delimiter, key_marker, max_keys, prefix, version_id_marker
        )

    moto_compat.replace_listing_methods(
        {
            "list_objects": fast_list_objects,
            "list_objects_v2": fast_list_objects_v2,
            "list_object_versions": fast_list_object_versions,
        }
    )
    _installed = True
