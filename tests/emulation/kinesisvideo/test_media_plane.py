"""The Kinesis Video media plane of the engine, over HTTP as producers and consumers use it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulation.kinesisvideo import ebml
from nexuskit.aws import AwsTarget
from nexuskit.producers.errors import VideoError
from tests.emulation.kinesisvideo.kvs_support import acks_by_type, decoded_frames, fragment, put_media
from tests.helpers import EngineProcess


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    running = EngineProcess(tmp_path_factory.mktemp("kvs")).start()
    yield running
    running.stop()


@pytest.fixture
def stream(engine: EngineProcess) -> Callable[..., str]:
    """``stream()`` creates a new video stream (1 h retention unless told) and returns its name."""
    made: list[str] = []

    def create(hours: int = 1) -> str:
        name = f"cam-{len(made)}-{time.monotonic_ns()}"
        engine.target().client("kinesisvideo").create_stream(StreamName=name, DataRetentionInHours=hours)
        made.append(name)
        return name

    return create


def _archive(target: AwsTarget) -> Any:
    return target.client("kinesis-video-archived-media")


def _put(
    target: AwsTarget, name: str, *timecodes: int, start: float = 1_795_690_000.0
) -> list[dict[str, Any]]:
    body = b"".join(fragment(ms) for ms in timecodes)
    return put_media(target, name, body, start).acks


def test_get_data_endpoint_returns_the_engine(engine: EngineProcess, stream: Callable[..., str]) -> None:
    """Clients that follow AWS's two steps are sent back to the engine for every media API."""
    name = stream()
    kv = engine.target().client("kinesisvideo")
    for api in ("PUT_MEDIA", "GET_MEDIA", "LIST_FRAGMENTS", "GET_MEDIA_FOR_FRAGMENT_LIST"):
        assert kv.get_data_endpoint(StreamName=name, APIName=api)["DataEndpoint"] == engine.endpoint


def test_put_media_acknowledges_each_fragment_like_aws(
    engine: EngineProcess, stream: Callable[..., str]
) -> None:
    """Each fragment gets BUFFERING, RECEIVED and PERSISTED with its timecode and one number."""
    acks = _put(engine.target(), stream(), 0, 1000, 2000)
    assert [a["EventType"] for a in acks] == ["BUFFERING", "RECEIVED", "PERSISTED"] * 3
    assert [a["FragmentTimecode"] for a in acks[::3]] == [0, 1000, 2000]
    numbers = [a["FragmentNumber"] for a in acks]
    for n in range(3):
        assert len(set(numbers[3 * n : 3 * n + 3])) == 1
    firsts = [int(x) for x in numbers[::3]]
    assert firsts == sorted(firsts) and len(set(firsts)) == 3
    assert all(len(x) == 47 and x.isdigit() for x in numbers)


def test_list_fragments_reports_timestamps_and_sizes(
    engine: EngineProcess, stream: Callable[..., str]
) -> None:
    """Producer timestamps are the start plus the cluster timecode; sizes and lengths are real."""
    name = stream()
    start = 1_795_690_000.0
    before = time.time()
    _put(engine.target(), name, 0, 1000, 2000, start=start)
    fragments = _archive(engine.target()).list_fragments(StreamName=name)["Fragments"]
    assert len(fragments) == 3
    produced = sorted(f["ProducerTimestamp"].timestamp() for f in fragments)
    assert produced == pytest.approx([start, start + 1, start + 2])
    assert all(before - 1 <= f["ServerTimestamp"].timestamp() <= time.time() + 1 for f in fragments)
    assert all(
        f["FragmentSizeInBytes"] > 1000 and f["FragmentLengthInMilliseconds"] == 1000 for f in fragments
    )


