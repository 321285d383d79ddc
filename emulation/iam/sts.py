"""STS: who may assume a role (the caller's permission, the role's trust, the duration),
federated AssumeRole calls, and the sessions the engine issues or records."""

from __future__ import annotations

import secrets
import string
from typing import Any

from emulation.core.request import DEFAULT_ACCOUNT_ID
from emulation.iam.actions import RequestTarget
from emulation.iam.authorization import Authorization
from emulation.iam.exceptions import (
    AccessDeniedException,
    InvalidIdentityTokenException,
    ValidationError,
)
from emulation.iam.identity import Denial, Identity, IdentityKind, UserSession, session_tags
from emulation.iam.policies import (
    Caller,
    Effect,
    Resource,
    compile_cached,
)

#: the CLI's and SDKs' well-known web identity providers (no IAM OIDC provider needed)
_BUILTIN_IDPS = {
    "accounts.google.com",
    "cognito-identity.amazonaws.com",
    "graph.facebook.com",
    "www.amazon.com",
}


def _random_key(prefix: str) -> str:
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def _jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT, unverified (STS judges them against the role's trust policy)."""
    import jwt  # PyJWT loads cryptography: ~25 ms of every engine start, for this call alone

    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims


class StsSessions(Authorization):
    """AssumeRole checks and the sessions moto does not keep (GetSessionToken, session policies)."""

    def check_assume_role(
        self, identity: Identity, target: RequestTarget, request_context: dict[str, list[str]]
    ) -> Denial | None:
        """sts:AssumeRole (plus sts:TagSession with session tags, sts:SetSourceIdentity with
        a source identity) needs the caller's permission AND the role's trust, and a
        DurationSeconds the role allows."""
        params = target.params
        role_arn = params.get("RoleArn", "")
        role = self.find_role(role_arn)
        if role is None:
            head = (
                f"User: {identity.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            )
            return Denial(
                identity.arn, "sts:AssumeRole", role_arn, "no such role", AccessDeniedException(head)
            )
        context = dict(request_context)
        tags = session_tags(params)
        for key, value in tags.items():
            context[f"aws:requesttag/{key.lower()}"] = [value]
        if tags:
            context["aws:tagkeys"] = list(tags)
        for param, key in (
            ("ExternalId", "sts:externalid"),
            ("RoleSessionName", "sts:rolesessionname"),
            ("SourceIdentity", "sts:sourceidentity"),
        ):
            if params.get(param):
                context[key] = [params[param]]
        denial = self.authorize(identity, target, context)
        if denial is not None:
            return denial
        trust_context = {**context, **identity.context()}
        for check in target.checks:
            if not self._trust_admits(role, identity.caller(), check.action, trust_context):
                head = (
                    f"User: {identity.arn} is not authorized to perform: {check.action} "
                    f"on resource: {role.arn}"
                )
                return Denial(
                    identity.arn,
                    check.action,
                    role.arn,
                    "the role's trust policy does not admit the caller",
                    AccessDeniedException(head),
                )
        return self._check_duration(identity, target, role)

    def _trust_admits(self, role: Any, caller: Caller, action: str, context: dict[str, list[str]]) -> bool:
        trust = compile_cached(role.assume_role_policy_document or "", f"trust policy of {role.name}")
        if trust is None:
            return False
        return trust.decide(action, Resource(role.arn, "iam"), context, caller) is Effect.ALLOW

    @staticmethod
    def _check_duration(identity: Identity, target: RequestTarget, role: Any) -> Denial | None:
        raw = target.params.get("DurationSeconds")
        if raw is None:
            return None
        try:
            duration = int(raw)
        except ValueError:
            duration = -1
        maximum = int(role.max_session_duration or 3600)
        if identity.kind is IdentityKind.ROLE_SESSION:
            maximum = min(maximum, 3600)  # role chaining is limited to one hour
        if duration < 900:
            message = (
                f"1 validation error detected: Value '{raw}' at 'durationSeconds' failed to satisfy "
                "constraint: Member must have value greater than or equal to 900"
            )
        elif duration > maximum:
            message = (
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                if identity.kind is not IdentityKind.ROLE_SESSION
                else "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )
        else:
            return None
        return Denial(
            identity.arn, target.primary.action, role.arn, "invalid DurationSeconds", ValidationError(message)
        )

    def check_federated_assume(
        self, target: RequestTarget, request_context: dict[str, list[str]]
    ) -> Denial | None:
        """AssumeRoleWithWebIdentity / AssumeRoleWithSAML (unsigned): the trust decides."""
        params = target.params
        role = self.find_role(params.get("RoleArn", ""))
        action = f"sts:{target.operation}"
        refused = AccessDeniedException(f"Not authorized to perform {action}")
        if role is None:
            return Denial("anonymous", action, params.get("RoleArn", ""), "no such role", refused)
        context = dict(request_context)
        if target.operation == "AssumeRoleWithSAML":
            federated = frozenset({params.get("PrincipalArn", "")})
        else:
            claims = _jwt_claims(params.get("WebIdentityToken", ""))
            issuer = str((claims or {}).get("iss", ""))
            if claims is None or not issuer:
                error = InvalidIdentityTokenException("The ID Token provided is not a valid JWT.")
                return Denial("anonymous", action, role.arn, "invalid identity token", error)
            host = issuer.split("://", 1)[-1].rstrip("/")
            provider_arn = f"arn:aws:iam::{role.account_id}:oidc-provider/{host}"
            iam = self._iam(role.account_id)
            if provider_arn not in iam.open_id_providers and host not in _BUILTIN_IDPS:
                error = InvalidIdentityTokenException(
                    f"No OpenIDConnect provider found in your account for {issuer}"
                )
                return Denial("anonymous", action, role.arn, "unknown identity provider", error)
            federated = frozenset({provider_arn, host})
            for claim in ("aud", "sub", "amr", "azp"):
                value = claims.get(claim)
                if value is not None:
                    values = value if isinstance(value, list) else [value]
                    context[f"{host}:{claim}".lower()] = [str(v) for v in values]
        if not self._trust_admits(role, Caller(None, federated=federated), action, context):
            return Denial(
                "anonymous", action, role.arn, "the role's trust policy does not admit the caller", refused
            )
        return None

    def issue_session_token(self, identity: Identity, duration: int) -> UserSession:
        """GetSessionToken: temporary credentials with the caller's own permissions."""
        from moto.sts.utils import random_session_token

        now = self.now().timestamp()
        session = UserSession(
            access_key_id=_random_key("ASIA"),
            secret_access_key=secrets.token_urlsafe(30)[:40],
            session_token=random_session_token(),
            account_id=identity.account_id or DEFAULT_ACCOUNT_ID,
            user_name=identity.user_name if identity.kind is IdentityKind.USER else None,
            expiration=now + duration,
            issued_at=now,
        )
        with self._lock:
            self.user_sessions[session.access_key_id] = session
        return session

    def record_assumed_session(
        self, access_key_id: str, policy_arns: list[str], tags: dict[str, str]
    ) -> None:
        """Remember what moto does not: managed session policies, session tags, issue time."""
        with self._lock:
            self.session_issued_at[access_key_id] = self.now().timestamp()
            if policy_arns:
                self.session_policy_arns[access_key_id] = policy_arns
            if tags:
                self.session_tags[access_key_id] = tags
