"""``lake_promote``, SQL over the lake (for ``assert``, ``wait_for rows``, ``expect_denied``).

Both go through :mod:`nexuskit.lake` as the chosen identity, so Lake Formation grants are
checked exactly as for any other caller; a refusal is ``CallError("LakeAccessDenied")``.
"""

from __future__ import annotations

from typing import Any

from nexuskit.errors import NexuskitError
from nexuskit.scenarios.model import Identity, LakePromote, LakePromoteStep, RowsWait
from nexuskit.scenarios.results import CallError, StepFailedError
from nexuskit.scenarios.steps.base import StepContext, StepReturn, poll
from nexuskit.scenarios.steps.pending import require


def _lake(ctx: StepContext, who: Identity) -> Any:
    from nexuskit.lake.access import Lake

    _, target = ctx.identity(who)
    return Lake(ctx.stack.spec, target, cache_dir=ctx.stack.state_dir / "scenario-lake-cache")


def _lake_error(exc: NexuskitError, call: str) -> CallError:
    return CallError(type(exc).__name__, exc.message, call=call)


def promote_call(ctx: StepContext, body: LakePromote) -> dict[str, Any]:
    require("lake_promote", "lake")
    from nexuskit.lake.tiers import promote

    kwargs: dict[str, Any] = {"glue": body.via == "glue"}
    if body.threshold is not None:
        kwargs["threshold"] = body.threshold
    lake = _lake(ctx, body.as_)
    try:
        report = promote(lake, body.to, **kwargs)
    except NexuskitError as exc:
        raise _lake_error(exc, f"lake promote --to {body.to}") from None
    result: dict[str, Any] = report.as_dict()
    return result


def run_lake_promote(ctx: StepContext, step: LakePromoteStep) -> StepReturn:
    try:
        result = promote_call(ctx, step.lake_promote)
    except CallError as exc:
        raise StepFailedError(f"{exc.call}: {exc.code}: {exc.detail}") from None
    steps = ", ".join(str(s.get("step")) for s in result.get("steps", []))
    return StepReturn(result, f"promoted to {step.lake_promote.to} ({steps}) in {result.get('seconds')} s")


def sql_rows(ctx: StepContext, sql: str, who: Identity = None) -> list[dict[str, Any]]:
    """The rows of ``sql`` over the lake, as mappings."""
    require("sql", "lake")
    from nexuskit.lake.query import run_query

    lake = _lake(ctx, who)
    try:
        result = run_query(lake, sql)
    except NexuskitError as exc:
        raise _lake_error(exc, "lake query") from None
    rows: list[dict[str, Any]] = [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
        for row in result.records()
    ]
    return rows


def first_value(rows: list[dict[str, Any]]) -> Any:
    return next(iter(rows[0].values())) if rows and rows[0] else None


def wait_rows(ctx: StepContext, spec: RowsWait, timeout: float, interval: float) -> StepReturn:
    wanted = int(spec.at_least)

    def probe() -> tuple[bool, Any]:
        try:
            value = first_value(sql_rows(ctx, spec.sql))
        except CallError as exc:
            raise StepFailedError(f"{exc.call}: {exc.code}: {exc.detail}") from None
        return isinstance(value, int | float) and value >= wanted, value

    done, value, waited = poll(timeout, interval, probe)
    if not done:
        raise StepFailedError(
            f"waited {waited:.1f} s for {spec.sql!r} to reach {wanted}",
            expected={"at_least": wanted},
            actual={"value": value},
        )
    return StepReturn({"value": value}, f"{value} (>= {wanted})")
