"""H.264 in Matroska with PyAV: one self-contained MKV per fragment.

Each fragment is a complete MKV (EBML header, Segment, Info, Tracks and one Cluster that
starts with a key frame), which is what a Kinesis Video fragment is and what a PutMedia
session may carry. Timecodes are in milliseconds relative to the producer's start (the
``RELATIVE`` timecode type), so consecutive fragments continue each other's timeline.
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import cast

import av
from av.video.stream import VideoStream

from nexuskit.producers.errors import VideoError
from nexuskit.producers.video.scene import Frame

MS = Fraction(1, 1000)


class FragmentEncoder:
    """Encodes groups of frames into one MKV fragment each."""

    def __init__(self, width: int, height: int, fps: float, codec: str = "libx264") -> None:
        if codec not in av.codecs_available:
            raise VideoError(f"this PyAV build has no {codec} encoder", "install the av wheel from PyPI")
        self.width, self.height, self.fps, self.codec = width, height, fps, codec

    def encode(self, frames: list[tuple[Frame, int]]) -> bytes:
        """``[(rgb frame, timecode in ms), ...]`` -> one MKV fragment (first frame a key frame)."""
        if not frames:
            raise VideoError("a fragment needs at least one frame")
        buffer = io.BytesIO()
        try:
            with av.open(buffer, mode="w", format="matroska") as container:
                stream = cast(
                    VideoStream,
                    container.add_stream(self.codec, rate=Fraction(self.fps).limit_denominator(1000)),
                )
                stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
                stream.time_base = MS
                stream.codec_context.time_base = MS
                stream.codec_context.gop_size = len(frames)
                stream.options = {"preset": "ultrafast", "tune": "zerolatency", "bf": "0"}
                for image, timecode in frames:
                    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                    frame.pts, frame.time_base = timecode, MS
                    for packet in stream.encode(frame):
                        container.mux(packet)
                for packet in stream.encode(None):
                    container.mux(packet)
        except (av.error.FFmpegError, ValueError) as exc:
            raise VideoError(f"encoding a fragment failed: {exc}") from None
        return buffer.getvalue()
