"""Producers against a local stack: channels, stream names, run records, bronze.

* ``client``: a bearer token from the stack's token service, through the HTTP API
  (:func:`nexuskit.edge.tokens.stack_urls`), refreshed before it expires; the data stream
  (or video stream) is the one the token names, unless ``stream`` says otherwise.
* ``internal``: the platform identity (:meth:`nexuskit.engine.EmbeddedEngine.target`);
  streams ``${prefix}-intake`` and ``${prefix}-telemetry`` by default.

Stream names may be given short (``client-intake``, ``intake``, ``client-telemetry``,
``telemetry``): the stack's prefix is added.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.engine import EmbeddedEngine
from nexuskit.params import StackSpec
from nexuskit.producers.credentials import (
    DEFAULT_REFRESH_MARGIN_S,
    BearerCredentials,
    CredentialSource,
    PlatformCredentials,
)
from nexuskit.producers.errors import ProducerError
from nexuskit.producers.producer import ProduceOptions, Producer, ProduceReport, Progress
from nexuskit.producers.runs import RunStore
from nexuskit.producers.verify import VerifyReport, verify_run

if TYPE_CHECKING:
    from nexuskit.producers.video import VideoOptions, VideoProgress, VideoReport

Channel = Literal["client", "internal"]
CHANNELS: tuple[Channel, ...] = ("client", "internal")
_SHORT_NAMES = ("client-intake", "intake", "client-telemetry", "telemetry")


def stream_name(spec: StackSpec, name: str) -> str:
    """``client-telemetry`` -> ``nexus-dev-client-telemetry``; full names unchanged."""
    return f"{spec.prefix}-{name}" if name in _SHORT_NAMES else name


def channel_of(channel: str | None, stream: str | None) -> Channel:
    """The channel asked for, or the one the stream's name implies (client by default)."""
    if channel is not None:
        if channel not in CHANNELS:
            raise ProducerError(f"channel {channel!r} is not client or internal")
        return "client" if channel == "client" else "internal"
    if stream is not None and "client" not in stream:
        return "internal"
    return "client"


def _engine(settings: KitSettings) -> EmbeddedEngine:
    engine = EmbeddedEngine(settings)
    if engine.health() is None:
        raise ProducerError(
            f"no engine answers on {engine.endpoint}", "start the stack with `nexuskit up --local`"
        )
    return engine


def credentials_for_stack(
    settings: KitSettings,
    channel: Channel,
    *,
    user: str = "nexuskit-producer",
    ttl_minutes: int | None = None,
    refresh_margin: float = DEFAULT_REFRESH_MARGIN_S,
    clock: Callable[[], float] = time.time,
) -> CredentialSource:
    """The identity of a producer on ``channel`` (a client gets its token over HTTP)."""
    from nexuskit.edge.tokens import issue_token, stack_urls

    spec = settings.stack()
    engine = _engine(settings)
    if channel == "internal":
        return PlatformCredentials(engine.target(spec.region))
    urls = stack_urls(settings)
    base = AwsTarget(region=spec.region, access_key_id="", secret_access_key="", endpoint_url=engine.endpoint)
    # A stack whose POST /auth takes AWS_IAM authorization: the producer signs its token
    # requests as the stack's admin (on AWS, as whatever identity runs it).
    signer = engine.target(spec.region) if urls["authorization"] == "AWS_IAM" else None
    return BearerCredentials(
        urls["auth_url"],
        base,
        user=user,
        ttl_minutes=ttl_minutes,
        refresh_margin=refresh_margin,
        clock=clock,
        issue=functools.partial(issue_token, signer=signer),
    )


def _default_stream(spec: StackSpec, credentials: CredentialSource, video: bool) -> str:
    if isinstance(credentials, BearerCredentials):
        named = credentials.stream("video_stream" if video else "data_stream")
        if named:
            return named
        if video:
            raise ProducerError("the token names no video stream", "are video streams enabled in the stack?")
        return spec.client_stream
    return spec.telemetry_video_stream if video else spec.primary_stream


def producer_for_stack(
    settings: KitSettings,
    options: ProduceOptions,
    *,
    channel: str | None = None,
    stream: str | None = None,
    user: str = "nexuskit-producer",
    ttl_minutes: int | None = None,
    refresh_margin: float = DEFAULT_REFRESH_MARGIN_S,
    clock: Callable[[], float] = time.time,
    on_progress: Callable[[Progress], None] | None = None,
) -> Producer:
    spec = settings.stack()
    credentials = credentials_for_stack(
        settings,
        channel_of(channel, stream),
        user=user,
        ttl_minutes=ttl_minutes,
        refresh_margin=refresh_margin,
        clock=clock,
    )
    name = stream_name(spec, stream) if stream else _default_stream(spec, credentials, video=False)
    runs = RunStore(settings.resolved_state_dir())
    return Producer(options, credentials, name, runs=runs, on_progress=on_progress)


def produce(settings: KitSettings, options: ProduceOptions, **kwargs: Any) -> ProduceReport:
    """Produce to the local stack (see :func:`producer_for_stack` for the keywords)."""
    return producer_for_stack(settings, options, **kwargs).run()


def verify_for_stack(settings: KitSettings, run_id: str, *, wait: float = 0.0) -> VerifyReport:
    """Compare a run's record with what its records' ids in bronze say."""
    run = RunStore(settings.resolved_state_dir()).read(run_id)
    spec = settings.stack()
    engine = _engine(settings)
    s3 = engine.target(spec.region).client("s3")
    return verify_run(s3, spec.bucket("bronze"), run, wait=wait)


def list_runs(settings: KitSettings) -> list[dict[str, Any]]:
    return RunStore(settings.resolved_state_dir()).list()


def video_for_stack(
    settings: KitSettings,
    options: VideoOptions,
    *,
    channel: str | None = None,
    stream: str | None = None,
    user: str = "nexuskit-producer",
    ttl_minutes: int | None = None,
    on_progress: Callable[[VideoProgress], None] | None = None,
) -> VideoReport:
    """Film the synthetic scene into a video stream of the local stack; a VideoReport."""
    from nexuskit.producers.video import VideoProducer

    spec = settings.stack()
    credentials = credentials_for_stack(
        settings, channel_of(channel, stream), user=user, ttl_minutes=ttl_minutes
    )
    name = stream_name(spec, stream) if stream else _default_stream(spec, credentials, video=True)
    return VideoProducer(options, credentials, name, on_progress=on_progress).run()
