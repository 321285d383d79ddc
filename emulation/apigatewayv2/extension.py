"""The API Gateway v2 extension: the HTTP API data plane and the stage calls moto lacks.

* ``/_aws/execute-api/<api-id>/<stage>/<path>`` (any method), or ``/<stage>/<path>`` on
  LocalStack's host name ``<api-id>.execute-api.localhost.localstack.cloud``: the data plane
  (:class:`~emulation.apigatewayv2.models.HttpApiDataPlane`). The engine's IAM layer lets
  these requests through: the route decides, as in AWS (``NONE``: public; ``AWS_IAM``:
  SigV4 and ``execute-api:Invoke``, checked by the data plane), after the stage's
  throttling.
* ``PATCH /v2/apis/<id>/stages/<name>``: ``UpdateStage``.
* ``DELETE /v2/apis/<id>/stages/<name>/accesslogsettings``: ``DeleteAccessLogSettings``.
* ``POST /v2/apis/<id>/stages``: ``CreateStage``, after checking its access log settings
  as AWS does, goes on to moto.

Every other API Gateway call falls through to moto unchanged.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from werkzeug.wrappers import Response

from emulation.apigatewayv2 import EXECUTE_API_PREFIX
from emulation.apigatewayv2.exceptions import ApiGatewayV2Error
from emulation.core.exceptions import error_response
from emulation.core.extension import Extension
from emulation.core.hosts import localstack_execute_api
from emulation.core.request import AwsRequest
from emulation.core.settings import EngineSettings

if TYPE_CHECKING:
    from emulation.apigatewayv2.models import HttpApiDataPlane
    from emulation.awslambda.models import LambdaRuntime
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

_STAGES = re.compile(r"^/v2/apis/(?P<api>[^/]+)/stages/?$")
_STAGE = re.compile(r"^/v2/apis/(?P<api>[^/]+)/stages/(?P<stage>[^/]+)(?P<rest>/accesslogsettings)?/?$")


class HttpApiExtension(Extension):
    """HTTP API v2 data plane plus ``UpdateStage``/``DeleteAccessLogSettings``."""

    name = "apigatewayv2"
    order = 55

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self.engine: EngineApp | None = None
        self._data_plane: HttpApiDataPlane | None = None
        self._lock = threading.Lock()

    def start(self, engine: EngineApp) -> None:
        self.engine = engine

    def data_plane(self) -> HttpApiDataPlane | None:
        """The data plane, made on the first request for it (its modules are a sixth of the
        extensions' share of the engine's start); None before :meth:`start`."""
        if self._data_plane is None and self.engine is not None:
            with self._lock:
                if self._data_plane is None:
                    from emulation.apigatewayv2.models import HttpApiDataPlane

                    self._data_plane = HttpApiDataPlane(self.engine, self._lambda_runtime)
        return self._data_plane

    def warm_up(self) -> None:
        import emulation.apigatewayv2.management  # noqa: F401

        self.data_plane()

    def stop(self) -> None:
        if self._data_plane is not None:
            self._data_plane.stop()

    def reset(self) -> None:
        if self._data_plane is not None:
            self._data_plane.reset()

    def health(self) -> dict[str, Any]:
        if self._data_plane is None:
            return {"requests": 0, "throttled": 0}
        return {"requests": self._data_plane.requests, "throttled": self._data_plane.throttled}

    def _lambda_runtime(self) -> LambdaRuntime | None:
        from emulation.awslambda.extension import LambdaRuntimeExtension

        if self.engine is None:
            return None
        for ext in self.engine.extensions:
            if isinstance(ext, LambdaRuntimeExtension):
                return ext.runtime
        return None

    def handle(self, request: AwsRequest) -> Response | None:
        if request.path.startswith(EXECUTE_API_PREFIX):
            data_plane = self.data_plane()
            return None if data_plane is None else data_plane.handle(request)
        api_id = localstack_execute_api(request.headers.get("host"))
        if api_id is not None:
            data_plane = self.data_plane()
            if data_plane is not None:
                return data_plane.handle(request, api_id)
        if not request.path.startswith("/v2/apis/") or request.signing_service not in (None, "apigateway"):
            return None
        try:
            return self._management(request)
        except ApiGatewayV2Error as exc:
            return error_response(exc)

    def _management(self, request: AwsRequest) -> Response | None:
        if self.engine is None:
            return None
        from emulation.apigatewayv2.management import (
            check_access_log_settings,
            delete_access_log_settings,
            update_stage,
        )

        if request.method == "POST" and _STAGES.match(request.path):
            body = request.json()
            if isinstance(body, dict) and "accessLogSettings" in body:
                check_access_log_settings(body["accessLogSettings"])
            return None
        match = _STAGE.match(request.path)
        if not match:
            return None
        account, region = self._where(request)
        api_id, stage = unquote(match["api"]), unquote(match["stage"])
        if match["rest"] and request.method == "DELETE":
            delete_access_log_settings(self.engine, account, region, api_id, stage)
            return Response(status=204)
        if not match["rest"] and request.method == "PATCH":
            body = request.json()
            doc = update_stage(
                self.engine, account, region, api_id, stage, body if isinstance(body, dict) else {}
            )
            return Response(json.dumps(doc), status=200, mimetype="application/json")
        return None

    def _where(self, request: AwsRequest) -> tuple[str, str]:
        """The caller's account and region (see :func:`caller_account_and_region`)."""
        from emulation.core.request import caller_account_and_region

        return caller_account_and_region(request, self.engine.state_lock if self.engine is not None else None)


def create(settings: EngineSettings) -> HttpApiExtension:
    """Registry factory (``emulation.extensions``)."""
    return HttpApiExtension(settings)
