"""Access logs of an HTTP API stage: ``$context`` variables substituted into its format.

The stage's ``AccessLogSettings`` name a destination log group (by ARN) and a format such
as ``{"requestId":"$context.requestId","status":"$context.status"}``. Variables without a
value become ``-`` as in AWS. Values are JSON-escaped (without quotes), so a JSON format
stays valid JSON whatever a client sends in its user agent.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulation.apigatewayv2.stages import Exchange

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")
LOG_GROUP_ARN = re.compile(
    r"^arn:[^:]+:logs:(?P<region>[^:]+):(?P<account>\d+):log-group:(?P<group>[^:]+)(:\*)?$"
)


def render(format_text: str, context: dict[str, Any]) -> str:
    """Substitute every ``$context.name`` of ``format_text`` from ``context``."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        value = context.get(name)
        if value is None or value == "":
            return "-"
        return json.dumps(str(value))[1:-1]

    return _VARIABLE.sub(value_of, format_text)


def destination(arn: str) -> tuple[str, str, str] | None:
    """``(account, region, log group)`` of a destination ARN, or None when it is not one."""
    match = LOG_GROUP_ARN.match(arn.strip())
    if not match:
        return None
    return match["account"], match["region"], match["group"]


def stream_name(api_id: str, stage: str) -> str:
    """One log stream per API and stage (AWS's stream names are opaque; this one says what it is)."""
    return f"{api_id}_{stage}"


def exchange_context(exchange: Exchange) -> dict[str, Any]:
    """The ``$context`` variables of one request through the gateway."""
    http = exchange.request
    elapsed = (time.perf_counter() - exchange.started) * 1000
    started_ms = int(time.time() * 1000 - elapsed)
    integration_latency = (
        f"{exchange.integration_latency:.0f}" if exchange.integration_latency is not None else None
    )
    context: dict[str, Any] = {
        "requestId": exchange.request_id,
        "extendedRequestId": exchange.request_id,
        "apiId": exchange.stage.api_id,
        "accountId": exchange.stage.account_id,
        "stage": exchange.stage.stage,
        "routeKey": exchange.route_key,
        "domainName": exchange.domain_name,
        "domainPrefix": exchange.domain_name.split(".", 1)[0],
        "httpMethod": http.method,
        "path": http.raw_path,
        "protocol": http.protocol,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(started_ms / 1000)),
        "requestTimeEpoch": started_ms,
        "status": exchange.status,
        "responseLength": exchange.response_length,
        "responseLatency": f"{elapsed:.0f}",
        "integrationLatency": integration_latency,
        "integrationStatus": exchange.integration_status,
        "integrationErrorMessage": exchange.integration_error,
        "identity.sourceIp": http.source_ip,
        "identity.userAgent": http.headers.get("user-agent"),
        "error.message": exchange.error_message,
        "error.messageString": json.dumps(exchange.error_message) if exchange.error_message else None,
        "integration.error": exchange.integration_error,
        "integration.status": exchange.integration_status,
        "integration.integrationStatus": exchange.integration_status,
        "integration.latency": integration_latency,
        "integration.requestId": exchange.integration_request_id,
    }
    return context
