"""What the data plane knows of a stage: copied out of moto's state, used without its lock.

:func:`find_stage` reads an HTTP API's stage, routes and integrations from moto's
``apigatewayv2`` backends into frozen views; :class:`Exchange` is one request's way
through the gateway (what its access log line is made of).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emulation.apigatewayv2.events import HttpRequestView
from emulation.core.moto_compat import existing_backends

if TYPE_CHECKING:
    from emulation.core.app import EngineApp


@dataclass(frozen=True)
class IntegrationView:
    integration_id: str
    type: str
    uri: str
    payload_format_version: str
    timeout_ms: int


@dataclass(frozen=True)
class StageView:
    """A stage and everything routing needs, copied out of moto under the state lock."""

    account_id: str
    region: str
    api_id: str
    stage: str
    stage_variables: dict[str, str]
    access_log: dict[str, str] | None
    routes: list[tuple[str, str, str]]
    integrations: dict[str, IntegrationView]
    default_route_settings: dict[str, Any]
    route_settings: dict[str, Any]


@dataclass
class Exchange:
    """One request through the gateway: what the access log is made of."""

    request_id: str
    started: float
    stage: StageView
    request: HttpRequestView
    domain_name: str
    route_key: str = "-"
    status: int = 0
    response_length: int = 0
    integration_latency: float | None = None
    integration_status: int | None = None
    integration_request_id: str | None = None
    error_message: str | None = None
    integration_error: str | None = None


def find_stage(engine: EngineApp, api_id: str, stage_name: str) -> StageView | None:
    """The stage ``stage_name`` of the HTTP API ``api_id`` in any account and region, copied
    out of moto under the state lock (None when there is no such API or stage)."""
    with engine.state_lock.shared():
        for account_id, region, backend in existing_backends("apigatewayv2"):
            api = backend.apis.get(api_id)
            if api is None:
                continue
            stage = api.stages.get(stage_name)
            if stage is None:
                return None
            integrations = {
                i.id: IntegrationView(
                    i.id,
                    str(i.integration_type or ""),
                    str(i.integration_uri or ""),
                    str(i.payload_format_version or "2.0"),
                    int(i.timeout_in_millis or 30000),
                )
                for i in api.integrations.values()
            }
            routes = [
                (str(r.route_key), str(r.target or ""), str(r.authorization_type or "NONE"))
                for r in api.routes.values()
            ]
            return StageView(
                account_id=str(account_id),
                region=str(region),
                api_id=api_id,
                stage=stage_name,
                stage_variables=dict(stage.stage_variables or {}),
                access_log=dict(stage.access_log_settings) if stage.access_log_settings else None,
                routes=routes,
                integrations=integrations,
                default_route_settings=dict(stage.default_route_settings or {}),
                route_settings=dict(stage.route_settings or {}),
            )
    return None
