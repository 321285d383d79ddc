"""Who may call the control API, and from where.

Every request first passes the **browser checks** (:func:`check_browser`): the ``Host``
must be a loopback name (``127.0.0.1``, ``localhost`` or ``[::1]``, any port), so a DNS
rebinding page (``Host: attacker.example``) gets nothing; a request carrying an
``Origin`` header (every cross-origin POST, every CORS request) or a cross-site
``Sec-Fetch-Site`` is refused. No answer ever carries CORS headers.

Then **authentication** (:class:`Authenticator`), with ``Authorization: Bearer TOKEN``:

* the runtime **admin token**, ``<state>/runtime/admin-token`` (0600, a fresh random
  token written at every start; compared in constant time): may do everything, like
  Kubernetes' ``system:masters``;
* a **ServiceAccount token** (a JWT): signed by this runtime's issuer, for the API
  audience ``https://kubernetes.default.svc``, not expired, of a ServiceAccount the
  manifests declare, and, when bound to a pod, of a pod that still exists. Its user is
  ``system:serviceaccount:NS:NAME``; :mod:`~emulation.runtime.rbac` decides what it may do.

Anything else (no token, a forged, expired, foreign-issuer or other-audience JWT such as
an IRSA token) is ``401 Unauthorized``; a refusal by RBAC is ``403 Forbidden`` with the
message Kubernetes gives. The reason a token was refused goes to the runtime's log only.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from emulation.runtime.exceptions import ProcessRuntimeError
from emulation.runtime.identity import InvalidTokenError, TokenIssuer
from emulation.runtime.rbac import Attributes, Rbac, User, forbidden_message
from emulation.runtime.tokens import API_AUDIENCE, write_private

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
ADMIN_USER = User("nexuskit:runtime-admin", ("system:masters", "system:authenticated"))


class UnauthorizedError(ProcessRuntimeError):
    """No credentials, or credentials the runtime does not accept (401)."""

    status = 401

    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message)


class ForbiddenError(ProcessRuntimeError):
    """Who the caller is is known, and it may not do this (403)."""

    status = 403


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    user: User
    admin: bool = False


ADMIN = Principal(ADMIN_USER, admin=True)


def write_admin_token(path: Path) -> str:
    """A fresh admin token in ``path`` (0600 in a 0700 folder; no newline: a kubeconfig's ``tokenFile``)."""
    token = secrets.token_urlsafe(32)
    write_private(path, token)
    return token


def host_allowed(host: str | None) -> bool:
    """``Host`` is a loopback name, with or without a port."""
    if not host:
        return False
    value = host.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return False
        name, rest = value[: end + 1], value[end + 1 :]
    else:
        name, sep, port = value.partition(":")
        rest = sep + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit()):
        return False
    return name in LOOPBACK_HOSTS


def check_browser(headers: Mapping[str, str]) -> None:
    """Refuse DNS rebinding (a foreign ``Host``) and cross-origin browser requests."""
    if not host_allowed(headers.get("host")):
        raise ForbiddenError(f"host {headers.get('host', '')!r} is not allowed (use 127.0.0.1)")
    if "origin" in headers:
        raise ForbiddenError("requests from web pages (with an Origin header) are not allowed")
    if headers.get("sec-fetch-site", "none") in {"cross-site", "same-site"}:
        raise ForbiddenError("cross-site requests are not allowed")


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Principal`."""

    def __init__(
        self,
        admin_token: str,
        issuer: TokenIssuer,
        has_service_account: Callable[[str, str], bool],
        pod_exists: Callable[[str], bool],
    ) -> None:
        self._admin = admin_token.encode()
        self.issuer = issuer
        self.has_service_account = has_service_account
        self.pod_exists = pod_exists

    def authenticate(self, authorization: str | None) -> Principal | None:
        """None without an ``Authorization`` header; UnauthorizedError for a bad one."""
        if authorization is None:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise self._refuse("not a bearer token")
        if hmac.compare_digest(token.encode(), self._admin):
            return ADMIN
        try:
            claims = self.issuer.verify(token, API_AUDIENCE)
        except InvalidTokenError as exc:
            raise self._refuse(str(exc)) from None
        bound = claims.get("kubernetes.io")
        if not isinstance(bound, dict):
            raise self._refuse("no kubernetes.io claims")
        namespace = bound.get("namespace")
        account = (bound.get("serviceaccount") or {}).get("name")
        if claims.get("sub") != f"system:serviceaccount:{namespace}:{account}":
            raise self._refuse("sub does not match the kubernetes.io claims")
        if not self.has_service_account(str(namespace), str(account)):
            raise self._refuse(f"service account {namespace}/{account} does not exist")
        pod = bound.get("pod")
        if pod is not None and not (isinstance(pod, dict) and self.pod_exists(str(pod.get("uid")))):
            raise self._refuse(f"the pod the token is bound to ({(pod or {}).get('name')}) is gone")
        return Principal(User.service_account(str(namespace), str(account)))

    @staticmethod
    def _refuse(reason: str) -> UnauthorizedError:
        log.info("control API: bearer token refused: %s", reason)
        return UnauthorizedError()


def authorize(principal: Principal, wanted: list[Attributes], rbac: Rbac) -> None:
    """ForbiddenError unless ``principal`` may do every one of ``wanted``."""
    if principal.admin:
        return
    for attrs in wanted:
        if not rbac.allows(principal.user, attrs):
            raise ForbiddenError(forbidden_message(principal.user, attrs))


def require_admin(principal: Principal, what: str) -> None:
    if not principal.admin:
        raise ForbiddenError(f'User "{principal.user.name}" cannot {what}: only the runtime admin can')
