"""Throttling of HTTP API stages: the limits a route gets and the token buckets.

The buckets are driven by a fake clock (no sleeping, no wall time). The 429 through the
data plane is checked in ``tests/edge/test_throttling.py``.
"""

from __future__ import annotations

from emulation.apigatewayv2.throttling import (
    ACCOUNT_BURST_LIMIT,
    ACCOUNT_RATE_LIMIT,
    Limits,
    StageThrottle,
    route_limits,
)

WHERE = ("123456789012", "us-west-2", "api1", "prod")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _admitted(throttle: StageThrottle, count: int, limits: Limits, route: str = "POST /auth") -> int:
    return sum(throttle.admit(WHERE, route, limits) for _ in range(count))


def test_unset_limits_are_the_accounts() -> None:
    """A stage without throttling settings gets AWS's account limits (10,000/s, 5,000)."""
    assert route_limits({"detailedMetricsEnabled": True}, None) == Limits(
        ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT
    )
    assert (ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT) == (10_000, 5_000)


def test_route_settings_override_the_stage_defaults_field_by_field() -> None:
    """A route's own burst wins; its rate falls back to the stage's default."""
    defaults = {"throttlingRateLimit": 50.0, "throttlingBurstLimit": 100}
    assert route_limits(defaults, {"throttlingBurstLimit": 3}) == Limits(50.0, 3)


def test_limits_above_the_account_are_capped() -> None:
    """Stage limits above the account's are cut down to them, as in AWS."""
    assert route_limits({"throttlingRateLimit": 1e9, "throttlingBurstLimit": 10**9}, None) == Limits(
        10_000, 5_000
    )


def test_bucket_admits_its_burst_then_the_rate() -> None:
    """A full bucket of 5 admits 5; two seconds at 1/s later, 2 more, then none."""
    clock = FakeClock()
    throttle = StageThrottle(clock)
    limits = Limits(rate=1.0, burst=5)
    assert _admitted(throttle, 8, limits) == 5
    clock.now += 2
    assert _admitted(throttle, 8, limits) == 2


def test_a_quiet_bucket_never_holds_more_than_its_burst() -> None:
    """An hour without requests refills the bucket to its burst, not beyond."""
    clock = FakeClock()
    throttle = StageThrottle(clock)
    limits = Limits(rate=10.0, burst=4)
    _admitted(throttle, 4, limits)
    clock.now += 3600
    assert _admitted(throttle, 100, limits) == 4


def test_routes_have_buckets_of_their_own() -> None:
    """Emptying POST /auth's bucket leaves the JWKS route's untouched."""
    throttle = StageThrottle(FakeClock())
    limits = Limits(rate=0.0, burst=2)
    assert _admitted(throttle, 5, limits) == 2
    assert _admitted(throttle, 5, limits, route="GET /.well-known/jwks.json") == 2


def test_the_account_bucket_is_shared_by_every_route() -> None:
    """Routes with generous limits still stop at the account's burst of 5,000 together."""
    throttle = StageThrottle(FakeClock())
    generous = Limits(rate=10_000.0, burst=5_000)
    assert _admitted(throttle, 3_000, generous, route="GET /a") == 3_000
    assert _admitted(throttle, 3_000, generous, route="GET /b") == 2_000


def test_a_lowered_burst_drops_the_tokens_above_it() -> None:
    """After UpdateStage lowers the burst from 10 to 2, at most 2 requests get through."""
    throttle = StageThrottle(FakeClock())
    assert _admitted(throttle, 1, Limits(0.0, 10)) == 1
    assert _admitted(throttle, 10, Limits(0.0, 2)) == 2


def test_reset_refills_every_bucket() -> None:
    """The engine's reset gives every route a full bucket again."""
    throttle = StageThrottle(FakeClock())
    limits = Limits(rate=0.0, burst=1)
    _admitted(throttle, 1, limits)
    throttle.reset()
    assert _admitted(throttle, 3, limits) == 1
