"""With IAM enforced: bearer credentials are refreshed before they expire, and stay on client streams.

The engine runs with ``--iam enforce`` and ``NEXUSKIT_CLOCK_SKEW_SECONDS`` (its IAM judges
credential expiry that far ahead of real time), so a 15-minute token's credentials expire
for the engine ``TTL - SKEW`` seconds after they are issued. The producer is given the same
skewed clock and a refresh margin, so it refreshes a few times during a run of seconds:
the credentials really expire underneath it, and the run must not notice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from nexuskit.config import KitSettings
from nexuskit.producers import (
    ProduceOptions,
    VideoError,
    producer_for_stack,
    verify_for_stack,
    video_for_stack,
)
from nexuskit.producers.credentials import BearerCredentials
from nexuskit.producers.stack import credentials_for_stack
from nexuskit.producers.video import VideoOptions
from nexuskit.producers.video.putmedia import PutMediaClient
from tests.edge.conftest import EdgeStack, deploy_on
from tests.emulation.kinesisvideo.kvs_support import fragment
from tests.helpers import EngineProcess

pytestmark = [pytest.mark.slow]

TTL_S = 15 * 60  # the token service's minimum lifetime
SKEW_S = TTL_S - 8  # credentials expire 8 s after issue, as the engine sees it
REFRESH_MARGIN_S = 5.0  # so the producer refreshes about every 3 s


def _skewed() -> float:
    return time.time() + SKEW_S


@dataclass
class Enforced:
    edge: EdgeStack
    settings: KitSettings


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Enforced]:
    state = tmp_path_factory.mktemp("enforced")
    os.environ["NEXUSKIT_CLOCK_SKEW_SECONDS"] = str(SKEW_S)
    try:
        engine = EngineProcess(state, "--iam", "enforce").start()
    finally:
        del os.environ["NEXUSKIT_CLOCK_SKEW_SECONDS"]
    try:
        health = engine.health() or {}
        if (health.get("extensions") or {}).get("iam", {}).get("mode") != "enforce":
            pytest.skip("the engine has no IAM enforcement running")
        yield Enforced(deploy_on(engine), KitSettings(port=engine.port, state_dir=state))
    finally:
        engine.stop()


def _denials(enforced: Enforced) -> int:
    health = enforced.edge.engine.health() or {}
    return int(health["extensions"]["iam"]["denied"])


def test_a_run_longer_than_the_credentials_refreshes_them(enforced: Enforced) -> None:
    """A 10 s run on 8 s credentials: new tokens ahead of expiry, nothing refused, all delivered."""
    denied_before = _denials(enforced)
    producer = producer_for_stack(
        enforced.settings,
        ProduceOptions(rate=150, duration=10, seed=8),
        channel="client",
        ttl_minutes=15,
        refresh_margin=REFRESH_MARGIN_S,
        clock=_skewed,
    )
    credentials = producer.credentials
    assert isinstance(credentials, BearerCredentials)
    report = producer.run()
    assert (report.sent, report.failed) == (1500, 0)
    assert report.credentials["refreshes"] >= 2
    assert report.credentials["expired_refusals"] == 0  # refreshed ahead, never refused
    assert len(set(credentials.access_keys)) == report.credentials["refreshes"] + 1
    assert _denials(enforced) == denied_before
    proof = verify_for_stack(enforced.settings, report.run_id, wait=30)
    assert (proof.delivered, proof.missing, proof.duplicated) == (1500, 0, 0)


def test_bearer_credentials_put_video_on_the_client_stream(enforced: Enforced) -> None:
    """PutMedia with the token's credentials on ${prefix}-client-telemetry is persisted."""
    options = VideoOptions(fps=5, fragments=2, realtime=False)
    report = video_for_stack(enforced.settings, options, channel="client", stream="client-telemetry")
    assert report.fragments_persisted == 2
    assert report.credentials["identity"] == "bearer"


def test_bearer_credentials_are_denied_on_the_internal_video_stream(enforced: Enforced) -> None:
    """GetDataEndpoint and PutMedia on ${prefix}-telemetry are refused (401, as Kinesis Video does)."""
    options = VideoOptions(fps=5, fragments=1, realtime=False)
    with pytest.raises(VideoError, match=r"GetDataEndpoint .* refused: AccessDeniedException"):
        video_for_stack(enforced.settings, options, channel="client", stream="telemetry")
    bearer = credentials_for_stack(enforced.settings, "client", ttl_minutes=15)
    endpoint = enforced.edge.engine.endpoint  # skip GetDataEndpoint: PutMedia itself must refuse
    client = PutMediaClient(bearer, enforced.edge.spec.telemetry_video_stream, endpoint)
    with pytest.raises(VideoError, match=r"\(401 AccessDeniedException\).*kinesisvideo:PutMedia"):
        client.put(fragment(0), time.time())
