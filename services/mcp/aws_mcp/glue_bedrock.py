"""Glue job runs and Bedrock inference, as aws-mcp calls them with its own role."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.mcp.aws_mcp.settings import AwsMcpSettings
from services.mcp.common import aws, tool_error

RUN_FIELDS = (
    "Id",
    "JobName",
    "JobRunState",
    "StartedOn",
    "CompletedOn",
    "ExecutionTime",
    "ErrorMessage",
    "Attempt",
)


def _run(run: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in RUN_FIELDS:
        value = run.get(name)
        if value is None:
            continue
        key = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    if run.get("Arguments"):
        out["arguments"] = run["Arguments"]
    return out


def _glue_error(what: str, exc: Exception) -> Exception:
    code = aws.error_code(exc)
    if code == "EntityNotFoundException":
        return tool_error(f"{what}: not found ({aws.describe(exc)})")
    return tool_error(f"{what}: {aws.describe(exc)}")


def list_jobs(include_last_run: bool = True, max_jobs: int = 100) -> dict[str, Any]:
    """Glue jobs (name, type, last run's state) - what ``lake-inventory`` reports."""
    glue = aws.client("glue")
    jobs: list[dict[str, Any]] = []
    try:
        paginator = glue.get_paginator("get_jobs")
        for page in paginator.paginate():
            for job in page.get("Jobs", []):
                jobs.append(
                    {
                        "name": job["Name"],
                        "type": (job.get("Command") or {}).get("Name"),
                        "max_concurrent_runs": (job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns"),
                        "timeout_minutes": job.get("Timeout"),
                    }
                )
                if len(jobs) >= max_jobs:
                    break
            if len(jobs) >= max_jobs:
                break
        if include_last_run:
            for job in jobs:
                runs = glue.get_job_runs(JobName=job["name"], MaxResults=1).get("JobRuns", [])
                job["last_run"] = _run(runs[0]) if runs else None
    except (ClientError, BotoCoreError) as exc:
        raise _glue_error("glue jobs", exc) from None
    states: dict[str, int] = {}
    for job in jobs:
        state = (job.get("last_run") or {}).get("job_run_state", "NEVER_RUN")
        states[state] = states.get(state, 0) + 1
    return {"jobs": jobs, "count": len(jobs), "last_run_states": states}


def start_job_run(job_name: str, arguments: dict[str, str] | None = None) -> dict[str, Any]:
    args = {k if k.startswith("--") else f"--{k}": str(v) for k, v in (arguments or {}).items()}
    try:
        answer = aws.client("glue").start_job_run(JobName=job_name, Arguments=args)
    except (ClientError, BotoCoreError) as exc:
        raise _glue_error(f"glue job {job_name}", exc) from None
    return {"job_name": job_name, "run_id": answer["JobRunId"], "arguments": args}


def get_job_run(job_name: str, run_id: str) -> dict[str, Any]:
    try:
        run = aws.client("glue").get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
    except (ClientError, BotoCoreError) as exc:
        raise _glue_error(f"glue job run {job_name}/{run_id}", exc) from None
    return _run(run)


# -- Bedrock ----------------------------------------------------------------------------------
def resolve_model(settings: AwsMcpSettings, model: str) -> str:
    """``reasoning`` / ``text`` aliases from the settings, or a model id as given."""
    return {"reasoning": settings.reasoning_model, "text": settings.text_model}.get(model, model)


def invoke_model(
    settings: AwsMcpSettings,
    model: str,
    prompt: str,
    system: str | None = None,
    max_tokens: int = 512,
    temperature: float = 0.0,
) -> dict[str, Any]:
    """InvokeModel with the model's native body (Anthropic Messages or Titan text)."""
    model_id = resolve_model(settings, model)
    if model_id.startswith("anthropic."):
        body: dict[str, Any] = {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": max_tokens,
            "temperature": temperature,
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        }
        if system:
            body["system"] = system
    elif model_id.startswith("amazon.titan-text"):
        text = f"{system}\n\n{prompt}" if system else prompt
        body = {
            "inputText": text,
            "textGenerationConfig": {"maxTokenCount": max_tokens, "temperature": temperature},
        }
    else:
        raise tool_error(
            f"model {model_id!r} is not a text model aws-mcp can call (anthropic.* or amazon.titan-text-*)"
        )
    try:
        answer = aws.client("bedrock-runtime").invoke_model(
            modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json"
        )
    except (ClientError, BotoCoreError) as exc:
        raise tool_error(f"bedrock {model_id}: {aws.describe(exc)}") from None
    data = json.loads(answer["body"].read())
    if model_id.startswith("anthropic."):
        text_out = "".join(
            part.get("text", "") for part in data.get("content", []) if part.get("type") == "text"
        )
        usage = data.get("usage", {})
        tokens_in, tokens_out = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
        stop = data.get("stop_reason")
    else:
        result = (data.get("results") or [{}])[0]
        text_out = result.get("outputText", "")
        tokens_in, tokens_out = data.get("inputTextTokenCount", 0), result.get("tokenCount", 0)
        stop = result.get("completionReason")
    return {
        "model_id": model_id,
        "text": text_out,
        "input_tokens": int(tokens_in),
        "output_tokens": int(tokens_out),
        "stop_reason": stop,
    }
