"""Access logs of an HTTP API stage: ``$context`` variables substituted into its format.

The stage's ``AccessLogSettings`` name a destination log group (by ARN) and a format such
as ``{"requestId":"$context.requestId","status":"$context.status"}``. Variables without a
value become ``-`` as in AWS. Values are JSON-escaped (without quotes), so a JSON format
stays valid JSON whatever a client sends in its user agent.
"""

from __future__ import annotations

import json
import re
from typing import Any

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
