"""Who may call a service, and with which roles: Kubernetes ServiceAccount tokens.

Every Nexus service (agent-core, the four MCP servers, nexus-ui's backend) accepts a
bearer JWT projected into the caller's pod by Kubernetes (``serviceAccountToken`` volume,
audience ``nexus-services``), verified against the cluster's service-account issuer
(``/openid/v1/jwks``; on EKS the cluster's OIDC issuer), as a service mesh or a
TokenReview would. Only the ServiceAccounts listed in ``NEXUS_AUTH_CALLERS`` get in,
each with its roles:

``read``
    read tools and routes;
``write``
    tools and workflows that change state;
``curate``
    writes to the vibranium tier and dissemination (and workflows that do them).

Configuration (environment, from the Deployment's ConfigMap):

``NEXUS_AUTH``
    ``on`` (default) or ``off`` (no authentication: for one service run by hand; logged
    as a warning and shown on ``/health``).
``NEXUS_AUTH_CALLERS``
    ``namespace/serviceaccount=role,role`` entries separated by spaces, ``;`` or newlines.
``NEXUS_AUTH_AUDIENCE``
    the audience tokens must carry (``nexus-services``).
``NEXUS_AUTH_ISSUER``
    the issuer tokens must carry; empty: the JWKS source's discovery document says.
``NEXUS_AUTH_JWKS``
    a URL or a file; empty: ``$NEXUSKIT_RUNTIME_API/openid/v1/jwks`` (the local runtime),
    else the issuer's ``/.well-known/openid-configuration``.

The keys are fetched on the first token to verify (and again for an unknown key id). The
local runtime's discovery endpoints are asked with the pod's automounted API token when
it has one (as a cluster API wants), never with its ``nexus-services`` token; other
sources (an OIDC issuer's public JWKS, a file) get no token. When the source does not
answer, callers get a 401 that says so without naming it (the detail is logged), and
the source is asked again at most every :data:`RETRY_S` seconds.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.jwt import JwksVerifier, TokenRejectedError, read_json_source

log = logging.getLogger(__name__)

ROLES = ("read", "write", "curate")
RETRY_S = 5.0
SERVICE_AUDIENCE = "nexus-services"
_SUBJECT = re.compile(r"^system:serviceaccount:([a-z0-9][-a-z0-9.]*):([a-z0-9][-a-z0-9.]*)$")
_ENTRY = re.compile(r"^([a-z0-9][-a-z0-9.]*)/([a-z0-9][-a-z0-9.]*)=([a-z,]+)$")


class AuthError(Exception):
    """A caller is refused; ``status`` is 401 (who are you?) or 403 (not you / not that)."""

    status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnauthenticatedError(AuthError):
    """No bearer token, or one that does not verify."""

    status = 401


class ForbiddenError(AuthError):
    """A verified caller that is not allowed here, or lacks the role."""

    status = 403


class CallerConfigError(ValueError):
    """``NEXUS_AUTH_CALLERS`` (or another auth setting) cannot be understood."""


class AuthSettings(BaseSettings):
    """The ``NEXUS_AUTH*`` part of a service's environment."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    mode: Literal["on", "off"] = Field(default="on", validation_alias=AliasChoices("NEXUS_AUTH", "mode"))
    callers: str = Field(default="", validation_alias=AliasChoices("NEXUS_AUTH_CALLERS", "callers"))
    audience: str = Field(
        default=SERVICE_AUDIENCE, validation_alias=AliasChoices("NEXUS_AUTH_AUDIENCE", "audience")
    )
    issuer: str = Field(default="", validation_alias=AliasChoices("NEXUS_AUTH_ISSUER", "issuer"))
    jwks: str = Field(default="", validation_alias=AliasChoices("NEXUS_AUTH_JWKS", "jwks"))
    runtime_api: str = Field(default="", validation_alias=AliasChoices("NEXUSKIT_RUNTIME_API", "runtime_api"))
    token_file: str = Field(
        default="", validation_alias=AliasChoices("NEXUS_SERVICE_TOKEN_FILE", "token_file")
    )
    allowed_hosts: str = Field(
        default="", validation_alias=AliasChoices("NEXUS_ALLOWED_HOSTS", "allowed_hosts")
    )
    allowed_origins: str = Field(
        default="", validation_alias=AliasChoices("NEXUS_ALLOWED_ORIGINS", "allowed_origins")
    )

    @property
    def enabled(self) -> bool:
        return self.mode == "on"


