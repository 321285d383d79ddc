"""Kinesis Video Streams media plane for the engine (PutMedia, GetMedia, archived media).

See :mod:`emulation.kinesisvideo.extension` for what is answered here and what moto keeps,
:mod:`emulation.kinesisvideo.models` for fragments, acknowledgements and retention, and
:mod:`emulation.kinesisvideo.ebml` for the Matroska reader.
"""
