"""``POST /workflow/execute``, ``GET /workflow/runs/{run_id}``, ``GET /workflow/runs``.

Running takes the ``write`` role and, for a workflow that declares ``requires: curate``,
``curate`` too; reading runs takes ``read`` (see :mod:`services.agent_core.auth`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.agent_core.auth import check, require_role
from services.agent_core.state import AgentState, state_of
from services.agent_core.workflow.engine import InvalidInputError, UnknownWorkflowError
from services.agent_core.workflow.roles import RUN_ROLE
from services.common.callers import Caller

router = APIRouter(tags=["workflows"])
State = Annotated[AgentState, Depends(state_of)]
Runner = Annotated[Caller, Depends(require_role(RUN_ROLE, "run workflows"))]
Reader = Annotated[Caller, Depends(require_role("read", "read workflow runs"))]


class ExecuteRequest(BaseModel):
    """A workflow to run, its input, and how to wait for it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=100, description="the workflow's name (GET /workflows)")
    input: dict[str, Any] = Field(default_factory=dict, description="the workflow's input object")
    run_async: bool = Field(default=False, alias="async", description="answer at once with the run id (202)")
    timeout_seconds: float | None = Field(
        default=None, gt=0, description="how long to wait for a synchronous run before answering 202"
    )


@router.post(
    "/workflow/execute",
    responses={
        200: {"description": "the run finished (status succeeded or failed)"},
        202: {"description": "the run goes on (async, or longer than the timeout): poll /workflow/runs/{id}"},
        401: {"description": "no bearer token, or one that does not verify"},
        403: {"description": "the caller lacks the role the workflow needs (write; curate for curation)"},
        404: {"description": "no such workflow"},
        422: {"description": "the request or the workflow's input is invalid; detail names the field"},
    },
)
async def execute(body: ExecuteRequest, response: Response, state: State, caller: Runner) -> Any:
    """Run a workflow: wait for it (up to the timeout), or with ``async`` answer at once."""
    workflow = state.catalog.get(body.name)
    if workflow is not None:  # unknown names are the engine's 404 below
        check(caller, workflow.required_roles, f"run workflow {workflow.name!r}")
    try:
        run = await state.engine.start(
            body.name, body.input, trigger="api-async" if body.run_async else "api", caller=caller.name
        )
    except UnknownWorkflowError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except InvalidInputError as exc:
        return JSONResponse(status_code=422, content={"detail": exc.problems})
    if body.run_async:
        response.status_code = 202
        return run.as_dict()
    settings = state.settings
    timeout = min(body.timeout_seconds or settings.sync_timeout_seconds, settings.max_sync_timeout_seconds)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(run.done.wait()), timeout)
    if not run.done.is_set():
        response.status_code = 202
    return run.as_dict()


@router.get("/workflow/runs/{run_id}", responses={404: {"description": "no such run"}})
async def get_run(run_id: str, state: State, caller: Reader) -> Any:
    """A run: status, every step with its call, duration, result and error; the result."""
    doc = await state.runs.get(run_id)
    if doc is None:
        raise HTTPException(status_code=404, detail=f"no run {run_id!r}")
    return doc


@router.get("/workflow/runs")
async def list_runs(
    state: State,
    caller: Reader,
    workflow: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Any:
    """This replica's most recent runs (newest first), without step details."""
    runs = state.runs.recent(limit, workflow)
    return {
        "runs": [{k: v for k, v in r.as_dict().items() if k not in {"steps", "input"}} for r in runs],
        "count": len(runs),
    }
