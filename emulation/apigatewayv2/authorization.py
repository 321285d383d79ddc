"""``AWS_IAM`` authorization of HTTP API routes, verified against the engine's IAM.

A route whose ``AuthorizationType`` is ``AWS_IAM`` admits only requests signed with
Signature Version 4 for the service ``execute-api`` in the API's region, by an identity
the engine knows (the bootstrap admin, IAM users, role and user sessions) whose policies
allow ``execute-api:Invoke`` on
``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>`` (the path as
requested, below the stage). Signatures are checked by :mod:`emulation.iam` (the same
code that checks every other signed request) with the IAM extension's state when it runs,
or a backend of the authorizer's own under ``--iam off``: the route's authorization is
the API's configuration, not the engine's IAM mode, so it is enforced either way.

Refusals are answered as API Gateway does, always 403 ``{"message": ...}``:

* no signature: ``Forbidden``;
* a malformed or non-SigV4 Authorization header: ``IncompleteSignatureException``;
* scoped to another service or region, a wrong or stale signature:
  ``InvalidSignatureException``;
* an unknown key or session token: ``The security token included in the request is
  invalid.``; expired credentials: ``... is expired``;
* a known identity without the permission: ``User: <arn> is not authorized to perform:
  execute-api:Invoke on resource: <arn>`` (``with an explicit deny`` when one applies).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from emulation.apigatewayv2.exceptions import (
    AccessDeniedException,
    ExpiredTokenException,
    ForbiddenException,
    GatewayResponseError,
    IncompleteSignatureException,
    InvalidSignatureException,
    UnrecognizedClientException,
)
from emulation.core.request import AwsRequest

if TYPE_CHECKING:
    from emulation.core.app import EngineApp
    from emulation.iam.exceptions import IamError
    from emulation.iam.models import EnforcementBackend

INVOKE_ACTION = "execute-api:Invoke"
_FROM_IAM: dict[str, type[GatewayResponseError]] = {
    "UnrecognizedClientException": UnrecognizedClientException,
    "ExpiredTokenException": ExpiredTokenException,
    "InvalidSignatureException": InvalidSignatureException,
    "IncompleteSignatureException": IncompleteSignatureException,
}


def execute_api_arn(region: str, account_id: str, api_id: str, stage: str, method: str, path: str) -> str:
    """The ARN ``execute-api:Invoke`` is authorized on for one request."""
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{method.upper()}/{path.lstrip('/')}"


def _gateway_error(error: IamError) -> GatewayResponseError:
    """The data-plane answer to an authentication failure of :mod:`emulation.iam`."""
    from emulation.iam.exceptions import Protocol

    code = error.status_and_code(Protocol.REST_JSON)[1]
    kind = _FROM_IAM.get(code, InvalidSignatureException)
    if kind in (UnrecognizedClientException, ExpiredTokenException):
        return kind()
    return kind(error.message)


class IamRouteAuthorizer:
    """Checks the SigV4 signature and ``execute-api:Invoke`` of requests to AWS_IAM routes."""

    def __init__(self, engine: EngineApp) -> None:
        self.engine = engine
        self._own_backend: EnforcementBackend | None = None

    def _backend(self) -> EnforcementBackend:
        from emulation.iam.extension import IamEnforcement
        from emulation.iam.models import EnforcementBackend

        for extension in self.engine.extensions:
            if isinstance(extension, IamEnforcement):
                return extension.backend
        if self._own_backend is None:
            settings = self.engine.settings
            self._own_backend = EnforcementBackend(settings.admin_access_key, settings.admin_secret_key)
        return self._own_backend

    def reset(self) -> None:
        if self._own_backend is not None:
            self._own_backend.reset()

    def authorize(self, request: AwsRequest, region: str, account_id: str, resource_arn: str) -> None:
        """Return when the request may invoke ``resource_arn``; raise the gateway's refusal."""
        # emulation.iam is imported on the first AWS_IAM request (an engine under
        # --iam off that never sees one does not load it)
        from emulation.iam.actions import Check, RequestTarget
        from emulation.iam.exceptions import IamError, Protocol
        from emulation.iam.policies import Resource
        from emulation.iam.sigv4 import check_request_time, parse_auth

        try:
            auth = parse_auth(request)
        except IamError as error:
            raise IncompleteSignatureException(error.message) from None
        if auth is None:
            raise ForbiddenException()
        if auth.service != "execute-api":
            raise InvalidSignatureException("Credential should be scoped to correct service: 'execute-api'. ")
        if auth.region != region:
            raise InvalidSignatureException("Credential should be scoped to a valid region. ")
        backend = self._backend()
        now = datetime.now(UTC)
        with self.engine.state_lock.shared():
            try:
                check_request_time(auth, now)
                identity = backend.authenticate(auth, request)
            except IamError as error:
                raise _gateway_error(error) from None
            if identity.is_admin:
                return
            if identity.account_id != account_id:
                # HTTP APIs have no resource policy that could let another account in
                raise AccessDeniedException(
                    f"User: {identity.arn} is not authorized to perform: {INVOKE_ACTION} "
                    f"on resource: {resource_arn}"
                )
            target = RequestTarget(
                service="execute-api",
                operation="Invoke",
                protocol=Protocol.REST_JSON,
                checks=[Check(INVOKE_ACTION, Resource(resource_arn, "execute-api", True))],
            )
            context = {
                "aws:currenttime": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
                "aws:epochtime": [str(int(now.timestamp()))],
                "aws:securetransport": ["true"],
                "aws:sourceip": [str(request.environ.get("REMOTE_ADDR", "127.0.0.1"))],
                "aws:requestedregion": [region],
            }
            denial = backend.authorize(identity, target, context)
        if denial is not None:
            explicit = " with an explicit deny" if "explicit deny" in denial.reason else ""
            raise AccessDeniedException(
                f"User: {identity.arn} is not authorized to perform: {INVOKE_ACTION} "
                f"on resource: {resource_arn}{explicit}"
            )
