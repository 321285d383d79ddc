"""Retries, backoff and credentials as a producer's report shows them (fake Kinesis)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from nexuskit.aws import AwsTarget
from nexuskit.producers import ProduceOptions, Producer, Progress
from nexuskit.producers.credentials import BearerCredentials
from nexuskit.producers.runs import RunStore, from_ranges
from nexuskit.producers.sender import Backoff
from tests.producers.support import REGION, FakeKinesis, platform


def test_backoff_is_full_jitter_and_capped() -> None:
    """Delays are uniform in [0, min(cap, base * 2**attempt)]: spread out, never above the cap."""
    backoff = Backoff(base=0.05, cap=1.0)
    rng = random.Random(1)
    for attempt in range(1, 12):
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        ceiling = min(1.0, 0.05 * 2**attempt)
        assert min(delays) >= 0.0 and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8  # the whole range is used (not a fixed delay)


def test_throttled_entries_are_retried_until_accepted() -> None:
    """Faster than the limit: entries are throttled, retried, and every record gets through."""
    fake = FakeKinesis(limit_per_s=400)
    options = ProduceOptions(rate=1500, count=900, seed=3, backoff=Backoff(0.02, 0.3))
    report = Producer(options, platform(), "s", client_factory=lambda _t: fake).run()
    assert report.throttled > 0
    assert report.retried >= report.throttled
    assert (report.sent, report.failed) == (900, 0)
    assert len(fake.accepted) == 900


def test_records_still_refused_after_max_attempts_are_reported_failed() -> None:
    """A stream that never accepts: every record is failed after max_attempts, by sequence number."""
    fake = FakeKinesis(always="ProvisionedThroughputExceededException")
    options = ProduceOptions(rate=None, count=30, seed=4, max_attempts=3, backoff=Backoff(0.001, 0.002))
    report = Producer(options, platform(), "s", client_factory=lambda _t: fake).run()
    assert (report.sent, report.failed) == (0, 30)
    assert sorted(from_ranges(report.failed_seqs)) == list(range(30))
    assert report.retried == 60  # two retries of each record


def test_access_denied_stops_the_run_with_the_reason() -> None:
    """A refused call is not retried: the run stops early and says why."""
    fake = FakeKinesis(deny="AccessDeniedException")
    options = ProduceOptions(rate=None, count=5000, seed=5, batch_size=100)
    report = Producer(options, platform(), "nexus-dev-intake", client_factory=lambda _t: fake).run()
    assert report.status == "failed"
    assert report.error is not None and "AccessDeniedException" in report.error
    assert report.made < 5000 and report.sent == 0


class _Tokens:
    """A token service: every token's credentials expire 900 s after the clock's now."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.issued = 0

    def __call__(self, url: str, user: str, ttl: int | None, meta: Any) -> dict[str, Any]:
        self.issued += 1
        from datetime import UTC, datetime

        expires = datetime.fromtimestamp(self.clock[0] + 900, UTC).isoformat().replace("+00:00", "Z")
        return {
            "token": "jwt",
            "expires_at": expires,
            "credentials": {
                "AccessKeyId": f"ASIA{self.issued:016d}",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": expires,
            },
            "streams": {"data_stream": {"name": "nexus-dev-client-intake", "arn": "arn"}},
        }


def test_bearer_credentials_refresh_ahead_of_expiry() -> None:
    """A token is used until refresh_margin before it expires, then a new one is issued."""
    now = [1_000_000.0]
    tokens = _Tokens(now)
    base = AwsTarget(REGION, "", "", endpoint_url="http://127.0.0.1:9")
    creds = BearerCredentials("http://auth", base, refresh_margin=60, clock=lambda: now[0], issue=tokens)
    first = creds.target()
    now[0] += 800
    assert creds.target() is first and tokens.issued == 1
    now[0] += 50  # 50 s before expiry: inside the margin
    second = creds.target()
    assert second is not first and second.access_key_id == "ASIA0000000000000002"
    assert creds.refreshes == 1
    assert creds.stream("data_stream") == "nexus-dev-client-intake"


def test_bearer_credentials_refresh_when_refused_as_expired() -> None:
    """An expired-token refusal makes the next call use a new token (once, across threads)."""
    now = [0.0]
    tokens = _Tokens(now)
    base = AwsTarget(REGION, "", "", endpoint_url="http://127.0.0.1:9")
    creds = BearerCredentials("http://auth", base, refresh_margin=60, clock=lambda: now[0], issue=tokens)
    used = creds.target()
    creds.expired(used)
    creds.expired(used)  # a second thread reporting the same credentials
    assert tokens.issued == 2
    assert creds.target() is not used


@pytest.mark.parametrize("code", ["ExpiredTokenException", "ExpiredToken"])
def test_a_producer_recovers_from_expired_credentials(code: str) -> None:
    """PutRecords refused as expired: the producer refreshes and the records still go out."""
    now = [0.0]
    tokens = _Tokens(now)
    base = AwsTarget(REGION, "", "", endpoint_url="http://127.0.0.1:9")
    creds = BearerCredentials("http://auth", base, refresh_margin=60, clock=lambda: now[0], issue=tokens)
    fake = FakeKinesis()
    expired_key = creds.target().access_key_id

    class Expiring:
        def __init__(self, target: AwsTarget) -> None:
            self.target = target

        def put_records(self, **kwargs: Any) -> dict[str, Any]:
            if self.target.access_key_id == expired_key:
                FakeKinesis(deny=code).put_records(**kwargs)
            return fake.put_records(**kwargs)

    report = Producer(ProduceOptions(rate=None, count=40, seed=6), creds, "s", client_factory=Expiring).run()
    assert (report.sent, report.failed) == (40, 0)
    assert report.credentials["refreshes"] >= 1 and report.credentials["expired_refusals"] >= 1


def test_an_interrupted_run_still_sends_what_it_made(tmp_path: Path) -> None:
    """Ctrl-C stops making records; the ones already made are sent, and the run record says so."""
    fake = FakeKinesis()
    calls = []

    def interrupt_once(progress: Progress) -> None:
        calls.append(progress)
        if len(calls) == 2:
            raise KeyboardInterrupt

    runs = RunStore(tmp_path)
    options = ProduceOptions(rate=1000, count=5000, seed=9)
    producer = Producer(
        options, platform(), "s", runs=runs, on_progress=interrupt_once, client_factory=lambda _t: fake
    )
    report = producer.run()
    assert report.status == "interrupted"
    assert 0 < report.made < 5000
    assert (report.sent, report.failed) == (report.made, 0) and len(fake.accepted) == report.made
    assert runs.read(report.run_id)["status"] == "interrupted"