def test_list_fragments_selects_by_timestamp_and_pages(
    engine: EngineProcess, stream: Callable[..., str]
) -> None:
    """A producer-timestamp range selects fragments; MaxResults pages with NextToken."""
    name = stream()
    start = 1_795_690_000.0
    _put(engine.target(), name, 0, 1000, 2000, 3000, start=start)
    archive = _archive(engine.target())
    selector = {
        "FragmentSelectorType": "PRODUCER_TIMESTAMP",
        "TimestampRange": {"StartTimestamp": start + 0.5, "EndTimestamp": start + 2.5},
    }
    chosen = archive.list_fragments(StreamName=name, FragmentSelector=selector)["Fragments"]
    assert sorted(f["ProducerTimestamp"].timestamp() for f in chosen) == pytest.approx([start + 1, start + 2])
    seen: list[str] = []
    page = archive.list_fragments(StreamName=name, MaxResults=3)
    seen += [f["FragmentNumber"] for f in page["Fragments"]]
    page = archive.list_fragments(StreamName=name, MaxResults=3, NextToken=page["NextToken"])
    seen += [f["FragmentNumber"] for f in page["Fragments"]]
    assert len(seen) == len(set(seen)) == 4 and "NextToken" not in page


def test_fragments_come_back_as_playable_mkv(engine: EngineProcess, stream: Callable[..., str]) -> None:
    """GetMediaForFragmentList returns one tagged MKV chunk per fragment; PyAV decodes them."""
    name = stream()
    acks = _put(engine.target(), name, 0, 1000)
    numbers = [a["FragmentNumber"] for a in acks_by_type(acks)["PERSISTED"]]
    answer = _archive(engine.target()).get_media_for_fragment_list(StreamName=name, Fragments=numbers)
    payload = answer["Payload"].read()
    assert answer["ContentType"] == "video/x-matroska"
    chunks = ebml.split_chunks(payload)
    assert [decoded_frames(chunk) for chunk in chunks] == [5, 5]
    assert decoded_frames(payload) == 10
    tags = ebml.read_tags(payload)
    assert [t["AWS_KINESISVIDEO_FRAGMENT_NUMBER"] for t in tags] == numbers
    assert float(tags[1]["AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP"]) == pytest.approx(1_795_690_001.0)


def test_an_unknown_fragment_number_is_reported_in_the_payload(
    engine: EngineProcess, stream: Callable[..., str]
) -> None:
    """A fragment that is not there comes back as a chunk with AWS's exception tags."""
    name = stream()
    payload = _archive(engine.target()).get_media_for_fragment_list(StreamName=name, Fragments=["12345"])
    tags = ebml.read_tags(payload["Payload"].read())
    assert tags == [
        {
            "AWS_KINESISVIDEO_FRAGMENT_NUMBER": "12345",
            "AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE": "4000",
            "AWS_KINESISVIDEO_EXCEPTION_MESSAGE": "Requested fragment is not found",
        }
    ]


def test_get_media_streams_from_a_selector_and_continues_with_a_token(
    engine: EngineProcess, stream: Callable[..., str]
) -> None:
    """GetMedia from EARLIEST returns every fragment; its continuation token picks up new ones."""
    name = stream()
    _put(engine.target(), name, 0, 1000)
    media = engine.target().client("kinesis-video-media")
    payload = media.get_media(StreamName=name, StartSelector={"StartSelectorType": "EARLIEST"})[
        "Payload"
    ].read()
    assert decoded_frames(payload) == 10
    token = [t for t in ebml.read_tags(payload) if "AWS_KINESISVIDEO_CONTINUATION_TOKEN" in t][-1][
        "AWS_KINESISVIDEO_CONTINUATION_TOKEN"
    ]
    selector = {"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": token}
    assert media.get_media(StreamName=name, StartSelector=selector)["Payload"].read() == b""
    _put(engine.target(), name, 2000, start=1_795_690_000.0)
    newer = media.get_media(StreamName=name, StartSelector=selector)["Payload"].read()
    assert decoded_frames(newer) == 5


