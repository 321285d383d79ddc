"""Resource-scoped IAM enforcement in front of moto (``--iam enforce|log|off``).

Every request is authenticated (SigV4 header or presigned query, see :mod:`sigv4`) and
authorized (see :mod:`models` and :mod:`actions`) before any other extension or moto
sees it. ``enforce`` answers refusals as the service would; ``log`` lets everything
through. Both count refusals for ``/_nexus/health`` and append one JSON line per refusal
to ``<state_dir>/logs/iam-denials.jsonl`` (``"outcome": "denied"`` or ``"would-deny"``).

Unsigned requests are refused except CORS preflights (answered by the engine from the
bucket's CORS configuration, see :mod:`emulation.core.cors`), API invocations
(execute-api; the API's own authorizer decides), the operations AWS itself serves
unsigned (AssumeRoleWithWebIdentity/SAML, Cognito sign-in) and anonymous S3 requests a
bucket policy allows. (``/_nexus`` and ``/moto-api`` never get here: the engine admits
only its admin to them, see :mod:`emulation.core.admin`.)

The denial log records who, what, on which resource and why: never a signature, a
session token or a body.

IAM writes and STS AssumeRole are forwarded to moto by this extension itself
(``engine.call_moto``) so the identity cache is invalidated, or the new session recorded,
the moment moto has applied them; later extensions do not see those calls.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.core.extension import Extension
from emulation.core.request import DEFAULT_ACCOUNT_ID, AwsRequest
from emulation.core.settings import EngineSettings
from emulation.iam import responses
from emulation.iam.actions import (
    UNSIGNED_OPERATIONS,
    RequestTarget,
    describe,
    is_execute_api,
    protocol_of,
    unsigned_service,
    warm_rest_routes,
)
from emulation.iam.exceptions import (
    IamError,
    MissingAuthenticationTokenException,
    Protocol,
    ValidationError,
)
from emulation.iam.identity import ANONYMOUS, Denial, Identity, IdentityKind, session_tags
from emulation.iam.models import EnforcementBackend
from emulation.iam.sigv4 import SignedAuth, check_request_time, parse_auth
from emulation.iam.verdict import record_verdict

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)


DENIAL_LOG = Path("logs") / "iam-denials.jsonl"


class IamEnforcement(Extension):
    name = "iam"
    order = 10

    def __init__(self, settings: EngineSettings, clock_skew: float = 0.0) -> None:
        self.mode = settings.iam
        self.backend = EnforcementBackend(
            settings.admin_access_key,
            settings.admin_secret_key,
            clock_skew=clock_skew,
            lake_formation_on_s3=settings.lake_formation == "strict",
        )
        self.log_path = settings.state_dir / DENIAL_LOG if settings.state_dir else None
        self.engine: EngineApp | None = None
        self._counts = {"checked": 0, "allowed": 0, "denied": 0, "would_deny": 0}
        self._counts_lock = threading.Lock()
        self._log_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, engine: EngineApp) -> None:
        self.engine = engine
        if self.backend.clock_skew:
            log.warning("IAM credential expiry is judged %s ahead of real time", self.backend.clock_skew)

    def warm_up(self) -> None:
        if self.mode != "off":
            warm_rest_routes()

    def reset(self) -> None:
        self.backend.reset()

    def snapshot_state(self, generation: int) -> Any:
        return self.backend.state()

    def restore_state(self, state: Any, generation: int) -> None:
        self.backend.load_state(state)

    def health(self) -> dict[str, Any]:
        with self._counts_lock:
            counts = dict(self._counts)
        return {
            "mode": self.mode,
            "lake_formation": "strict" if self.backend.lake_formation_on_s3 else "aws",
            **counts,
            "denial_log": str(self.log_path) if self.log_path else None,
            "clock_skew_s": self.backend.clock_skew.total_seconds(),
        }

    # -- the request path -----------------------------------------------------------------
    def handle(self, request: AwsRequest) -> Response | None:
        response = self._handle(request)
        # What moto does next in this thread may consult this verdict (see emulation.iam.verdict).
        record_verdict(response is None)
        return response

    def _handle(self, request: AwsRequest) -> Response | None:
        if is_execute_api(request):
            return None  # API invocations are authorized by the API
        has_auth = "authorization" in request.headers or "X-Amz-" in request.query_string
        if not has_auth and request.method == "OPTIONS":
            return None  # CORS preflight
        self._count("checked")
        try:
            auth = parse_auth(request)
        except IamError as error:
            protocol = protocol_of(request, request.signing_service)
            denial = Denial(request.access_key or "unknown", "", "", error.reason, error)
            return self._refuse(request, protocol, request.signing_service, denial)
        if auth is None:
            return self._unsigned(request)
        return self._signed(request, auth)

    def _signed(self, request: AwsRequest, auth: SignedAuth) -> Response | None:
        assert self.engine is not None
        protocol = protocol_of(request, auth.service)
        identity: Identity | None = None
        target: RequestTarget | None = None
        context = self._request_context(request, auth.region)
        with self.engine.state_lock.shared():
            try:
                check_request_time(auth, datetime.now(UTC))
                identity = self.backend.authenticate(auth, request)
            except IamError as error:
                denial: Denial | None = Denial(auth.access_key, "", "", error.reason, error)
            else:
                if identity.is_admin and auth.service not in {"sts", "iam"}:
                    self._count("allowed")
                    return None  # the bootstrap admin may do everything: the hot path
                account = identity.account_id or DEFAULT_ACCOUNT_ID
                target = describe(request, auth.service, auth.region, account, self.backend)
                if target.service == "sts" and target.operation == "AssumeRole":
                    denial = self.backend.check_assume_role(identity, target, context)
                else:
                    denial = self.backend.authorize(identity, target, context)
        if denial is not None:
            if not denial.action and target is None:
                denial.action, denial.resource = self._describe_for_log(request, auth)
            refused = self._refuse(request, protocol, auth.service, denial)
            if refused is not None:
                return refused
        else:
            self._count("allowed")
        if identity is None or target is None:
            return None
        return self._answer_ourselves(request, identity, target)

    def _unsigned(self, request: AwsRequest) -> Response | None:
        assert self.engine is not None
        service = unsigned_service(request)
        protocol = protocol_of(request, "s3" if service is None else service)
        region = "us-east-1"
        context = self._request_context(request, region)
        with self.engine.state_lock.shared():
            target = describe(request, service, region, DEFAULT_ACCOUNT_ID, self.backend)
            if service is None:  # anonymous S3: only a bucket policy can allow it
                denial = self.backend.authorize(ANONYMOUS, target, context)
            elif service == "sts" and target.operation in {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}:
                denial = self.backend.check_federated_assume(target, context)
            elif (service, target.operation) in UNSIGNED_OPERATIONS:
                denial = None
            else:
                error = MissingAuthenticationTokenException()
                denial = Denial(
                    "anonymous", target.primary.action, str(target.primary.resource), error.reason, error
                )
        if denial is not None:
            return self._refuse(request, protocol, service, denial)
        self._count("allowed")
        return None

    def _answer_ourselves(
        self, request: AwsRequest, identity: Identity, target: RequestTarget
    ) -> Response | None:
        """STS/IAM calls we answer or forward ourselves; None lets the request go on."""
        assert self.engine is not None
        if target.service == "sts":
            if target.operation == "GetSessionToken" and identity.kind in {
                IdentityKind.USER,
                IdentityKind.ADMIN,
            }:
                duration = _session_duration(target.params.get("DurationSeconds"), identity)
                if isinstance(duration, ValidationError):
                    return duration.response(Protocol.QUERY, service="sts", method=request.method)
                session = self.backend.issue_session_token(identity, duration)
                self.engine.mark_dirty("sts")
                return responses.get_session_token(session)
            if target.operation == "GetCallerIdentity" and identity.kind in {
                IdentityKind.USER_SESSION,
                IdentityKind.ADMIN,
            }:
                return responses.get_caller_identity(identity)
            if target.operation == "AssumeRole":
                answer = self.engine.call_moto(request.environ)
                key = responses.assumed_access_key(answer.get_data()) if answer.status_code == 200 else None
                if key:
                    arns = [
                        value
                        for name, value in sorted(target.params.items())
                        if name.startswith("PolicyArns.member.") and name.endswith(".arn")
                    ]
                    self.backend.record_assumed_session(key, arns, session_tags(target.params))
                    self.engine.mark_dirty("iam")
                return answer
        if (
            target.service == "iam"
            and target.operation == "GetUser"
            and identity.kind is IdentityKind.ADMIN
            and not target.params.get("UserName")
        ):
            return responses.get_user(identity)
        if target.service == "iam" and not request.is_read_only():
            try:
                return self.engine.call_moto(request.environ)
            finally:
                self.backend.invalidate()
        return None

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _request_context(request: AwsRequest, region: str) -> dict[str, list[str]]:
        now = datetime.now(UTC)
        return {
            "aws:currenttime": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
            "aws:epochtime": [str(int(now.timestamp()))],
            # Local traffic is plain HTTP; the same client uses TLS against AWS.
            "aws:securetransport": ["true"],
            "aws:sourceip": [str(request.environ.get("REMOTE_ADDR", "127.0.0.1"))],
            "aws:requestedregion": [region],
        }

    def _describe_for_log(self, request: AwsRequest, auth: SignedAuth) -> tuple[str, str]:
        assert self.engine is not None
        try:
            with self.engine.state_lock.shared():
                target = describe(request, auth.service, auth.region, DEFAULT_ACCOUNT_ID, self.backend)
        except Exception:  # logging must never fail the request path
            return "", ""
        return target.primary.action, str(target.primary.resource)

    def _count(self, name: str) -> None:
        with self._counts_lock:
            self._counts[name] += 1

    def _refuse(
        self, request: AwsRequest, protocol: Protocol, service: str | None, denial: Denial
    ) -> Response | None:
        enforce = self.mode == "enforce"
        self._count("denied" if enforce else "would_deny")
        self._record(denial, "denied" if enforce else "would-deny")
        if not enforce:
            return None
        return denial.error.response(protocol, service=service, method=request.method)

    def _record(self, denial: Denial, outcome: str) -> None:
        error_code = denial.error.status_and_code(Protocol.JSON)[1]
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "outcome": outcome,
            "principal": denial.principal,
            "action": denial.action,
            "resource": denial.resource,
            "reason": denial.reason,
            "error": error_code,
            "message": denial.error.message,
        }
        log.info(
            "IAM %s: %s %s on %s (%s)",
            outcome,
            denial.principal,
            denial.action,
            denial.resource,
            denial.reason,
        )
        if self.log_path is None:
            return
        line = json.dumps(entry) + "\n"
        with self._log_lock:
            try:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.log_path, "a", encoding="utf-8") as fh:
                    fh.write(line)
            except OSError as exc:
                log.warning("could not write %s: %s", self.log_path, exc)


def _session_duration(raw: str | None, identity: Identity) -> int | ValidationError:
    """GetSessionToken's DurationSeconds: 900 s to 36 h (1 h for the account's root/admin)."""
    maximum = 3600 if identity.is_admin else 129600
    try:
        duration = int(raw) if raw else min(43200, maximum)
    except ValueError:
        duration = -1
    if 900 <= duration <= maximum:
        return duration
    return ValidationError(
        f"1 validation error detected: Value '{raw}' at 'durationSeconds' failed to satisfy "
        f"constraint: Member must have value between 900 and {maximum}"
    )
