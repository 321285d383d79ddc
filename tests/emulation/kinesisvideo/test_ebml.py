"""The Matroska reader agrees with FFmpeg's demuxer (PyAV) on real H.264 MKV."""

from __future__ import annotations

from emulation.kinesisvideo import ebml
from tests.emulation.kinesisvideo.kvs_support import continuous_mkv, demux, fragment, with_unknown_sizes


def _blocks(data: bytes) -> list[tuple[int, bool]]:
    parsed = ebml.parse_stream(data)
    assert parsed.error is None, parsed.error
    scale_ms = parsed.clusters[0].header.timecode_scale_ns / 1_000_000
    return [
        (round((cluster.timecode + block.relative_timecode) * scale_ms), block.keyframe)
        for cluster in parsed.clusters
        for block in cluster.blocks
    ]


def test_clusters_hold_exactly_the_packets_ffmpeg_reads() -> None:
    """Every frame FFmpeg demuxes is a block of some cluster, with the same time and key flag."""
    data = continuous_mkv(seconds=6, fps=10, gop=10)
    packets = demux(data)
    assert len(packets) == 60
    # the muxer's time base is 1/1000 for Matroska: pts are milliseconds
    assert _blocks(data) == packets
    clusters = ebml.parse_stream(data).clusters
    assert len(clusters) >= 2 and all(cluster.starts_with_keyframe for cluster in clusters)


def test_unknown_size_segments_and_clusters_read_the_same() -> None:
    """A live stream (Segment and Clusters of unknown size) gives the same clusters and blocks."""
    data = continuous_mkv(seconds=4)
    live = with_unknown_sizes(data)
    assert _blocks(live) == _blocks(data)
    assert demux(live) == demux(data)


def test_fragments_concatenated_are_separate_streams() -> None:
    """Several EBML headers in one body (a producer that restarts): every cluster is found."""
    body = fragment(0) + fragment(1000) + fragment(2000)
    parsed = ebml.parse_stream(body)
    assert parsed.error is None
    assert [cluster.timecode for cluster in parsed.clusters] == [0, 1000, 2000]
    assert all(cluster.header.codec_ids == ("V_MPEG4/ISO/AVC",) for cluster in parsed.clusters)
    assert [cluster.duration_ticks for cluster in parsed.clusters] == [1000, 1000, 1000]


def test_garbage_after_good_clusters_is_reported_with_its_offset() -> None:
    """Reading stops at the first broken element; the clusters before it are kept."""
    good = fragment(0)
    parsed = ebml.parse_stream(good + b"\x00\x01garbage")
    assert len(parsed.clusters) == 1
    assert parsed.error is not None and parsed.error.offset == len(good)


def test_a_truncated_cluster_is_an_error() -> None:
    """A body cut inside a cluster yields no cluster for it, and says it is truncated."""
    data = fragment(0)
    parsed = ebml.parse_stream(data[:-40])
    assert parsed.clusters == []
    assert parsed.error is not None and "truncated" in parsed.error.reason


def test_not_matroska_is_refused() -> None:
    """Bytes that are not EBML are refused at offset 0."""
    parsed = ebml.parse_stream(b"RIFF....WEBPVP8 ")
    assert parsed.clusters == [] and parsed.error is not None and parsed.error.offset == 0


def test_tags_written_before_a_cluster_are_read_back_and_playable() -> None:
    """A chunk rebuilt as header + Tags + Cluster keeps its tags and still demuxes."""
    cluster = ebml.parse_stream(fragment(3000)).clusters[0]
    chunk = (
        cluster.header.segment_prefix()
        + ebml.tags_element([("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "42")])
        + cluster.raw
    )
    assert ebml.read_tags(chunk) == [{"AWS_KINESISVIDEO_FRAGMENT_NUMBER": "42"}]
    assert [pts for pts, _ in demux(chunk)] == [3000, 3200, 3400, 3600, 3800]
    assert len(ebml.split_chunks(chunk + chunk)) == 2
