"""``token``: issue a bearer token over the HTTP API, as a producer does, or verify one.

The result of ``issue`` is the auth service's payload plus the JWT's ``claims``; its
``credentials`` make the step usable as an identity (``as: <step id>``). ``verify`` checks
the JWT against the stack's published JWKS, optionally as if at another time
(``at: +16m``); failures are :class:`CallError` with a specific code (``TokenExpired``,
``TokenSignatureInvalid``, ``TokenNotYetValid``, ``TokenClaimsInvalid``,
``TokenMalformed``), each also matching the broader ``TokenError``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from nexuskit.edge.errors import TokenError
from nexuskit.scenarios.model import TokenCall, TokenStep
from nexuskit.scenarios.results import CallError, StepFailedError
from nexuskit.scenarios.steps.base import StepContext, StepReturn

if TYPE_CHECKING:
    from nexuskit.aws import AwsTarget

_CODES = (
    ("expired", "TokenExpired"),
    ("signature", "TokenSignatureInvalid"),
    ("not valid yet", "TokenNotYetValid"),
    ("issuer", "TokenClaimsInvalid"),
    ("audience", "TokenClaimsInvalid"),
    ("malformed", "TokenMalformed"),
)


def token_error(exc: TokenError, call: str) -> CallError:
    message = exc.message
    code = next((c for text, c in _CODES if text in message), "TokenError")
    aliases = ("TokenError",) if code != "TokenError" else ()
    return CallError(code, message, call=call, aliases=aliases)


def _auth_url(ctx: StepContext) -> str:
    url = (ctx.values.get("stack") or {}).get("auth_url")
    if not url:
        raise StepFailedError(
            f"the stack at {ctx.stack.endpoint} has no HTTP API with an auth route",
            hint="`nexuskit up --local` deploys it",
        )
    return str(url)


def _signer(ctx: StepContext) -> AwsTarget | None:
    """The stack's admin when ``POST /auth`` takes AWS_IAM authorization, else None."""
    from nexuskit.edge.auth import auth_route_authorization

    stack = ctx.stack
    if "auth_authorization" not in ctx.cache:  # one lookup per scenario run
        ctx.cache["auth_authorization"] = auth_route_authorization(stack.spec, stack.target)
    return stack.target if ctx.cache["auth_authorization"] == "AWS_IAM" else None


def token_call(ctx: StepContext, call: TokenCall) -> StepReturn:
    from nexuskit.edge.tokens import decode_unverified, issue_token

    if call.action == "verify":
        return _verify(ctx, call)
    ttl = int(call.ttl_minutes) if call.ttl_minutes is not None else None
    try:
        payload = issue_token(_auth_url(ctx), call.user, ttl, call.metadata, signer=_signer(ctx))
    except TokenError as exc:
        raise token_error(exc, "POST /auth") from None
    try:
        _, claims = decode_unverified(str(payload.get("token", "")))
    except TokenError:
        claims = {}
    result: dict[str, Any] = {**payload, "claims": claims}
    label = ctx.step_key
    ctx.remember(payload.get("token"), f"{label}.jwt")
    ctx.remember(claims.get("jti"), f"{label}.jti")
    ctx.remember(claims.get("sid"), f"{label}.session")
    credentials = payload.get("credentials") or {}
    ctx.remember(credentials.get("AccessKeyId"), f"{label}.access-key")
    ctx.remember(credentials.get("SecretAccessKey"), f"{label}.secret")
    ctx.remember(credentials.get("SessionToken"), f"{label}.session-token")
    summary = (
        f"issued for {call.user} (ttl {payload.get('ttl_minutes')} min, expires {payload.get('expires_at')})"
    )
    return StepReturn(result, summary)


def _verify(ctx: StepContext, call: TokenCall) -> StepReturn:
    from nexuskit.edge.auth import jwks_url, token_audience, token_issuer
    from nexuskit.edge.tokens import fetch_jwks, verify_token

    offset = float(call.at or 0.0)
    spec = ctx.stack.spec
    try:
        jwks = fetch_jwks(jwks_url(_auth_url(ctx)))
        result = verify_token(
            str(call.token),
            jwks,
            issuer=token_issuer(spec),
            audience=token_audience(spec),
            now=time.time() + offset,
        )
    except TokenError as exc:
        raise token_error(exc, "verify token") from None
    when = f" at now{offset:+g} s" if offset else ""
    return StepReturn(result, f"valid{when} (expires in {result.get('expires_in_s')} s)")


def run_token(ctx: StepContext, step: TokenStep) -> StepReturn:
    try:
        return token_call(ctx, step.token)
    except CallError as exc:
        raise StepFailedError(
            f"{exc.call}: {exc.code}: {exc.detail}",
            hint="if the token must be refused, make it an expect_denied step",
        ) from None
