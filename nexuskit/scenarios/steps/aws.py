"""``aws`` (any boto3 call as data) and ``expect_denied`` (a call that must fail, and how)."""

from __future__ import annotations

import difflib
import json
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    ParamValidationError,
)

from nexuskit.scenarios.model import AwsCall, AwsStep, ExpectDenied, ExpectDeniedStep
from nexuskit.scenarios.results import CallError, StepFailedError
from nexuskit.scenarios.steps.base import StepContext, StepReturn, to_data


def method_name(client: Any, service: str, operation: str) -> str:
    """The client method for ``put_records`` or ``PutRecords`` (StepFailedError with suggestions)."""
    from botocore import xform_name

    methods = sorted(client.meta.method_to_api_mapping)
    name = operation if operation in methods else xform_name(operation)
    if name not in methods:
        close = difflib.get_close_matches(name, methods, n=3)
        raise StepFailedError(
            f"{service} has no operation {operation!r}",
            hint=f"did you mean {', '.join(close)}?"
            if close
            else "see the boto3 documentation of the service",
        )
    return name


def call_label(call: AwsCall) -> str:
    who = call.as_ if isinstance(call.as_, str) else ("credentials" if call.as_ else "admin")
    return f"{call.service}.{call.operation} as {who}"


def call_aws(ctx: StepContext, call: AwsCall) -> Any:
    """Make the call; the response as data, or CallError with the AWS error code."""
    try:
        client = ctx.client(call.service, call.as_, call.region, call.endpoint_url)
    except BotoCoreError as exc:  # unknown service name and the like
        raise StepFailedError(f"cannot make a {call.service!r} client: {exc}") from None
    name = method_name(client, call.service, call.operation)
    label = f"{call.service}.{name}"
    try:
        response = getattr(client, name)(**call.params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        raise CallError(
            str(error.get("Code", "Unknown")), str(error.get("Message", exc)), status=status, call=label
        ) from None
    except ParamValidationError as exc:
        raise StepFailedError(f"{label}: the params do not fit the operation: {exc}") from None
    except EndpointConnectionError:
        raise StepFailedError(
            f"{label}: no answer from {ctx.stack.endpoint}", hint="is the engine up? `nexuskit status`"
        ) from None
    except BotoCoreError as exc:
        raise StepFailedError(f"{label}: {exc}") from None
    return to_data(response)


def _summary(result: Any) -> str:
    if isinstance(result, dict):
        if "FailedRecordCount" in result:
            return f"{len(result.get('Records', []))} records, {result['FailedRecordCount']} failed"
        keys = ", ".join(sorted(result)[:6])
        return f"answered {{{keys}{', ...' if len(result) > 6 else ''}}}"
    return f"answered {json.dumps(result, default=str)[:80]}"


def run_aws(ctx: StepContext, step: AwsStep) -> StepReturn:
    try:
        result = call_aws(ctx, step.aws)
    except CallError as exc:
        raise StepFailedError(
            f"{exc.call} failed: {exc.code}: {exc.detail}",
            hint="if this call is meant to fail, make it an expect_denied step",
        ) from None
    return StepReturn(result, _summary(result))


# -- expect_denied --------------------------------------------------------------------------
def _inner_call(ctx: StepContext, body: ExpectDenied) -> Any:
    if body.aws is not None:
        return call_aws(ctx, body.aws)
    if body.token is not None:
        from nexuskit.scenarios.steps.token import token_call

        return token_call(ctx, body.token).value
    if body.lake_promote is not None:
        from nexuskit.scenarios.steps.lake import promote_call

        return promote_call(ctx, body.lake_promote)
    if body.sql is not None:
        from nexuskit.scenarios.steps.lake import sql_rows

        return sql_rows(ctx, body.sql, body.as_)
    if body.mcp_call is not None:
        from nexuskit.scenarios.steps.agent import mcp_call

        return mcp_call(ctx, body.mcp_call)
    if body.produce is not None:
        from nexuskit.scenarios.steps.produce import produce_call

        return produce_call(ctx, body.produce)
    if body.put_video is not None:
        from nexuskit.scenarios.steps.produce import put_video_call

        return put_video_call(ctx, body.put_video)
    if body.workflow is not None:
        from nexuskit.scenarios.steps.agent import workflow_call

        return workflow_call(ctx, body.workflow)
    raise StepFailedError("expect_denied has no call")  # the model makes this unreachable


def describe_denied(body: ExpectDenied) -> str:
    kind = body.call_kinds()[0]
    what = call_label(body.aws) if body.aws is not None else kind
    return f"{what} refused with {' or '.join(body.codes)}"


def run_expect_denied(ctx: StepContext, step: ExpectDeniedStep) -> StepReturn:
    body = step.expect_denied
    wanted = body.codes
    try:
        result = _inner_call(ctx, body)
    except CallError as exc:
        got = {"code": exc.code, "message": exc.detail}
        if not exc.matches(wanted):
            raise StepFailedError(
                f"{exc.call or 'the call'} failed, but with {exc.code} instead of {' or '.join(wanted)}",
                expected={"code": wanted[0] if len(wanted) == 1 else wanted},
                actual=got,
            ) from None
        if body.message_contains and body.message_contains not in exc.detail:
            raise StepFailedError(
                f"{exc.call or 'the call'} failed with {exc.code}, but the message does not say "
                f"{body.message_contains!r}",
                expected={"code": exc.code, "message_contains": body.message_contains},
                actual=got,
            ) from None
        return StepReturn(exc.as_dict(), f"refused: {exc.code}")
    raise StepFailedError(
        f"the call succeeded, but it must be refused with {' or '.join(wanted)}",
        expected={"error": wanted[0] if len(wanted) == 1 else wanted},
        actual={"succeeded": result},
    )
