"""Function configuration AWS returns and moto does not: ``LoggingConfig``.

moto neither stores a function's ``LoggingConfig`` (CreateFunction,
UpdateFunctionConfiguration) nor returns one, so Terraform saw ``logging_config`` missing
at every plan. AWS always returns it: the format (``Text`` unless ``JSON``), the log group
(``/aws/lambda/<function>`` unless another is named) and, for ``JSON``, the application and
system log levels (``INFO`` by default). Here it is kept on moto's function object (which
moto's persistence pickles with the function) and written into moto's answers; the local
runtime writes the function's logs to that group (``logs_group_name`` is moto's own field).
This module is the one place that touches moto's function objects for it.
"""

from __future__ import annotations

from typing import Any

from emulation.awslambda.exceptions import InvalidParameterValueException

LOG_FORMATS = ("Text", "JSON")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
SYSTEM_LOG_LEVELS = ("DEBUG", "INFO", "WARN")
_ATTRIBUTE = "nexus_logging_config"


def check_logging_config(raw: Any) -> None:
    """Refuse a LoggingConfig AWS refuses (before anything is created or changed)."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise InvalidParameterValueException("LoggingConfig must be an object.")
    log_format = raw.get("LogFormat", "Text")
    if log_format not in LOG_FORMATS:
        raise InvalidParameterValueException(f"LogFormat must be one of {', '.join(LOG_FORMATS)}.")
    levels = {"ApplicationLogLevel": LOG_LEVELS, "SystemLogLevel": SYSTEM_LOG_LEVELS}
    for name, allowed in levels.items():
        if name in raw and raw[name] not in allowed:
            raise InvalidParameterValueException(f"{name} must be one of {', '.join(allowed)}.")
        if name in raw and log_format != "JSON":
            raise InvalidParameterValueException(f"{name} can only be set when LogFormat is JSON.")


def logging_config(fn: Any) -> dict[str, str]:
    """The function's LoggingConfig as AWS answers it (defaults filled in)."""
    stored: dict[str, str] = dict(getattr(fn, _ATTRIBUTE, None) or {})
    answer = {
        "LogFormat": stored.get("LogFormat", "Text"),
        "LogGroup": stored.get("LogGroup") or f"/aws/lambda/{fn.function_name}",
    }
    if answer["LogFormat"] == "JSON":
        answer["ApplicationLogLevel"] = stored.get("ApplicationLogLevel", "INFO")
        answer["SystemLogLevel"] = stored.get("SystemLogLevel", "INFO")
    return answer


def set_logging_config(fn: Any, raw: dict[str, Any]) -> None:
    """Apply a LoggingConfig (fields not given keep their value, as AWS updates it)."""
    stored = dict(getattr(fn, _ATTRIBUTE, None) or {})
    stored.update({key: str(value) for key, value in raw.items() if value is not None})
    if stored.get("LogFormat", "Text") != "JSON":
        stored.pop("ApplicationLogLevel", None)
        stored.pop("SystemLogLevel", None)
    setattr(fn, _ATTRIBUTE, stored)
    fn.logs_group_name = logging_config(fn)["LogGroup"]


def function(account: str, region: str, name_or_arn: str, qualifier: str | None = None) -> Any | None:
    """moto's function (or version), None when there is none."""
    from moto.awslambda.models import lambda_backends

    try:
        return lambda_backends[account][region].get_function(name_or_arn, qualifier)
    except Exception:  # moto's UnknownFunctionException and friends
        return None


def complete(configuration: dict[str, Any], account: str, region: str) -> None:
    """Put the LoggingConfig of the function a configuration document describes into it."""
    arn = configuration.get("FunctionArn")
    if not isinstance(arn, str):
        return
    version = configuration.get("Version")
    qualifier = str(version) if version and version != "$LATEST" else None
    fn = function(account, region, arn.split(":function:", 1)[-1].split(":", 1)[0], qualifier)
    if fn is not None:
        configuration["LoggingConfig"] = logging_config(fn)
