"""``workflow``, ``wait_for workflow`` and ``mcp_call``: agent-core and the MCP services.

They go through :mod:`nexuskit.workflows` and :mod:`nexuskit.mcpclient` (HTTP and the
official MCP client, as the CLI does), at the URLs the stack publishes.

Failures as codes (for ``expect_denied``): a tool that reports an error is ``ToolError``,
an MCP service that cannot be reached ``McpClientError``; agent-core refusing a request
(unknown workflow, invalid input) is ``WorkflowError``, a run that fails ``WorkflowFailed``.
"""

from __future__ import annotations

from typing import Any

from nexuskit.errors import NexuskitError
from nexuskit.scenarios.model import McpCall, McpCallStep, WorkflowCall, WorkflowStep, WorkflowWait
from nexuskit.scenarios.results import CallError, StepFailedError
from nexuskit.scenarios.steps.base import StepContext, StepReturn, poll
from nexuskit.scenarios.steps.pending import require


# -- MCP ------------------------------------------------------------------------------------
def mcp_call(ctx: StepContext, call: McpCall) -> Any:
    """The tool's result (structured content, or its text parsed as JSON)."""
    require("mcp_call", "mcp")
    from nexuskit.mcpclient import ToolCallError, call_tool

    label = f"{call.service}-mcp {call.tool}"
    try:
        answer = call_tool(ctx.stack.engine_settings(), call.service, call.tool, call.arguments)
    except ToolCallError as exc:
        raise CallError("ToolError", exc.message, call=label) from None
    except NexuskitError as exc:
        raise CallError(type(exc).__name__, exc.message, call=label) from None
    return answer.get("result")


def run_mcp_call(ctx: StepContext, step: McpCallStep) -> StepReturn:
    call = step.mcp_call
    try:
        result = mcp_call(ctx, call)
    except CallError as exc:
        raise StepFailedError(
            f"{exc.call}: {exc.code}: {exc.detail}",
            hint="if the tool must refuse, make it an expect_denied step",
        ) from None
    shown = sorted(result)[:6] if isinstance(result, dict) else type(result).__name__
    return StepReturn(result, f"{call.service}-mcp {call.tool} answered {shown}")


# -- workflows ------------------------------------------------------------------------------
def _failed_run(run: dict[str, Any], label: str) -> CallError:
    error = run.get("error") or {}
    where = f" at step {error.get('step')}" if isinstance(error, dict) and error.get("step") else ""
    message = error.get("message") if isinstance(error, dict) else str(error)
    return CallError("WorkflowFailed", f"run {run.get('run_id')} failed{where}: {message}", call=label)


def workflow_call(ctx: StepContext, call: WorkflowCall) -> dict[str, Any]:
    require("workflow", "workflows")
    from nexuskit.workflows import run_workflow

    label = f"workflow {call.workflow}"
    try:
        run = run_workflow(
            ctx.stack.engine_settings(),
            call.workflow,
            call.input,
            wait=not call.async_,
            timeout=float(call.timeout),
        )
    except NexuskitError as exc:
        raise CallError(type(exc).__name__, exc.message, call=label) from None
    if run.get("status") == "failed":
        raise _failed_run(run, label)
    ctx.remember(run.get("run_id"), f"{ctx.step_key}.run_id")
    return run


def run_workflow_step(ctx: StepContext, step: WorkflowStep) -> StepReturn:
    call = step.workflow
    try:
        run = workflow_call(ctx, call)
    except CallError as exc:
        raise StepFailedError(f"{exc.call}: {exc.code}: {exc.detail}") from None
    if run.get("status") == "running" and not call.async_:
        raise StepFailedError(
            f"workflow {call.workflow} run {run.get('run_id')} was still running "
            f"after {float(call.timeout):g} s",
            expected={"status": "succeeded"},
            actual={"status": "running", "steps": [s.get("id") for s in run.get("steps", [])]},
        )
    steps = run.get("steps", [])
    summary = f"run {run.get('run_id')} {run.get('status')} ({len(steps)} steps, {run.get('duration_ms')} ms)"
    return StepReturn(run, summary)


def wait_workflow(ctx: StepContext, spec: WorkflowWait, timeout: float, interval: float) -> StepReturn:
    require("wait_for workflow", "workflows")
    from nexuskit.workflows import FINISHED, get_run

    settings = ctx.stack.engine_settings()

    def probe() -> tuple[bool, dict[str, Any]]:
        try:
            run = get_run(settings, spec.run_id)
        except NexuskitError as exc:
            raise StepFailedError(f"workflow run {spec.run_id}: {exc.message}", hint=exc.hint) from None
        return run.get("status") == spec.state or run.get("status") in FINISHED, run

    _, run, waited = poll(timeout, interval, probe)
    if run.get("status") != spec.state:
        error = run.get("error")
        raise StepFailedError(
            f"workflow run {spec.run_id} is {run.get('status')} after {waited:.1f} s, not {spec.state}",
            expected={"status": spec.state},
            actual={"status": run.get("status"), "error": error},
        )
    return StepReturn(run, f"run {spec.run_id} {run.get('status')}")
