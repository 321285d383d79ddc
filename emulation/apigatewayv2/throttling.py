"""Throttling of an HTTP API stage, as API Gateway applies it: token buckets.

Each route of a stage has a bucket of ``ThrottlingBurstLimit`` tokens, refilled at
``ThrottlingRateLimit`` tokens per second; a request takes one token or, when the bucket
is empty, is answered 429 ``{"message":"Too Many Requests"}`` without reaching the
integration. The limits of a route come from the stage's ``RouteSettings`` for its route
key, else its ``DefaultRouteSettings``, else the account's; the account's limits
(10,000 requests per second, a burst of 5,000, per region) cap them all and are a bucket
of their own that every routed request of the account and region draws from too.

A bucket starts full, so a quiet API accepts a burst at once; its limits follow
``UpdateStage`` at the next request (tokens above a lowered burst are dropped). Buckets
live in memory: an engine restart or reset refills them, as a redeployment does in AWS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: AWS's account-level throttle of API Gateway, per region (requests per second, burst)
ACCOUNT_RATE_LIMIT = 10_000.0
ACCOUNT_BURST_LIMIT = 5_000


@dataclass(frozen=True)
class Limits:
    """Steady requests per second, and the bucket's size."""

    rate: float
    burst: int


def _number(settings: dict[str, Any], key: str) -> float | None:
    value = settings.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def route_limits(default_settings: dict[str, Any], route_settings: dict[str, Any] | None) -> Limits:
    """The limits of one route: its own settings, else the stage's defaults, else the
    account's; never above the account's (stage settings use the API's camelCase keys)."""
    rate: float | None = None
    burst: float | None = None
    for settings in (route_settings or {}, default_settings):
        rate = _number(settings, "throttlingRateLimit") if rate is None else rate
        burst = _number(settings, "throttlingBurstLimit") if burst is None else burst
    return Limits(
        rate=min(ACCOUNT_RATE_LIMIT, max(0.0, ACCOUNT_RATE_LIMIT if rate is None else rate)),
        burst=int(min(ACCOUNT_BURST_LIMIT, max(0.0, ACCOUNT_BURST_LIMIT if burst is None else burst))),
    )


class TokenBucket:
    """``burst`` tokens at most, ``rate`` more each second; not thread-safe on its own."""

    def __init__(self, limits: Limits, now: float) -> None:
        self.limits = limits
        self.tokens = float(limits.burst)
        self.stamp = now

    def refill(self, limits: Limits, now: float) -> None:
        elapsed = max(0.0, now - self.stamp)
        self.stamp = now
        self.limits = limits
        self.tokens = min(float(limits.burst), self.tokens + elapsed * limits.rate)

    @property
    def full(self) -> bool:
        return self.tokens >= self.limits.burst


class StageThrottle:
    """Buckets per (account, region, API, stage, route key) and per (account, region)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, ...], TokenBucket] = {}
        self._accounts: dict[tuple[str, str], TokenBucket] = {}

    def admit(self, where: tuple[str, str, str, str], route_key: str, limits: Limits) -> bool:
        """Take a token for one request to ``route_key`` of the stage ``where``
        (account, region, API id, stage); False when the route or the account is out."""
        account_limits = Limits(ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT)
        now = self._clock()
        with self._lock:
            route = self._bucket(self._routes, (*where, route_key), limits, now)
            account = self._bucket(self._accounts, where[:2], account_limits, now)
            if route.tokens < 1 or account.tokens < 1:
                return False
            route.tokens -= 1
            account.tokens -= 1
            self._forget_full(now)
            return True

    @staticmethod
    def _bucket(buckets: dict[Any, TokenBucket], key: Any, limits: Limits, now: float) -> TokenBucket:
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = TokenBucket(limits, now)
        else:
            bucket.refill(limits, now)
        return bucket

    def _forget_full(self, now: float) -> None:
        """Drop refilled buckets now and then, so routes of deleted APIs do not pile up."""
        if len(self._routes) < 1024:
            return
        for key, bucket in list(self._routes.items()):
            bucket.refill(bucket.limits, now)
            if bucket.full:
                del self._routes[key]

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self._accounts.clear()
