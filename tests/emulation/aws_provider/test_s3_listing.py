"""Bucket listings answer exactly what moto's own listing code answers, at any bucket size.

The engine hands moto's listing code only the part of a bucket a page can show
(``emulation/s3/listing.py``). Every answer is compared with moto's own method on the same
bucket: prefixes, delimiters, markers, continuation tokens, MaxKeys, versions, delete
markers and keys that sort around the markers. Then the engine lists one key's versions and
a page after ``StartAfter`` in a bucket of thousands of keys through boto3.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any

import pytest

from emulation.s3 import listing

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def backend() -> Iterator[Any]:
    from moto.s3.models import S3Backend

    listing.install()
    backend = S3Backend("us-west-2", ACCOUNT)
    rng = random.Random(7)
    names = [
        "a",
        "a/",
        "a/b",
        "a/b/c",
        "a/b/d",
        "a/c",
        "a0",
        "a~",
        "b/x/1",
        "b/x/2",
        "b/y",
        "bb",
        "c//d",
        "z",
    ]
    names += [f"2026/{rng.randrange(4):02d}/{rng.randrange(30):02d}/obj-{n:03d}" for n in range(48)]
    for bucket in ("plain-bucket", "versioned-bucket"):
        backend.create_bucket(bucket, "us-west-2")
    backend.put_bucket_versioning("versioned-bucket", "Enabled")
    for name in names:
        backend.put_object("plain-bucket", name, b"x")
        for version in range(rng.randrange(1, 4)):
            backend.put_object("versioned-bucket", name, f"v{version}".encode())
    for name in rng.sample(names, 25):  # hidden keys: their latest version is a delete marker
        backend.delete_object("versioned-bucket", name)
        if rng.random() < 0.5:
            backend.delete_object("plain-bucket", name)
    yield backend
    backend.reset()


def _objects(keys: Any) -> list[Any]:
    return [k if isinstance(k, str) else (k.name, k.etag) for k in keys]


PREFIXES = ["", "a", "a/", "a/b", "b/", "2026/", "2026/01/", "nothing/"]
DELIMITERS = [None, "/", "b"]
MARKERS = [None, "a", "a/", "a/b", "a/b/c", "b", "2026/01/", "2026/02/15/obj-050", "zz"]
SIZES = [1, 2, 3, 7, 1000]


@pytest.mark.parametrize("bucket", ["plain-bucket", "versioned-bucket"])
def test_list_objects_v2_pages_equal_motos(backend: Any, bucket: str) -> None:
    original = listing.ORIGINALS["list_objects_v2"]
    store = backend.get_bucket(bucket)
    for prefix, delimiter, start_after, max_keys in itertools.product(PREFIXES, DELIMITERS, MARKERS, SIZES):
        ours = backend.list_objects_v2(store, prefix, delimiter, None, start_after, max_keys)
        theirs = original(backend, store, prefix, delimiter, None, start_after, max_keys)
        case = (prefix, delimiter, start_after, max_keys)
        assert (_objects(ours[0]), ours[1], ours[2]) == (_objects(theirs[0]), theirs[1], theirs[2]), case


@pytest.mark.parametrize("bucket", ["plain-bucket", "versioned-bucket"])
def test_list_objects_v2_walks_every_page_as_moto_does(backend: Any, bucket: str) -> None:
    original = listing.ORIGINALS["list_objects_v2"]
    store = backend.get_bucket(bucket)
    for prefix, delimiter, max_keys in itertools.product(PREFIXES, DELIMITERS, [1, 3, 10]):
        pages: list[list[Any]] = []
        token = None
        while True:
            keys, truncated, token = backend.list_objects_v2(store, prefix, delimiter, token, None, max_keys)
            pages.append(_objects(keys))
            if not truncated:
                break
        walked = original(backend, store, prefix, delimiter, None, None, 100_000)[0]
        assert list(itertools.chain(*pages)) == _objects(walked), (prefix, delimiter, max_keys)


@pytest.mark.parametrize("bucket", ["plain-bucket", "versioned-bucket"])
def test_list_objects_v1_equals_motos(backend: Any, bucket: str) -> None:
    original = listing.ORIGINALS["list_objects"]
    store = backend.get_bucket(bucket)
    for prefix, delimiter, marker, max_keys in itertools.product(PREFIXES, DELIMITERS, MARKERS, SIZES):
        ours = backend.list_objects(store, prefix, delimiter, marker, max_keys)
        theirs = original(backend, store, prefix, delimiter, marker, max_keys)
        assert (_objects(ours[0]), ours[1:]) == (_objects(theirs[0]), theirs[1:]), (
            prefix,
            delimiter,
            marker,
            max_keys,
        )


def _versions(answer: Any) -> Any:
    versions, prefixes, markers, next_key, next_version = answer
    return (
        [(v.name, v.version_id, v.is_latest) for v in versions],
        prefixes,
        [(m.name, m.version_id, m.is_latest) for m in markers],
        next_key,
        next_version,
    )


@pytest.mark.parametrize("bucket", ["plain-bucket", "versioned-bucket"])
def test_list_object_versions_equals_motos(backend: Any, bucket: str) -> None:
    original = listing.ORIGINALS["list_object_versions"]
    version_markers: list[str | None] = [None]
    version_markers += [v.version_id for v in backend.get_bucket(bucket).keys.getlist("a/b", [])]
    for prefix, delimiter, key_marker, max_keys, version_marker in itertools.product(
        PREFIXES, DELIMITERS, [*MARKERS[:5], "2026/02/15/obj-050"], [1, 3, 1000], version_markers
    ):
        if version_marker and key_marker != "a/b":
            continue
        args = (bucket, delimiter, key_marker, max_keys, prefix, version_marker)
        assert _versions(backend.list_object_versions(*args)) == _versions(original(backend, *args)), args


def test_the_engine_lists_a_page_and_one_keys_versions_in_a_big_bucket(aws: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    s3 = aws("s3")
    bucket = "listing-big-bucket"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    keys = [f"2026/{n // 100:02d}/obj-{n:05d}" for n in range(3000)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b"x"), keys))
    s3.put_object(Bucket=bucket, Key="2026/07/obj-00750", Body=b"second")

    page = s3.list_objects_v2(Bucket=bucket, Prefix="2026/", StartAfter="2026/29/obj-02995")
    assert [o["Key"] for o in page["Contents"]] == keys[-4:]
    assert page["KeyCount"] == 4 and not page["IsTruncated"]

    folders = s3.list_objects_v2(Bucket=bucket, Prefix="2026/", Delimiter="/", MaxKeys=5)
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == [f"2026/{n:02d}/" for n in range(5)]
    assert folders["IsTruncated"]
    rest = s3.list_objects_v2(
        Bucket=bucket, Prefix="2026/", Delimiter="/", ContinuationToken=folders["NextContinuationToken"]
    )
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == [f"2026/{n:02d}/" for n in range(5, 30)]

    versions = s3.list_object_versions(Bucket=bucket, Prefix="2026/07/obj-00750")
    assert [(v["Key"], v["IsLatest"]) for v in versions["Versions"]] == [
        ("2026/07/obj-00750", True),
        ("2026/07/obj-00750", False),
    ]
    latest = versions["Versions"][0]["VersionId"]
    body = s3.get_object(Bucket=bucket, Key="2026/07/obj-00750", VersionId=latest)["Body"].read()
    assert body == b"second"
