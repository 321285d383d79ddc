"""``UpdateStage`` and ``DeleteAccessLogSettings`` of HTTP APIs (moto has neither), and the
access log settings check ``CreateStage`` needs: changes to the stage moto stores."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from emulation.apigatewayv2 import accesslog
from emulation.apigatewayv2.exceptions import BadRequestException, NotFoundException

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

STAGE_FIELDS = {
    "autoDeploy": "auto_deploy",
    "clientCertificateId": "client_certificate_id",
    "defaultRouteSettings": "default_route_settings",
    "description": "description",
    "routeSettings": "route_settings",
    "stageVariables": "stage_variables",
}


def check_access_log_settings(settings: Any) -> None:
    if not isinstance(settings, dict):
        raise BadRequestException("accessLogSettings must be an object")
    arn = str(settings.get("destinationArn", ""))
    if accesslog.destination(arn) is None:
        raise BadRequestException(f"Invalid destination ARN: {arn!r} is not a CloudWatch Logs log group ARN")
    if not str(settings.get("format", "")).strip():
        raise BadRequestException("accessLogSettings.format must not be empty")
    if "$context.requestId" not in str(settings["format"]) and "$context.extendedRequestId" not in str(
        settings["format"]
    ):
        raise BadRequestException(
            "Access log format must contain $context.requestId or $context.extendedRequestId"
        )


def update_stage(
    engine: EngineApp, account_id: str, region: str, api_id: str, stage_name: str, body: dict[str, Any]
) -> dict[str, Any]:
    """``UpdateStage``: change the given fields of a stage moto stores; returns the stage."""
    if "accessLogSettings" in body:
        check_access_log_settings(body["accessLogSettings"])
    with engine.state_lock.shared():
        stage = _stage(engine, account_id, region, api_id, stage_name)
        if "accessLogSettings" in body:
            stage.access_log_settings = dict(body["accessLogSettings"])
        for field_name, attribute in STAGE_FIELDS.items():
            if field_name in body:
                setattr(stage, attribute, body[field_name])
        stage.updated = datetime.now()
        doc: dict[str, Any] = stage.to_json()
    engine.mark_dirty("apigatewayv2")
    return doc


def delete_access_log_settings(
    engine: EngineApp, account_id: str, region: str, api_id: str, stage_name: str
) -> None:
    with engine.state_lock.shared():
        stage = _stage(engine, account_id, region, api_id, stage_name)
        stage.access_log_settings = None
        stage.updated = datetime.now()
    engine.mark_dirty("apigatewayv2")


def _stage(engine: EngineApp, account_id: str, region: str, api_id: str, stage_name: str) -> Any:
    backend = engine.backend("apigatewayv2", region, account_id)
    api = backend.apis.get(api_id)
    if api is None:
        raise NotFoundException(f"Invalid API identifier specified {api_id}")
    stage = api.stages.get(stage_name)
    if stage is None:
        raise NotFoundException(f"Invalid stage identifier specified {stage_name}")
    return stage
