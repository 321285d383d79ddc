"""TokenRequest: ``POST /api/v1/namespaces/NS/serviceaccounts/NAME/token``.

What ``kubectl create token NAME -n NS --audience A --duration D`` calls. The body::

    {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
     "spec": {"audiences": ["nexus-services"], "expirationSeconds": 3600}}

answers ``201`` with the same object and ``status: {token, expirationTimestamp}``. As on
Kubernetes: the ServiceAccount must exist (declared, or ``default`` of a declared
namespace; else 404); ``audiences`` default to the API's; ``expirationSeconds`` (default
3600) under 600 is invalid (422), above the runtime's maximum (86400, the API server's
``--service-account-max-token-expiration``) it is lowered to it. Tokens are not bound
to an object (``boundObjectRef`` is refused).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from emulation.runtime.exceptions import InvalidRequestError, ObjectNotFoundError, ProcessRuntimeError
from emulation.runtime.identity import TokenIssuer
from emulation.runtime.manifests import Manifests
from emulation.runtime.tokens import API_AUDIENCE, DEFAULT_SECONDS, MIN_SECONDS

API_VERSION = "authentication.k8s.io/v1"
MAX_SECONDS = 86400


class InvalidTokenRequestError(ProcessRuntimeError):
    """A TokenRequest Kubernetes would refuse as Invalid (422)."""

    status = 422


def create_token(
    manifests: Manifests, issuer: TokenIssuer, namespace: str, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    """The TokenRequest answer for ``body`` (errors as the Kubernetes API gives them)."""
    if not manifests.has_service_account(namespace, name):
        raise ObjectNotFoundError(f'serviceaccounts "{name}" not found')
    if (
        body.get("apiVersion", API_VERSION) != API_VERSION
        or body.get("kind", "TokenRequest") != "TokenRequest"
    ):
        raise InvalidRequestError(f"the body must be a TokenRequest of {API_VERSION}")
    spec = body.get("spec") or {}
    if not isinstance(spec, dict):
        raise InvalidRequestError("spec must be an object")
    unknown = set(spec) - {"audiences", "expirationSeconds", "boundObjectRef"}
    if unknown:
        raise InvalidTokenRequestError(f"spec.{sorted(unknown)[0]}: unknown field")
    if spec.get("boundObjectRef"):
        raise InvalidTokenRequestError(
            "spec.boundObjectRef: tokens bound to an object are not supported here"
        )
    audiences = spec.get("audiences") or [API_AUDIENCE]
    if not isinstance(audiences, list) or not all(isinstance(a, str) and a for a in audiences):
        raise InvalidTokenRequestError("spec.audiences: must be a list of non-empty strings")
    seconds = spec.get("expirationSeconds", DEFAULT_SECONDS)
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise InvalidTokenRequestError(f"spec.expirationSeconds: must be an integer, got {seconds!r}")
    invalid = f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration"
    if seconds < MIN_SECONDS:
        raise InvalidTokenRequestError(f"{invalid} less than 10 minutes")
    if seconds > 2**32:
        raise InvalidTokenRequestError(f"{invalid} larger than 2^32 seconds")
    seconds = min(seconds, MAX_SECONDS)
    token, expires = issuer.token(namespace, name, audience=audiences, seconds=seconds)
    now = datetime.now(UTC)
    return {
        "apiVersion": API_VERSION,
        "kind": "TokenRequest",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": _iso(now)},
        "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": None},
        "status": {"token": token, "expirationTimestamp": _iso(datetime.fromtimestamp(expires, UTC))},
    }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
