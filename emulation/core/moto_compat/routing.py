"""moto's request dispatch: the service apps, their dispatcher, REST routers, recorder and reset.

moto's server serves each service with a Flask app (``create_backend_app``) behind its
``DomainDispatcherApplication``, which picks the service from the request's signature,
host and path. Flask itself does nothing for moto's services but wrap them: no service
registers a hook, a session or an error handler, moto's CORS is off in the engine (see
:mod:`emulation.core.cors`) and every handler takes the request as an argument. Importing
Flask (with click, jinja2, itsdangerous, blinker, flask-cors and pdb) was yet a seventh
of the engine's start to its first answer, and its request context a share of every call.

So the engine serves moto's services with :class:`ServiceApp`, a WSGI app that routes
with the same werkzeug URL map moto builds (the same rules, converter and options) and
answers as moto's Flask wrapper does (``moto.core.utils.convert_to_flask_response``):
the request normalised and handed to moto's recorder, a ``ClientError`` made a 400,
the handler's ``(status, headers, body)`` made a response that is ``text/html`` unless
it says otherwise, HEAD keeping the ``Content-Length`` the handler gave, werkzeug's HTTP
errors (moto's own among them) answered as Flask answers them and any other exception
raised to the engine, as Flask does in debug mode. ``tests/emulation/test_moto_routing.py``
runs the same requests through moto's Flask apps and these and compares the answers.

:class:`EngineDispatcher` chooses the service as moto's dispatcher does. For a SigV4-signed
request to a service moto treats as ``<service>.<region>.amazonaws.com`` (every service
the platform uses; the test compares the two for every service moto has), it reads the
scope and matches moto's URL patterns itself, remembering the answer per scope; every
other request (unsigned, moto's API, the services moto treats specially) is given to
moto's own ``DomainDispatcherApplication``, made on first need. moto's API's dashboard
renders Flask templates, so moto's API keeps its Flask app.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

#: API Gateway v2's calls: signing name ``apigateway``, paths under ``/v2/``
_V2_PREFIX = "/v2/"

#: signing names moto serves under another service's name (moto's ``SIGNING_ALIASES``;
#: a contract test compares the two)
SIGNING_ALIASES = {
    "eventbridge": "events",
    "execute-api": "iot",
    "iotdata": "data.iot",
    "mobiletargeting": "pinpoint",
    "payment-cryptography": "controlplane.payment-cryptography",
}

#: services whose host moto infers from more than the signature's scope: their requests go
#: through moto's dispatcher (s3 and ses only for the paths named in :func:`_signed_scope`;
#: DynamoDB's by its target, see :func:`_dynamodb_backend`)
SPECIAL_SERVICES = frozenset(
    {
        "aidevops",
        "bedrock",
        "bedrock-agentcore",
        "budgets",
        "cloudfront",
        "dsql",
        "mediastore",
        "memorydb",
        "s3vectors",
        "sagemaker",
        "timestream",
    }
)

#: paths moto serves by path whatever the signature: its API and the instance metadata
_PATH_SERVED = ("/moto-api", "/favicon.ico", "/latest/meta-data/", "/latest/api/")

#: the methods every rule of moto's service apps takes
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS")


class EngineDispatcher:
    """Chooses moto's app for a request as ``DomainDispatcherApplication`` does (see the
    module docstring), and serves API Gateway v2's calls by ``apigatewayv2``'s app alone.

    moto finds a backend by the SigV4 signing name, which v2 shares with the REST API
    (``apigateway``): moto would serve v2 through the REST API's app, whose backend imports
    an OpenAPI validator (about 0.25 s of CPU, a sixth of a cold ``up``'s engine work)
    that v2 never uses. The same ``ApiGatewayV2Response`` handlers answer either way.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: the apps made so far, by moto's backend name
        self.app_instances: dict[Any, Any] = {}  # by name (None: no service, as in moto)
        self._motos: Any = None

    def create_app(self, name: Any) -> Any:
        return create_service_app(name)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.get_application(environ)(environ, start_response)

    def get_application(self, environ: dict[str, Any]) -> Any:
        name = self.backend_name(environ)  # None: create_app fails, as moto's does
        app = self.app_instances.get(name)
        if app is None:
            with self.lock:
                app = self.app_instances.get(name)
                if app is None:
                    app = self.app_instances[name] = self.create_app(name)
        return app

    def backend_name(self, environ: dict[str, Any]) -> str | None:
        """moto's name of the service serving ``environ``; None where moto finds none."""
        path = environ.get("PATH_INFO", "")
        if isinstance(path, bytes):
            path = path.decode("utf-8")
        scope = _signed_scope(environ, path)
        name = None
        if scope is not None:
            if scope[0] != "dynamodb":
                name = _backend_for_scope(*scope)
            elif target := environ.get("HTTP_X_AMZ_TARGET"):
                name = _dynamodb_backend(target)
        if name is None:
            name = self._motos_choice(environ, path)
        if name == "apigateway" and path.startswith(_V2_PREFIX):
            return "apigatewayv2"
        return name

    def _motos_choice(self, environ: dict[str, Any], path: str) -> str | None:
        """The backend moto's own dispatcher picks (its ``get_application``'s steps)."""
        from moto.moto_server.werkzeug_app import DEFAULT_SERVICE_REGION

        motos = self.motos_dispatcher()
        log.debug("%s %s goes through moto's own dispatcher", environ.get("REQUEST_METHOD"), path)
        host = None
        if path.startswith("/moto-api") or path == "/favicon.ico":
            host = "moto_api"
        elif path.startswith(("/latest/meta-data/", "/latest/api/")):
            host = "instance_metadata"
        with motos.lock:
            backend = motos.get_backend_for_host(host)
            if not backend:
                host = motos.infer_service_region_host(environ, path)
                if host is None:
                    service, region = DEFAULT_SERVICE_REGION
                    host = f"{service}.{region}.amazonaws.com"
                backend = motos.get_backend_for_host(host)
        return None if backend is None else str(backend)

    def motos_dispatcher(self) -> Any:
        """moto's ``DomainDispatcherApplication`` (imports Flask: made on first need)."""
        if self._motos is None:
            from moto.moto_server.werkzeug_app import DomainDispatcherApplication

            self._motos = DomainDispatcherApplication(create_service_app)
        return self._motos


def _signed_scope(environ: dict[str, Any], path: str) -> tuple[str, str] | None:
    """``(service, region)`` of a SigV4-signed request moto routes by its scope alone."""
    auth = environ.get("HTTP_AUTHORIZATION")
    if not auth or path.startswith(_PATH_SERVED):
        return None
    words = auth.split(",", 1)[0].split()
    if len(words) < 2:
        return None
    parts = words[1].split("/")
    if len(parts) != 5:
        return None
    region, signed = parts[2], parts[3].lower()
    if signed == "execute-api":
        return None
    service = SIGNING_ALIASES.get(signed, parts[3]).lower()
    if service in SPECIAL_SERVICES:
        return None
    if service == "s3" and (path.startswith("/v20180820/") or "s3-control" in environ.get("HTTP_HOST", "")):
        return None
    if service == "ses" and path.startswith("/v2/"):
        return None
    return service, region


@functools.lru_cache(maxsize=256)
def _dynamodb_backend(target: str) -> str | None:
    """moto's DynamoDB backend for a signed request's target: Streams, the 2011 API or
    today's (None for a target moto's dispatcher must judge, and a request without one)."""
    from moto.backends import list_of_moto_modules

    if target.startswith("DynamoDBStreams"):
        name = "dynamodbstreams"
    elif "_" in target:
        version = target.split("_")[1].split(".", maxsplit=1)[0]
        name = "dynamodb_v20111205" if version <= "20111205" else "dynamodb"
    else:
        return None
    return name if name in list_of_moto_modules() else None


@functools.lru_cache(maxsize=1024)
def _backend_for_scope(service: str, region: str) -> str | None:
    """The first of moto's URL patterns matching ``<service>.<region>.amazonaws.com``."""
    from moto.backend_index import backend_url_patterns

    url = f"http://{service}.{region}.amazonaws.com"
    for backend, pattern in backend_url_patterns:
        if pattern.match(url):
            return str(backend)
    return None


def create_service_app(name: str) -> Any:
    """The app serving moto's service ``name``: a :class:`ServiceApp`, except for moto's
    API, whose dashboard needs Flask (moto's own app)."""
    if name == "moto_api":
        from moto.moto_server.werkzeug_app import create_backend_app

        return create_backend_app(name)
    return ServiceApp(name)


class ServiceApp:
    """One moto service as a WSGI app: moto's URL rules and handlers, no Flask (see the
    module docstring)."""

    def __init__(self, service: str) -> None:
        from moto import backends
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.core.base_backend import BackendDict
        from werkzeug.routing import Map, Rule

        self.service = service
        # An instance only tells the URLs: any account and region would do (as in moto).
        backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
        if isinstance(backend_dict, BackendDict):
            regions = backend_dict[DEFAULT_ACCOUNT_ID]
            backend = regions["us-east-1"] if "us-east-1" in regions else regions["aws"]
        else:
            backend = backend_dict["global"]
        self.url_map = Map()
        self.url_map.converters["regex"] = _regex_converter()
        self.handlers: list[Any] = []
        for url_path, handler in backend.flask_paths.items():
            if not url_path:  # moto adds no rule for an empty path either
                continue
            self.url_map.add(
                Rule(url_path, endpoint=len(self.handlers), methods=HTTP_METHODS, strict_slashes=False)
            )
            self.handlers.append(handler)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug.exceptions import BadRequestKeyError, HTTPException

        request = _request_class()(environ)
        try:
            adapter = self.url_map.bind_to_environ(environ, server_name=None, subdomain="")
            endpoint, _arguments = adapter.match()
            response = _answer(self.handlers[endpoint], request)
        except BadRequestKeyError:
            raise  # Flask in debug mode raises these (a form field the handler missed)
        except HTTPException as error:
            response = error
        return response(environ, start_response)


def _answer(handler: Any, request: Any) -> Any:
    """What moto's Flask wrapper makes of a handler's result."""
    from botocore.exceptions import ClientError
    from moto import moto_api
    from moto.core.request import normalize_request

    try:
        request = normalize_request(request)
        moto_api.recorder._record_request(request)
        result = handler(request, request.raw_url, dict(request.headers))
    except ClientError as exc:
        result = 400, {}, exc.response["Error"]["Message"]
    if len(result) == 3:
        status, headers, content = result
    else:
        status, headers, content = 200, {}, result
    response = _response_class()(response=content, status=status, headers=headers)
    if request.method == "HEAD" and "content-length" in headers:
        response.headers["Content-Length"] = headers["content-length"]
    return response


@functools.cache
def _request_class() -> type:
    from moto.core.request import Request

    class ServiceRequest(Request):  # type: ignore[misc]
        """moto's request, as its server receives it."""

        from_wsgi_server = True

    return ServiceRequest


@functools.cache
def _response_class() -> type:
    from werkzeug.wrappers import Response

    class ServiceResponse(Response):  # type: ignore[misc]
        """werkzeug's response with Flask's defaults (``text/html``)."""

        default_mimetype = "text/html"

    return ServiceResponse


@functools.cache
def _regex_converter() -> type:
    from werkzeug.routing import BaseConverter

    class RegexConverter(BaseConverter):  # type: ignore[misc]
        """``<regex("..."):name>``: moto's converter (a whole regular expression, slashes too)."""

        part_isolating = False

        def __init__(self, url_map: Any, *items: Any) -> None:
            super().__init__(url_map)
            self.regex = items[0]

    return RegexConverter


def warm_model(model_name: str) -> None:
    """Load moto's copy of a botocore model and build its REST router (about 0.1 s each)."""
    from moto.core.routing import get_service_router
    from moto.core.utils import get_service_model

    model = get_service_model(model_name)
    if model.protocol in {"rest-json", "rest-xml"}:
        get_service_router(model_name)._get_router(model.protocol)


def ensure_backend_app(dispatcher: Any, name: str) -> None:
    """Build the app ``dispatcher`` serves moto's service ``name`` with, unless it has it."""
    with dispatcher.lock:
        if name not in dispatcher.app_instances:
            dispatcher.app_instances[name] = dispatcher.create_app(name)


def dispatcher() -> EngineDispatcher:
    return EngineDispatcher()


def reset_moto_state() -> None:
    """Wipe every backend of every service and moto's registry of model instances."""
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data

    BackendDict.reset()
    reset_model_data()


def install_recorder(recorder: Any) -> None:
    """Put ``recorder`` where moto looks for its recorder on every request.

    Raises AttributeError when moto moved it: the engine must not start with moto's own
    recorder (which keeps signed requests in a file and replays them) in place.
    """
    import moto.moto_api

    if not hasattr(moto.moto_api, "recorder"):
        raise AttributeError("moto.moto_api.recorder is gone: update emulation.core.moto_compat.routing")
    moto.moto_api.recorder = recorder