def test_invalid_mkv_gets_an_error_ack(engine: EngineProcess, stream: Callable[..., str]) -> None:
    """Bytes that are not Matroska are refused with ErrorId 4006 INVALID_MKV_DATA."""
    answer = put_media(engine.target(), stream(), b"this is not a video", 0.0)
    assert answer.acks == [
        {"EventType": "ERROR", "FragmentTimecode": 0, "ErrorId": 4006, "ErrorCode": "INVALID_MKV_DATA"}
    ]


def test_a_timecode_going_backwards_ends_the_session(
    engine: EngineProcess, stream: Callable[..., str]
) -> None:
    """A fragment older than the one before it: ERROR 4004, and it is not stored."""
    name = stream()
    acks = _put(engine.target(), name, 2000, 1000)
    assert [a["EventType"] for a in acks] == ["BUFFERING", "RECEIVED", "PERSISTED", "ERROR"]
    assert acks[-1]["ErrorCode"] == "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS" and acks[-1]["ErrorId"] == 4004
    assert len(_archive(engine.target()).list_fragments(StreamName=name)["Fragments"]) == 1


def test_an_unknown_stream_is_not_found(engine: EngineProcess) -> None:
    """PutMedia and ListFragments on a stream that does not exist answer ResourceNotFoundException."""
    with pytest.raises(VideoError, match="404 ResourceNotFoundException"):
        put_media(engine.target(), "no-such-camera", fragment(0), 0.0)
    with pytest.raises(ClientError) as caught:
        _archive(engine.target()).list_fragments(StreamName="no-such-camera")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_update_data_retention_changes_the_stream(engine: EngineProcess, stream: Callable[..., str]) -> None:
    """UpdateDataRetention (missing in moto) changes the retention and checks the version."""
    name = stream(hours=2)
    kv = engine.target().client("kinesisvideo")
    version = kv.describe_stream(StreamName=name)["StreamInfo"]["Version"]
    kv.update_data_retention(
        StreamName=name,
        CurrentVersion=version,
        Operation="INCREASE_DATA_RETENTION",
        DataRetentionChangeInHours=10,
    )
    assert kv.describe_stream(StreamName=name)["StreamInfo"]["DataRetentionInHours"] == 12
    with pytest.raises(ClientError) as caught:
        kv.update_data_retention(
            StreamName=name,
            CurrentVersion=version,
            Operation="DECREASE_DATA_RETENTION",
            DataRetentionChangeInHours=1,
        )
    assert caught.value.response["Error"]["Code"] == "VersionMismatchException"


def test_fragments_survive_a_crash(tmp_path: Path) -> None:
    """Fragments are on disk before they are acknowledged: after a crash they list and play."""
    engine = EngineProcess(tmp_path / "state").start()
    try:
        engine.target().client("kinesisvideo").create_stream(StreamName="kept", DataRetentionInHours=1)
        _put(engine.target(), "kept", 0, 1000)
        engine.snapshot()  # the stream itself (moto's) is persisted by snapshots
        _put(engine.target(), "kept", 2000)  # after the last snapshot: only the files have it
        engine.kill9()
        engine.start()
        archive = _archive(engine.target())
        numbers = [f["FragmentNumber"] for f in archive.list_fragments(StreamName="kept")["Fragments"]]
        assert len(numbers) == 3
        payload = archive.get_media_for_fragment_list(StreamName="kept", Fragments=sorted(numbers))[
            "Payload"
        ].read()
        assert decoded_frames(payload) == 15
    finally:
        engine.kill9()


def test_a_stream_created_again_starts_empty(engine: EngineProcess) -> None:
    """Deleting a stream drops its fragments; a new stream of the same name has none."""
    target = engine.target()
    kv = target.client("kinesisvideo")
    arn = kv.create_stream(StreamName="reborn", DataRetentionInHours=1)["StreamARN"]
    _put(target, "reborn", 0)
    kv.delete_stream(StreamARN=arn)
    kv.create_stream(StreamName="reborn", DataRetentionInHours=1)
    assert _archive(target).list_fragments(StreamName="reborn")["Fragments"] == []
