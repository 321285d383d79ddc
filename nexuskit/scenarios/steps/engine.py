"""``restart_engine``: crash (SIGKILL) or stop the engine, and start it again, mid-scenario."""

from __future__ import annotations

from nexuskit.errors import NexuskitError
from nexuskit.scenarios.model import RestartEngineStep
from nexuskit.scenarios.results import StepFailedError
from nexuskit.scenarios.steps.base import StepContext, StepReturn


def run_restart_engine(ctx: StepContext, step: RestartEngineStep) -> StepReturn:
    mode = step.restart_engine.mode
    try:
        result = ctx.stack.restart_engine(mode)
    except NexuskitError as exc:
        raise StepFailedError(f"restart_engine ({mode}) failed: {exc.message}", hint=exc.hint) from None
    ctx.forget_connections()
    verb = "killed" if mode == "kill" else "stopped"
    restored = ", ".join(result.get("restored") or []) or "nothing"
    summary = (
        f"{verb} pid {result['old_pid']}, up again as pid {result['new_pid']} in {result['start_s']} s "
        f"(restored: {restored})"
    )
    return StepReturn(result, summary)
