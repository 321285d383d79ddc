"""``produce``, ``put_video`` and ``wait_for delivery``, through :mod:`nexuskit.producers`.

Without ``as`` a producer is made exactly as ``nexuskit produce`` makes it: a client gets
its own bearer token over the HTTP API (refreshed before it expires), an internal one
uses the platform identity. With ``as`` (a token step, a role, credentials) it uses that
identity as is. ``wait_for: {delivery: {run_id}}`` is the producers' delivery proof (the
run's ids, found in bronze: delivered, missing, duplicated).

A producer failure is a :class:`CallError` whose code is the producer error's class
(``ProducerError``, ``VideoError``) and which also matches the AWS error codes its
message names (so ``expect_denied: {error: AccessDeniedException, put_video: ...}`` works).
"""

from __future__ import annotations

import re
from typing import Any

from nexuskit.errors import NexuskitError
from nexuskit.scenarios.model import DeliveryWait, ProduceCall, ProduceStep, PutVideoCall, PutVideoStep
from nexuskit.scenarios.results import CallError, StepFailedError
from nexuskit.scenarios.steps.base import StepContext, StepReturn
from nexuskit.scenarios.steps.pending import require

_AWS_CODE = re.compile(r"\b([A-Z][A-Za-z]*(?:Exception|Denied|Expired|Token|Throttled))\b")


def producer_error(exc: NexuskitError, call: str) -> CallError:
    codes = tuple(dict.fromkeys(_AWS_CODE.findall(exc.message)))
    return CallError(type(exc).__name__, exc.message, call=call, aliases=codes)


def _credentials(ctx: StepContext, who: str | dict[str, Any] | None) -> Any:
    from nexuskit.producers.credentials import PlatformCredentials

    _, target = ctx.identity(who)
    return PlatformCredentials(target)


def produce_call(ctx: StepContext, call: ProduceCall) -> dict[str, Any]:
    require("produce", "producers")
    from nexuskit.producers import ProduceOptions, Producer, producer_for_stack
    from nexuskit.producers.runs import RunStore
    from nexuskit.producers.stack import channel_of, stream_name

    settings = ctx.stack.engine_settings()
    options = ProduceOptions(
        template=call.template,
        rate=call.rate,
        mode=call.mode or "constant",
        count=int(call.count) if call.count is not None else None,
        duration=float(call.duration) if call.duration is not None else None,
        seed=int(call.seed) if call.seed is not None else None,
        anomaly_rate=call.anomaly_rate or 0.0,
        partition_key=call.partition_key or "random",
    )
    label = f"produce {call.template} ({call.channel or 'client'})"
    try:
        if call.as_ is None:
            producer = producer_for_stack(
                settings,
                options,
                channel=call.channel,
                stream=call.stream,
                user=call.user or f"scenario-{ctx.loaded.name}"[:60],
                ttl_minutes=int(call.ttl_minutes) if call.ttl_minutes is not None else None,
            )
        else:
            spec = ctx.stack.spec
            channel = channel_of(call.channel, call.stream)
            default = spec.client_stream if channel == "client" else spec.primary_stream
            name = stream_name(spec, call.stream) if call.stream else default
            producer = Producer(
                options, _credentials(ctx, call.as_), name, runs=RunStore(ctx.stack.state_dir)
            )
        report = producer.run()
    except NexuskitError as exc:
        raise producer_error(exc, label) from None
    result: dict[str, Any] = report.as_dict()
    if report.failed and report.error:
        raise CallError(
            "ProducerError",
            f"{report.failed} of {report.planned} records failed: {report.error}",
            call=label,
            aliases=tuple(dict.fromkeys(_AWS_CODE.findall(report.error))),
        )
    ctx.remember(report.run_id, f"{ctx.step_key}.run_id")
    return result


def run_produce(ctx: StepContext, step: ProduceStep) -> StepReturn:
    try:
        result = produce_call(ctx, step.produce)
    except CallError as exc:
        raise StepFailedError(f"{exc.call}: {exc.code}: {exc.detail}") from None
    summary = (
        f"run {result['run_id']}: sent {result['sent']} of {result['planned']} to {result['stream']} "
        f"({result['throttled']} throttled, {result['failed']} failed, {result['achieved_rate']}/s)"
    )
    return StepReturn(result, summary)


def put_video_call(ctx: StepContext, call: PutVideoCall) -> dict[str, Any]:
    require("put_video", "producers")
    require("put_video", "kinesisvideo")
    from nexuskit.producers import video_for_stack
    from nexuskit.producers.stack import stream_name
    from nexuskit.producers.video.producer import VideoOptions, VideoProducer

    options = VideoOptions(
        fps=call.fps,
        duration=float(call.duration) if call.fragments is None else None,
        fragments=int(call.fragments) if call.fragments is not None else None,
        realtime=call.realtime,
    )
    label = f"put video to {call.stream}"
    try:
        if call.as_ is None:
            report = video_for_stack(
                ctx.stack.engine_settings(),
                options,
                channel=call.channel,
                stream=call.stream,
                user=call.user or "scenario-camera",
            )
        else:
            name = stream_name(ctx.stack.spec, call.stream)
            report = VideoProducer(options, _credentials(ctx, call.as_), name).run()
    except NexuskitError as exc:
        raise producer_error(exc, label) from None
    result: dict[str, Any] = report.as_dict()
    return result


def run_put_video(ctx: StepContext, step: PutVideoStep) -> StepReturn:
    try:
        result = put_video_call(ctx, step.put_video)
    except CallError as exc:
        raise StepFailedError(f"{exc.call}: {exc.code}: {exc.detail}") from None
    summary = (
        f"{result['fragments_persisted']} of {result['fragments_sent']} fragments persisted "
        f"({result['frames']} frames, {result['bytes_sent']} bytes) to {result['stream']}"
    )
    return StepReturn(result, summary)


def wait_delivery(ctx: StepContext, spec: DeliveryWait, timeout: float) -> StepReturn:
    require("wait_for delivery", "producers")
    from nexuskit.producers import verify_for_stack

    try:
        report = verify_for_stack(ctx.stack.engine_settings(), spec.run_id, wait=timeout)
    except NexuskitError as exc:
        raise StepFailedError(f"delivery proof of {spec.run_id}: {exc.message}", hint=exc.hint) from None
    result: dict[str, Any] = report.as_dict()
    if report.missing:
        raise StepFailedError(
            f"waited {report.waited_s:.1f} s: {report.delivered} of {report.sent} records of run "
            f"{spec.run_id} reached bronze ({report.missing} missing)",
            expected={"delivered": report.sent, "missing": 0},
            actual={k: result[k] for k in ("sent", "delivered", "missing", "duplicated", "missing_sample")},
        )
    summary = (
        f"{report.delivered} of {report.sent} delivered, {report.missing} missing, "
        f"{report.duplicated} duplicated ({report.objects_read} objects read)"
    )
    return StepReturn(result, summary)
