"""Who a producer is: the platform identity, or bearer credentials it refreshes itself.

A client producer holds what a real one holds: the bearer payload from ``POST /auth`` on
the HTTP API (:func:`nexuskit.edge.tokens.issue_token`), whose temporary credentials
expire with the token. :class:`BearerCredentials` asks for a new token ``refresh_margin``
seconds before the current one expires (refresh ahead), and at once when a call is
refused with an expired-token error (refresh on demand).

The token service clamps lifetimes to 15-60 minutes. Tests that need several refreshes
in seconds inject the two things a clock-bound component needs: the ``clock`` (the
engine's IAM enforcement can be started ``NEXUSKIT_CLOCK_SKEW_SECONDS`` ahead, so
credentials really expire seconds after issue; the producer is given the same skewed
clock) and the ``refresh_margin``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from nexuskit.aws import AwsTarget
from nexuskit.edge.tokens import issue_token
from nexuskit.producers.errors import ProducerError

log = logging.getLogger(__name__)

DEFAULT_REFRESH_MARGIN_S = 300.0
#: error codes that mean "these credentials are no longer good"
EXPIRED_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "TokenRefreshRequired",
    }
)


class CredentialSource(Protocol):
    """The identity to call AWS with, current at the moment of asking."""

    channel: str

    def target(self) -> AwsTarget:
        """The current identity (refreshed first when it is about to expire)."""
        ...

    def expired(self, used: AwsTarget) -> None:
        """A call made with ``used`` was refused as expired: refresh before the next call."""
        ...

    def describe(self) -> dict[str, Any]: ...


class PlatformCredentials:
    """The platform (admin) identity of an internal producer: it does not expire."""

    channel = "internal"

    def __init__(self, target: AwsTarget) -> None:
        self._target = target

    def target(self) -> AwsTarget:
        return self._target

    def expired(self, used: AwsTarget) -> None:
        raise ProducerError("the platform identity was refused as expired", "restart the stack")

    def describe(self) -> dict[str, Any]:
        return {"identity": "platform", "refreshes": 0}


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class BearerCredentials:
    """Bearer credentials from the token service, refreshed ahead of expiry."""

    channel = "client"

    def __init__(
        self,
        auth_url: str,
        base: AwsTarget,
        *,
        user: str = "nexuskit-producer",
        ttl_minutes: int | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN_S,
        clock: Callable[[], float] = time.time,
        issue: Callable[..., dict[str, Any]] = issue_token,
    ) -> None:
        self.auth_url = auth_url
        self.base = base
        self.user = user
        self.ttl_minutes = ttl_minutes
        self.refresh_margin = refresh_margin
        self.clock = clock
        self._issue = issue
        self._lock = threading.Lock()
        self._target: AwsTarget | None = None
        self.payload: dict[str, Any] = {}
        self.expires_at = 0.0
        self.refreshes = 0  # tokens issued after the first
        self.expired_refusals = 0
        self.access_keys: list[str] = []

    def _refresh(self) -> AwsTarget:
        payload = self._issue(self.auth_url, self.user, self.ttl_minutes, {"purpose": "nexuskit produce"})
        credentials = payload.get("credentials") or {}
        try:
            target = self.base.with_credentials(
                credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
            )
            expires_at = _epoch(str(credentials.get("Expiration") or payload["expires_at"]))
        except (KeyError, ValueError) as exc:
            raise ProducerError(
                f"the auth service answered a payload without usable credentials ({exc})"
            ) from None
        if self._target is not None:
            self.refreshes += 1
            log.info("refreshed bearer credentials (%d so far)", self.refreshes)
        self.payload = payload
        self.expires_at = expires_at
        self.access_keys.append(target.access_key_id)
        self._target = target
        return target

    def target(self) -> AwsTarget:
        with self._lock:
            if self._target is None or self.clock() >= self.expires_at - self.refresh_margin:
                return self._refresh()
            return self._target

    def expired(self, used: AwsTarget) -> None:
        with self._lock:
            self.expired_refusals += 1
            if self._target is used:  # another thread may have refreshed already
                self._refresh()

    def stream(self, key: str) -> str | None:
        """A stream name from the token's payload (``data_stream``, ``video_stream``...)."""
        if not self.payload:
            self.target()
        entry = (self.payload.get("streams") or {}).get(key)
        return str(entry["name"]) if isinstance(entry, dict) and entry.get("name") else None

    def describe(self) -> dict[str, Any]:
        return {
            "identity": "bearer",
            "user": self.user,
            "refreshes": self.refreshes,
            "expired_refusals": self.expired_refusals,
            "expires_at": self.payload.get("expires_at"),
        }
