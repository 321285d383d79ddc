"""Real MKV for the Kinesis Video tests (PyAV + libx264), and PutMedia as a producer sends it."""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

import av
import numpy as np

from emulation.kinesisvideo import ebml
from nexuskit.aws import AwsTarget
from nexuskit.producers.credentials import PlatformCredentials
from nexuskit.producers.video.encode import FragmentEncoder
from nexuskit.producers.video.putmedia import PutMediaAnswer, PutMediaClient
from nexuskit.producers.video.scene import Scene

FPS = 5
WIDTH, HEIGHT = 160, 120


def fragment(start_ms: int, frames: int = FPS, fps: int = FPS) -> bytes:
    """One MKV fragment: ``frames`` frames from ``start_ms`` (ms timecodes, first a key frame)."""
    scene = Scene(WIDTH, HEIGHT)
    step = 1000 // fps
    images = [
        (scene.render(start_ms // step + n, start_ms / 1000 + n / fps), start_ms + n * step)
        for n in range(frames)
    ]
    return FragmentEncoder(WIDTH, HEIGHT, fps).encode(images)


def continuous_mkv(seconds: int, fps: int = 10, gop: int = 10) -> bytes:
    """One muxer for the whole time (FFmpeg decides where clusters start)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "ultrafast", "bf": "0"}
        for n in range(seconds * fps):
            image = np.full((HEIGHT, WIDTH, 3), (n * 7) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = n
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def with_unknown_sizes(data: bytes) -> bytes:
    """The same stream as a live muxer writes it: Segment and Clusters of unknown size."""
    parsed = ebml.parse_stream(data)
    assert parsed.error is None
    header = parsed.clusters[0].header
    out = [header.segment_prefix()]
    for cluster in parsed.clusters:
        _, _, data_start = ebml.read_header(cluster.raw, 0)
        out.append(ebml.encode_id(ebml.CLUSTER) + ebml.UNKNOWN_SIZE + cluster.raw[data_start:])
    return b"".join(out)


def demux(data: bytes) -> list[tuple[int, bool]]:
    """(pts, key frame) of every video packet, as FFmpeg's demuxer reads them."""
    with av.open(io.BytesIO(data), mode="r") as container:
        return [(int(p.pts or 0), bool(p.is_keyframe)) for p in container.demux(video=0) if p.size]


def decoded_frames(data: bytes) -> int:
    with av.open(io.BytesIO(data), mode="r") as container:
        return len(list(container.decode(video=0)))


def put_media(target: AwsTarget, stream: str, body: bytes, start: float) -> PutMediaAnswer:
    """PutMedia as the given identity, straight to the engine (its own data endpoint)."""
    assert target.endpoint_url is not None
    return PutMediaClient(PlatformCredentials(target), stream, target.endpoint_url).put(body, start)


def acks_by_type(acks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for ack in acks:
        grouped.setdefault(str(ack["EventType"]), []).append(ack)
    return grouped
