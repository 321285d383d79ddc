"""moto's request dispatch: its per-service apps, REST routers, recorder and reset."""

from __future__ import annotations

from typing import Any

#: API Gateway v2's calls: signing name ``apigateway``, paths under ``/v2/``
_V2_PREFIX = "/v2/"


def dispatcher() -> Any:
    """moto's ``DomainDispatcherApplication``, except that API Gateway v2's calls are served
    by the app of moto's ``apigatewayv2`` alone.

    moto finds a backend by the SigV4 signing name, which v2 shares with the REST API
    (``apigateway``): moto would serve v2 through the REST API's app, whose backend imports
    an OpenAPI validator (about 0.25 s of CPU, a sixth of a cold ``up``'s engine work)
    that v2 never uses. The same ``ApiGatewayV2Response`` handlers answer either way.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    class EngineDispatcher(DomainDispatcherApplication):  # type: ignore[misc]
        def get_application(self, environ: dict[str, Any]) -> Any:
            path = environ.get("PATH_INFO", "")
            if isinstance(path, str) and path.startswith(_V2_PREFIX):
                host = self.infer_service_region_host(environ, path)
                if host is not None and self.get_backend_for_host(host) == "apigateway":
                    ensure_backend_app(self, "apigatewayv2")
                    return self.app_instances["apigatewayv2"]
            return super().get_application(environ)

    return EngineDispatcher(create_backend_app)


def warm_model(model_name: str) -> None:
    """Load moto's copy of a botocore model and build its REST router (about 0.1 s each)."""
    from moto.core.routing import get_service_router
    from moto.core.utils import get_service_model

    model = get_service_model(model_name)
    if model.protocol in {"rest-json", "rest-xml"}:
        get_service_router(model_name)._get_router(model.protocol)


def ensure_backend_app(dispatcher: Any, name: str) -> None:
    """Build the app moto's ``DomainDispatcherApplication`` serves ``name`` with, unless it has it."""
    from moto.moto_server.werkzeug_app import create_backend_app

    with dispatcher.lock:
        if name not in dispatcher.app_instances:
            dispatcher.app_instances[name] = create_backend_app(name)


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
