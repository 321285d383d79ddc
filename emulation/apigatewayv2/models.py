"""HTTP API v2: the data plane moto lacks (stage updates are in :mod:`.management`).

Data plane. A deployed stage answers at the local invoke URL::

    http://127.0.0.1:<port>/_aws/execute-api/<api-id>/<stage>/<path>

(for a ``$default`` stage the stage segment is left out; LocalStack uses the same
``/_aws/execute-api`` prefix). A request is routed by route key
(:mod:`~emulation.apigatewayv2.routing`), sent to the route's ``AWS_PROXY`` Lambda
integration as a payload format 2.0 (or 1.0) event through the engine's Lambda runtime,
and the answer mapped back (:mod:`~emulation.apigatewayv2.events`). As in AWS: unknown API,
stage or route -> 404 ``{"message":"Not Found"}``; a body over 10 MB -> 413; a function
error, an invalid answer or a function API Gateway may not invoke (no ``lambda:AddPermission``
for ``apigateway.amazonaws.com``) -> 500 ``{"message":"Internal Server Error"}``; an
integration over its ``TimeoutInMillis`` -> 503. Every request that reached a stage is
written to the stage's access log group in the stage's format.

Before the integration, as in AWS: the route's throttling (:mod:`.throttling`: a token
bucket per stage and route from the stage's route settings, capped by the account's
10,000 requests/s and 5,000 burst; over it -> 429 ``{"message":"Too Many Requests"}``),
then its authorization: ``AWS_IAM`` routes need a SigV4 signature for ``execute-api`` by an
identity allowed ``execute-api:Invoke`` (:mod:`.authorization`; refusals are 403). JWT and
Lambda authorizers are not emulated: such a route answers 403 ``{"message":"Forbidden"}``
(and the engine log says why).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from emulation.apigatewayv2 import EXECUTE_API_PREFIX, accesslog
from emulation.apigatewayv2.authorization import IamRouteAuthorizer, execute_api_arn
from emulation.apigatewayv2.events import (
    HttpRequestView,
    HttpResponseView,
    MalformedLambdaResponseError,
    RequestContextView,
    event_v1,
    event_v2,
    response_v1,
    response_v2,
)
from emulation.apigatewayv2.exceptions import (
    ForbiddenException,
    GatewayResponseError,
    TooManyRequestsException,
)
from emulation.apigatewayv2.routing import RouteMatch, select_route
from emulation.apigatewayv2.stages import Exchange, IntegrationView, StageView, find_stage
from emulation.apigatewayv2.throttling import StageThrottle, route_limits
from emulation.awslambda.cloudwatch import now_ms, put_log_events
from emulation.awslambda.exceptions import LambdaError, RequestTooLargeException
from emulation.awslambda.exceptions import TooManyRequestsException as FunctionThrottled
from emulation.awslambda.invocation import Invocation, InvocationResult
from emulation.core.request import AwsRequest

if TYPE_CHECKING:
    from emulation.awslambda.models import LambdaRuntime
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

MAX_BODY = 10 * 1024 * 1024
DEFAULT_STAGE = "$default"


def _gateway_response(
    status: int, message: str, request_id: str, error_type: str | None = None
) -> HttpResponseView:
    headers = [("Content-Type", "application/json"), ("apigw-requestid", request_id)]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return HttpResponseView(status, headers, json.dumps({"message": message}).encode("utf-8"))


def new_request_id() -> str:
    """An id shaped like API Gateway's (``JKJaXmPLvHcESHA=``)."""
    return base64.b64encode(os.urandom(11)).decode("ascii")


