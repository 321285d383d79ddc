"""The video producer: synthetic camera frames, real MKV fragments, PutMedia.

:class:`VideoProducer` (see :mod:`.producer`) renders :mod:`.scene`, encodes with PyAV
(:mod:`.encode`) and sends with :mod:`.putmedia`. Importing this package imports PyAV
and numpy; the data producers do not need either.
"""

from __future__ import annotations

from nexuskit.producers.video.producer import VideoOptions, VideoProducer, VideoProgress, VideoReport

__all__ = ["VideoOptions", "VideoProducer", "VideoProgress", "VideoReport"]