def parse_callers(text: str) -> dict[str, frozenset[str]]:
    """``"ns/sa=read,write other/sa=read"`` as ``{"system:serviceaccount:ns:sa": roles}``."""
    allowed: dict[str, frozenset[str]] = {}
    for entry in re.split(r"[\s;]+", text.strip()):
        if not entry:
            continue
        match = _ENTRY.match(entry)
        if not match:
            raise CallerConfigError(
                f"NEXUS_AUTH_CALLERS entry {entry!r} is not namespace/serviceaccount=role[,role]"
            )
        roles = frozenset(role for role in match[3].split(",") if role)
        unknown = sorted(roles - set(ROLES))
        if unknown or not roles:
            raise CallerConfigError(
                f"NEXUS_AUTH_CALLERS entry {entry!r}: unknown role {', '.join(unknown) or '(none)'}; "
                f"roles are {', '.join(ROLES)}"
            )
        allowed[f"system:serviceaccount:{match[1]}:{match[2]}"] = roles
    return allowed


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its subject and the roles this service grants it."""

    subject: str
    roles: frozenset[str]

    @property
    def name(self) -> str:
        """``namespace/serviceaccount`` (or the subject as is)."""
        match = _SUBJECT.match(self.subject)
        return f"{match[1]}/{match[2]}" if match else self.subject

    def has(self, role: str) -> bool:
        return role in self.roles

    def require(self, role: str, what: str) -> None:
        """ForbiddenError unless the caller has ``role`` (``what`` names the refused thing)."""
        if role not in self.roles:
            raise ForbiddenError(
                f"{self.name} may not {what}: it needs the {role!r} role "
                f"(it has {', '.join(sorted(self.roles)) or 'none'}); grant it in NEXUS_AUTH_CALLERS"
            )


#: the caller every request is when authentication is off
UNAUTHENTICATED = Caller("anonymous (NEXUS_AUTH=off)", frozenset(ROLES))


class CallerAuth:
    """Verifies bearer ServiceAccount tokens and maps them to the configured roles."""

    def __init__(self, settings: AuthSettings, verifier: JwksVerifier | None = None) -> None:
        self.settings = settings
        self.allowed = parse_callers(settings.callers)
        self._verifier = verifier
        self._lock = threading.Lock()
        self._failed: tuple[float, str] | None = None  # (when, why) the key source last failed
        if not settings.enabled:
            log.warning("NEXUS_AUTH=off: this service answers every caller without authentication")
        elif not self.allowed:
            log.warning("NEXUS_AUTH_CALLERS is empty: every caller will be refused")

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def verifier(self) -> JwksVerifier:
        with self._lock:
            if self._verifier is None:
                if self._failed is not None and time.monotonic() - self._failed[0] < RETRY_S:
                    raise UnauthenticatedError(self._failed[1])
                try:
                    jwks, issuer, bearer = self._locate()
                except UnauthenticatedError as exc:
                    self._failed = (time.monotonic(), exc.message)
                    raise
                self._verifier = JwksVerifier(
                    jwks, issuer=issuer, audience=self.settings.audience, bearer=bearer
                )
            return self._verifier

    @staticmethod
    def _api_token() -> str | None:
        """The pod's automounted API token (for the cluster's discovery endpoints), if any."""
        from services.common.servicetoken import automounted_token

        token = automounted_token()
        return token.value() if token is not None else None

    def _locate(self) -> tuple[str, str | None, Callable[[], str | None] | None]:
        """Where the keys are, the issuer tokens must name, and what to send for the keys."""
        settings = self.settings
        jwks = settings.jwks
        issuer = settings.issuer or None
        discovery = ""
        bearer: Callable[[], str | None] | None = None
        if not jwks and settings.runtime_api:
            base = settings.runtime_api.rstrip("/")
            jwks, discovery = f"{base}/openid/v1/jwks", f"{base}/.well-known/openid-configuration"
            bearer = self._api_token
        elif not jwks and issuer:
            discovery = issuer.rstrip("/") + "/.well-known/openid-configuration"
        if not jwks and not discovery:
            raise UnauthenticatedError(
                "this service has no key source to verify tokens (set NEXUS_AUTH_JWKS or NEXUS_AUTH_ISSUER)"
            )
        if discovery and (issuer is None or not jwks):
            import httpx  # the first token to verify loads it (see services.common.jwt)

            try:
                doc = read_json_source(discovery, bearer)
            except (httpx.HTTPError, OSError, ValueError) as exc:
                log.warning("cannot read %s to verify tokens: %s", discovery, exc)
                raise UnauthenticatedError(
                    "this service cannot verify tokens now: its key source does not answer (try again)"
                ) from None
            issuer = issuer or str(doc.get("issuer") or "") or None
            jwks = jwks or str(doc.get("jwks_uri") or "")
        if issuer is None:
            raise UnauthenticatedError("this service does not know which issuer to trust (NEXUS_AUTH_ISSUER)")
        return jwks, issuer, bearer

    def authenticate(self, authorization: str | None) -> Caller:
        """The caller of a request with this ``Authorization`` header, or an AuthError."""
        if not self.enabled:
            return UNAUTHENTICATED
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthenticatedError(
                "a bearer token is required (a ServiceAccount token of an allowed caller)"
            )
        try:
            claims = self.verifier().verify(token.strip())
        except TokenRejectedError as exc:
            raise UnauthenticatedError(str(exc)) from None
        subject = str(claims.get("sub", ""))
        roles = self.allowed.get(subject)
        if roles is None:
            match = _SUBJECT.match(subject)
            who = f"{match[1]}/{match[2]}" if match else repr(subject)
            raise ForbiddenError(f"{who} is not an allowed caller of this service")
        return Caller(subject, roles)