class HttpApiDataPlane:
    """Answers ``/_aws/execute-api/...`` requests (see the module docstring)."""

    def __init__(self, engine: EngineApp, runtime: Callable[[], LambdaRuntime | None]) -> None:
        self.engine = engine
        self._runtime = runtime
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="execute-api")
        self.requests = 0
        self.throttled = 0
        self._warned_groups: set[str] = set()
        self.throttle = StageThrottle()
        self.authorizer = IamRouteAuthorizer(engine)

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def reset(self) -> None:
        """The engine's state was wiped: full buckets, no cached identities."""
        self.throttle.reset()
        self.authorizer.reset()

    def find_stage(self, api_id: str, stage_name: str) -> StageView | None:
        return find_stage(self.engine, api_id, stage_name)

    def _locate(self, path: str, api_id: str | None = None) -> tuple[StageView, str] | None:
        """The stage a path addresses and the path below it (``api_id``: the API named by
        the host, ``<api-id>.execute-api.localhost.localstack.cloud``; the path is then
        ``/<stage>/...``)."""
        if api_id is None:
            api_id, _, below = path[len(EXECUTE_API_PREFIX) :].partition("/")
        else:
            below = path[1:] if path.startswith("/") else path
        first, _, deeper = below.partition("/")
        if first and first != DEFAULT_STAGE:
            stage = self.find_stage(api_id, first)
            if stage is not None:
                return stage, "/" + deeper
        stage = self.find_stage(api_id, DEFAULT_STAGE)
        if stage is not None:
            return stage, "/" + below
        return None

    # -- requests -------------------------------------------------------------------------
    def handle(self, request: AwsRequest, api_id: str | None = None) -> Response:
        """Answer one data-plane request (never raises: a bug of ours is a 500 as in AWS).

        ``api_id``: the API the host name addresses (then the path starts with the stage).
        """
        self.requests += 1
        request_id = new_request_id()
        try:
            return self._handle(request, request_id, api_id)
        except Exception:
            log.exception("execute-api request %s %s failed", request.method, request.path)
            view = _gateway_response(500, "Internal Server Error", request_id)
            return Response(view.body, status=view.status, headers=view.headers)

    def _handle(self, request: AwsRequest, request_id: str, api_id: str | None) -> Response:
        located = self._locate(request.path, api_id)
        if located is None:
            view = _gateway_response(404, "Not Found", request_id)
            return Response(view.body, status=view.status, headers=view.headers)
        stage, path = located
        http = self._request_view(request, stage, path)
        exchange = Exchange(request_id, time.perf_counter(), stage, http, _host(request, stage))
        view = self._answer(exchange, request)
        exchange.status = view.status
        exchange.response_length = len(view.body)
        if not any(name.lower() == "apigw-requestid" for name, _ in view.headers):
            view.headers.append(("apigw-requestid", request_id))
        self._access_log(exchange)
        return Response(view.body, status=view.status, headers=view.headers)

    def _request_view(self, request: AwsRequest, stage: StageView, path: str) -> HttpRequestView:
        environ = request.environ
        headers = dict(request.headers)
        length = str(environ.get("CONTENT_LENGTH") or "")
        if length:
            headers["content-length"] = length
        source_ip = str(environ.get("REMOTE_ADDR", "127.0.0.1"))
        headers.setdefault("x-forwarded-for", source_ip)
        headers.setdefault("x-forwarded-proto", str(environ.get("wsgi.url_scheme", "http")))
        headers.setdefault("x-forwarded-port", str(environ.get("SERVER_PORT", "")))
        headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")
        path = path.encode("latin-1", "replace").decode("utf-8", "replace")
        raw_path = path if stage.stage == DEFAULT_STAGE else f"/{stage.stage}{path}"
        return HttpRequestView(
            method=request.method,
            path=path,
            raw_path=raw_path,
            raw_query=request.query_string,
            headers=headers,
            body=request.body,
            source_ip=source_ip,
            protocol=str(environ.get("SERVER_PROTOCOL", "HTTP/1.1")),
        )

    def _answer(self, exchange: Exchange, request: AwsRequest) -> HttpResponseView:
        rid = exchange.request_id
        http = exchange.request
        if len(http.body) > MAX_BODY:
            exchange.error_message = "Request Entity Too Large"
            return _gateway_response(413, "Request Entity Too Large", rid)
        route = select_route(exchange.stage.routes, http.method, http.path)
        if route is None:
            exchange.error_message = "Not Found"
            log.info(
                "execute-api %s: no route for %s %s (routes: %s)",
                exchange.stage.api_id,
                http.method,
                http.path,
                ", ".join(sorted(r[0] for r in exchange.stage.routes)) or "none",
            )
            return _gateway_response(404, "Not Found", rid)
        exchange.route_key = route.route_key
        try:
            self._admit(exchange, route, request)
        except GatewayResponseError as refusal:
            exchange.error_message = refusal.message
            return _gateway_response(refusal.status, refusal.message, rid, refusal.code)
        integration = exchange.stage.integrations.get(route.target.removeprefix("integrations/"))
        if integration is None or integration.type != "AWS_PROXY":
            kind = integration.type if integration else f"missing target {route.target!r}"
            log.warning("execute-api %s: integration %s is not emulated", exchange.stage.api_id, kind)
            exchange.error_message = "Internal Server Error"
            return _gateway_response(500, "Internal Server Error", rid)
        return self._lambda_proxy(exchange, route, integration)

    def _admit(self, exchange: Exchange, route: RouteMatch, request: AwsRequest) -> None:
        """The route's throttling, then its authorization; raises the gateway's refusal."""
        stage = exchange.stage
        limits = route_limits(stage.default_route_settings, stage.route_settings.get(route.route_key))
        where = (stage.account_id, stage.region, stage.api_id, stage.stage)
        if not self.throttle.admit(where, route.route_key, limits):
            self.throttled += 1
            raise TooManyRequestsException()
        kind = route.authorization_type.upper()
        if kind == "NONE":
            return
        if kind == "AWS_IAM":
            http = exchange.request
            arn = execute_api_arn(
                stage.region, stage.account_id, stage.api_id, stage.stage, http.method, http.path
            )
            self.authorizer.authorize(request, stage.region, stage.account_id, arn)
            return
        log.warning(
            "execute-api %s: route %r uses %s authorization, which the local engine does not emulate",
            stage.api_id,
            route.route_key,
            route.authorization_type,
        )
        raise ForbiddenException()

    def _lambda_proxy(
        self, exchange: Exchange, route: RouteMatch, integration: IntegrationView
    ) -> HttpResponseView:
        rid = exchange.request_id
        stage = exchange.stage
        runtime = self._runtime()
        function_arn = lambda_arn_of(integration.uri)
        if runtime is None or function_arn is None:
            exchange.error_message = exchange.integration_error = "no Lambda runtime or no function ARN"
            log.warning("execute-api %s: cannot invoke %r", stage.api_id, integration.uri)
            return _gateway_response(500, "Internal Server Error", rid)
        ctx = RequestContextView(
            account_id=stage.account_id,
            api_id=stage.api_id,
            stage=stage.stage,
            route_key=route.route_key,
            request_id=rid,
            domain_name=exchange.domain_name,
            domain_prefix=exchange.domain_name.split(".", 1)[0],
            path_parameters=route.path_parameters,
            stage_variables=stage.stage_variables,
        )
        v1 = integration.payload_format_version == "1.0"
        event = event_v1(exchange.request, ctx) if v1 else event_v2(exchange.request, ctx)
        _, _, _, region, account, *_ = [*function_arn.split(":"), "", "", "", "", ""][:6]
        invocation = Invocation(
            function=function_arn,
            qualifier=None,
            payload_text=json.dumps(event),
            account_id=account or stage.account_id,
            region=region or stage.region,
            request_id=str(uuid.uuid4()),
        )
        started = time.perf_counter()
        try:
            result = self._invoke(runtime, invocation, integration, route, stage)
        except _GatewayAnswerError as answer:
            exchange.error_message = answer.message
            exchange.integration_error = answer.detail
            exchange.integration_latency = (time.perf_counter() - started) * 1000
            return _gateway_response(answer.status, answer.message, rid)
        exchange.integration_latency = (time.perf_counter() - started) * 1000
        exchange.integration_status = 200
        exchange.integration_request_id = result.request_id
        if result.function_error:
            doc = result.error_document() or {}
            exchange.error_message = "Internal Server Error"
            exchange.integration_error = str(doc.get("errorMessage", "function error"))[:500]
            return _gateway_response(500, "Internal Server Error", rid)
        try:
            return response_v1(result.payload) if v1 else response_v2(result.payload)
        except MalformedLambdaResponseError as exc:
            log.warning("execute-api %s: malformed Lambda proxy response: %s", stage.api_id, exc)
            exchange.error_message = "Internal Server Error"
            exchange.integration_error = f"malformed Lambda proxy response: {exc}"
            return _gateway_response(500, "Internal Server Error", rid)

    def _invoke(
        self,
        runtime: LambdaRuntime,
        invocation: Invocation,
        integration: IntegrationView,
        route: RouteMatch,
        stage: StageView,
    ) -> InvocationResult:
        try:
            snapshot, _ = runtime.resolve(invocation.function, None, invocation.account_id, invocation.region)
        except LambdaError as exc:
            raise _GatewayAnswerError(500, "Internal Server Error", exc.message) from None
        method, _, route_path = route.route_key.partition(" ")
        resource = f"{method}{route_path}" if route_path else route.route_key
        partition = invocation.function.split(":")[1] if invocation.function.startswith("arn:") else "aws"
        where = f"{stage.region}:{stage.account_id}"
        source_arn = f"arn:{partition}:execute-api:{where}:{stage.api_id}/{stage.stage}/{resource}"
        if not runtime.apigateway_may_invoke(snapshot, source_arn):
            detail = (
                f"API Gateway may not invoke {snapshot.name}: add a lambda:InvokeFunction permission "
                f"for apigateway.amazonaws.com with SourceArn matching {source_arn}"
            )
            log.warning("execute-api %s: %s", stage.api_id, detail)
            raise _GatewayAnswerError(500, "Internal Server Error", detail)
        future = self._pool.submit(runtime.invoke, invocation)
        try:
            return future.result(timeout=integration.timeout_ms / 1000)
        except FutureTimeout:
            raise _GatewayAnswerError(503, "Service Unavailable", "integration timeout") from None
        except RequestTooLargeException as exc:
            raise _GatewayAnswerError(413, "Request Entity Too Large", exc.message) from None
        except FunctionThrottled as exc:
            raise _GatewayAnswerError(429, "Too Many Requests", exc.message) from None
        except LambdaError as exc:
            raise _GatewayAnswerError(500, "Internal Server Error", exc.message) from None

    # -- access logs ----------------------------------------------------------------------
    def _access_log(self, exchange: Exchange) -> None:
        settings = exchange.stage.access_log
        if not settings:
            return
        target = accesslog.destination(str(settings.get("destinationArn", "")))
        format_text = str(settings.get("format", ""))
        if target is None or not format_text:
            return
        account, region, group = target
        line = accesslog.render(format_text, accesslog.exchange_context(exchange))
        try:
            written = put_log_events(
                self.engine,
                account,
                region,
                group,
                accesslog.stream_name(exchange.stage.api_id, exchange.stage.stage),
                [(now_ms(), line)],
                create_group=False,
            )
        except Exception:  # an access log must never fail the request
            log.exception("access log of %s could not be written", exchange.stage.api_id)
            return
        if not written and group not in self._warned_groups:
            self._warned_groups.add(group)
            log.warning(
                "access log group %s does not exist; access logs of %s are dropped",
                group,
                exchange.stage.api_id,
            )


class _GatewayAnswerError(Exception):
    def __init__(self, status: int, message: str, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


def _host(request: AwsRequest, stage: StageView) -> str:
    return request.headers.get("host") or f"{stage.api_id}.execute-api.{stage.region}.amazonaws.com"


def lambda_arn_of(uri: str) -> str | None:
    """The function ARN of an integration URI (plain ARN or the apigateway invocation path)."""
    if ":lambda:path/" in uri and "/functions/" in uri:
        return uri.split("/functions/", 1)[1].removesuffix("/invocations")
    if uri.startswith("arn:") and ":lambda:" in uri and ":function:" in uri:
        return uri
    return None
