"""Retention: fragments older than the stream's retention are gone, on disk too."""

from __future__ import annotations

from pathlib import Path

from emulation.kinesisvideo import ebml
from emulation.kinesisvideo.models import MediaStore, PutMediaParams, StreamRef
from tests.emulation.kinesisvideo.kvs_support import fragment

RELATIVE = PutMediaParams("RELATIVE", 1_795_690_000.0)


def _stream(hours: int) -> StreamRef:
    return StreamRef(
        "123456789012", "us-west-2", "cam", "arn:aws:kinesisvideo:us-west-2:1:stream/cam/1", hours, "t0"
    )


def test_fragments_past_retention_are_trimmed(tmp_path: Path) -> None:
    """After the retention period a fragment no longer lists, reads or sits on disk."""
    now = [1_000_000.0]
    store = MediaStore(tmp_path, clock=lambda: now[0])
    stream = _stream(hours=1)
    store.put_media(stream, RELATIVE, fragment(0))
    now[0] += 1800
    store.put_media(stream, RELATIVE, fragment(1000))
    old, young = store.fragments(stream)
    now[0] += 1801  # the first is 3601 s old, the second 1801 s
    assert [f.number for f in store.fragments(stream)] == [young.number]
    assert not list(tmp_path.rglob(f"{old.number}.*"))
    tags = ebml.read_tags(store.media_for_fragment_list(stream, [old.number]))
    assert tags[0]["AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE"] == "4000"
    assert store.health()["fragments_trimmed"] == 1


def test_no_retention_means_received_but_not_persisted(tmp_path: Path) -> None:
    """With retention 0, PutMedia acknowledges RECEIVED (no PERSISTED) and keeps nothing."""
    store = MediaStore(tmp_path)
    acks = store.put_media(_stream(hours=0), RELATIVE, fragment(0))
    assert [a["EventType"] for a in acks] == ["BUFFERING", "RECEIVED"]
    assert store.fragments(_stream(hours=0)) == []


def test_the_index_is_rebuilt_from_the_files(tmp_path: Path) -> None:
    """A new store over the same folder (an engine restart) finds every fragment."""
    stream = _stream(hours=2)
    first = MediaStore(tmp_path)
    first.put_media(stream, RELATIVE, fragment(0) + fragment(1000))
    second = MediaStore(tmp_path)
    assert second.restore() == 2
    assert [f.number for f in second.fragments(stream)] == [f.number for f in first.fragments(stream)]
