"""The state IAM enforcement keeps (identity cache, sessions moto does not keep, the
clock) and its access to moto's IAM and STS state; the concerns are mixed in on top
(:class:`emulation.iam.models.EnforcementBackend`)."""

from __future__ import annotations

import threading
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from emulation.core.moto_compat import existing_backends
from emulation.core.request import DEFAULT_ACCOUNT_ID
from emulation.iam.identity import Identity, UserSession


class IamState:
    """The state of IAM enforcement: identity cache, issued sessions, counters' inputs.

    Methods that read moto state must be called with the engine's state lock held shared.
    """

    def __init__(
        self,
        admin_access_key: str,
        admin_secret_key: str,
        clock_skew: float = 0.0,
        *,
        lake_formation_on_s3: bool = False,
    ) -> None:
        self.admin_access_key = admin_access_key
        self.admin_secret_key = admin_secret_key
        #: ``--lake-formation strict``: direct S3 data calls on registered locations also
        #: need a Lake Formation grant. AWS does not do this (Lake Formation governs its
        #: catalog and the credentials it vends; IAM alone decides direct S3 calls).
        self.lake_formation_on_s3 = lake_formation_on_s3
        self.clock_skew = timedelta(seconds=clock_skew)
        self.generation = 0
        self._cache: dict[str, Identity] = {}
        self._lake_cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.user_sessions: dict[str, UserSession] = {}
        #: assumed-role access key -> managed policy ARNs passed as session policies
        self.session_policy_arns: dict[str, list[str]] = {}
        #: assumed-role access key -> when it was issued (epoch seconds; aws:TokenIssueTime)
        self.session_issued_at: dict[str, float] = {}
        #: assumed-role access key -> session tags (they override the role's tags)
        self.session_tags: dict[str, dict[str, str]] = {}

    def now(self) -> datetime:
        """The clock credential expiry is judged by (real UTC + the configured skew)."""
        return datetime.now(UTC) + self.clock_skew

    def invalidate(self) -> None:
        with self._lock:
            self.generation += 1
            self._cache.clear()

    def reset(self) -> None:
        with self._lock:
            self.user_sessions.clear()
            self.session_policy_arns.clear()
            self.session_issued_at.clear()
            self.session_tags.clear()
        self.invalidate()

    # -- persistence ----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "user_sessions": {k: asdict(v) for k, v in self.user_sessions.items()},
                "session_policy_arns": dict(self.session_policy_arns),
                "session_issued_at": dict(self.session_issued_at),
                "session_tags": dict(self.session_tags),
            }

    def load_state(self, state: Any) -> None:
        if not isinstance(state, dict):
            return
        with self._lock:
            self.user_sessions = {
                key: UserSession(**value) for key, value in state.get("user_sessions", {}).items()
            }
            self.session_policy_arns = dict(state.get("session_policy_arns", {}))
            self.session_issued_at = dict(state.get("session_issued_at", {}))
            self.session_tags = dict(state.get("session_tags", {}))
        self.invalidate()

    # -- moto state -----------------------------------------------------------------------
    @staticmethod
    def _backends(service: str) -> list[tuple[str, Any]]:
        return [
            (account, backend) for account, region, backend in existing_backends(service) if region == "aws"
        ]

    @staticmethod
    def _iam(account_id: str) -> Any:
        from moto.backends import get_backend

        return get_backend("iam")[account_id]["aws"]  # type: ignore[call-overload]

    def find_role(self, role_arn: str) -> Any | None:
        parts = role_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
            return None
        name = parts[5].rsplit("/", 1)[-1]
        iam = self._iam(parts[4] or DEFAULT_ACCOUNT_ID)
        for role in list(iam.roles.values()):
            if role.name == name:
                return role
        return None
