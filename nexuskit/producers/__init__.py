"""Synthetic producers: records for the data streams, MKV for the video streams.

The library behind ``nexuskit produce`` (the CLI only parses and renders)::

    from nexuskit.producers import ProduceOptions, produce, verify_for_stack

    report = produce(settings, ProduceOptions(template="telemetry", rate=500, count=5000),
                     channel="client")
    proof = verify_for_stack(settings, report.run_id, wait=30)
    assert proof.exactly_once

Modules: :mod:`.rate` (schedules), :mod:`.templates` (built-in and YAML templates),
:mod:`.records` (envelope, ids, partition keys), :mod:`.anomalies`, :mod:`.credentials`
(platform and refreshed bearer identities), :mod:`.sender` (PutRecords with retries),
:mod:`.producer` (a run), :mod:`.runs` (run records), :mod:`.verify` (delivery proof),
:mod:`.stack` (local stack glue) and :mod:`.video` (PyAV + PutMedia).
"""

from __future__ import annotations

from nexuskit.producers.errors import ProducerError, RunNotFoundError, TemplateError, VideoError
from nexuskit.producers.producer import ProduceOptions, Producer, ProduceReport, Progress, dry_run
from nexuskit.producers.rate import MODES, parse_duration, parse_rate
from nexuskit.producers.stack import (
    CHANNELS,
    channel_of,
    list_runs,
    produce,
    producer_for_stack,
    stream_name,
    verify_for_stack,
    video_for_stack,
)
from nexuskit.producers.templates import list_templates
from nexuskit.producers.verify import VerifyReport

__all__ = [
    "CHANNELS",
    "MODES",
    "ProduceOptions",
    "ProduceReport",
    "Producer",
    "ProducerError",
    "Progress",
    "RunNotFoundError",
    "TemplateError",
    "VerifyReport",
    "VideoError",
    "channel_of",
    "dry_run",
    "list_runs",
    "list_templates",
    "parse_duration",
    "parse_rate",
    "produce",
    "producer_for_stack",
    "stream_name",
    "verify_for_stack",
    "video_for_stack",
]
