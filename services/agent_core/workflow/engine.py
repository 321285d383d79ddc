"""The workflow engine: runs a workflow's steps in order and records every call.

Steps run in file order, one after another, unless a step lists the steps it ``needs``:
it then starts as soon as those have finished, alongside any other step that is ready
(independent writes run together). For each step: evaluate ``when`` (false:
``skipped``), render its arguments or prompt
from the context, call (MCP tool, Bedrock, or compute a ``set``) with the step's timeout,
retry with backoff on failure up to ``retry.attempts``, and store the result as
``steps.<id>.result`` for the steps after it. A step that still fails fails the run
(``error.step`` names it; steps already running finish, none start, the rest are
``not_run``) unless it says ``on_error: continue``. The run as a whole is
bounded by the workflow's ``timeout_seconds``. Nothing a step does can take the service
down: every failure becomes a recorded run failure.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from services.agent_core.clients.bedrock import (
    BedrockCallError,
    BedrockClient,
    ReplyFormatError,
    parse_json_reply,
)
from services.agent_core.clients.mcp import McpCallError, McpPool
from services.agent_core.metrics import AgentMetrics
from services.agent_core.settings import AgentSettings
from services.agent_core.workflow.expressions import ExpressionError, condition, render
from services.agent_core.workflow.model import Catalog, Step, Workflow
from services.agent_core.workflow.runs import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    Run,
    RunStore,
    StepRecord,
    iso,
    new_run_id,
)

log = logging.getLogger(__name__)
MAX_PROMPT_IN_RECORD = 2000


class UnknownWorkflowError(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown workflow {name!r}; known: {', '.join(known) or 'none'}")
        self.name = name


class InvalidInputError(ValueError):
    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems))
        self.problems = problems


class StepFailedError(RuntimeError):
    pass


class WorkflowEngine:
    def __init__(
        self,
        settings: AgentSettings,
        catalog: Catalog,
        mcp: McpPool,
        bedrock: BedrockClient,
        runs: RunStore,
        metrics: AgentMetrics,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.mcp = mcp
        self.bedrock = bedrock
        self.runs = runs
        self.metrics = metrics
        self._tasks: set[asyncio.Task[None]] = set()
        self.config = {
            "prefix": settings.prefix,
            "project": settings.project,
            "environment": settings.environment,
            "region": settings.region,
            "lake": settings.lake(),
            "models": settings.models(),
        }

    # -- starting ---------------------------------------------------------------------------
    def prepare(self, name: str, data: Any) -> Workflow:
        workflow = self.catalog.get(name)
        if workflow is None:
            raise UnknownWorkflowError(name, self.catalog.names())
        problems = workflow.validate_input(data)
        if problems:
            raise InvalidInputError(problems)
        return workflow

    async def start(
        self,
        name: str,
        data: dict[str, Any],
        trigger: str = "api",
        run_id: str | None = None,
        caller: str | None = None,
    ) -> Run:
        """Validate, record and start a run in the background; returns at once.

        ``caller`` (who asked: ``namespace/serviceaccount``, or ``stream``) is recorded with
        the run; the caller's roles are checked before (``auth.check``), never here.
        """
        workflow = self.prepare(name, data)
        run = Run(
            id=run_id or new_run_id(),
            workflow=name,
            input=workflow.with_defaults(data),
            trigger=trigger,
            caller=caller,
        )
        run.steps = [StepRecord(id=s.id, kind=s.kind) for s in workflow.steps]
        self.runs.remember(run)
        await self.runs.save(run, wait=trigger != "api")
        task = asyncio.get_running_loop().create_task(self._execute(workflow, run), name=f"run {run.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    async def run(
        self,
        name: str,
        data: dict[str, Any],
        trigger: str = "api",
        run_id: str | None = None,
        caller: str | None = None,
    ) -> Run:
        """Start a run and wait for it to finish."""
        run = await self.start(name, data, trigger, run_id, caller)
        await run.done.wait()
        return run

    async def shutdown(self, grace: float = 10.0) -> None:
        """Let runs in flight finish (up to ``grace`` seconds), then cancel the rest."""
        if self._tasks:
            _done, pending = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.runs.drain()

    # -- running ----------------------------------------------------------------------------
    def _context(self, run: Run) -> dict[str, Any]:
        return {
            "input": run.input,
            "steps": {s.id: {"status": s.status, "result": s.result, "error": s.error} for s in run.steps},
            "run": {
                "id": run.id,
                "workflow": run.workflow,
                "trigger": run.trigger,
                "started_at": iso(run.started_at),
            },
            "config": self.config,
            "now": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }

    async def _execute(self, workflow: Workflow, run: Run) -> None:
        self.metrics.workflow_in_progress.labels(workflow.name).inc()
        try:
            await asyncio.wait_for(self._steps(workflow, run), workflow.timeout_seconds)
            if run.error is None:
                run.result = (
                    render(workflow.result, self._context(run)) if workflow.result is not None else None
                )
                run.status = SUCCEEDED
            else:
                run.status = FAILED
        except TimeoutError:
            current = next((s for s in run.steps if s.status == "running"), None)
            if current is not None:
                current.status, current.error, current.finished_at = (
                    "failed",
                    "cancelled by the run timeout",
                    time.time(),
                )
            run.status = FAILED
            run.error = {
                "step": current.id if current else None,
                "message": f"the run exceeded its timeout of {workflow.timeout_seconds:g} s",
            }
        except ExpressionError as exc:
            run.status = FAILED
            run.error = {"step": None, "message": f"result: {exc}"}
        except asyncio.CancelledError:
            run.status = FAILED
            current = next((s for s in run.steps if s.status == "running"), None)
            run.error = {
                "step": current.id if current else None,
                "message": "agent-core stopped before the run finished",
                "interrupted": True,
            }
            raise
        except Exception as exc:  # an engine bug must fail the run, not the service
            log.exception("run %s crashed", run.id)
            run.status = FAILED
            run.error = {"step": None, "message": f"internal error: {type(exc).__name__}: {exc}"}
        finally:
            run.finished_at = time.time()
            self.metrics.workflow_in_progress.labels(workflow.name).dec()
            self.metrics.workflow_runs.labels(workflow.name, run.status).inc()
            self.metrics.workflow_duration.labels(workflow.name).observe(run.finished_at - run.started_at)
            self.runs.remember(run)
            try:  # stored before anyone is told: any replica can then read the final state
                await asyncio.shield(self.runs.save(run))
            except Exception as exc:  # the run is still answered from memory
                log.warning("final state of run %s not stored: %s", run.id, exc)
            run.done.set()

    async def _steps(self, workflow: Workflow, run: Run) -> None:
        """Start each step once the steps it needs have finished; stop starting on a failure."""
        records = {r.id: r for r in run.steps}
        needs = workflow.dependencies()
        pending = list(workflow.steps)
        finished: set[str] = set()
        running: dict[asyncio.Task[None], str] = {}
        try:
            while pending or running:
                if run.error is None:
                    for step in [s for s in pending if needs[s.id] <= finished]:
                        pending.remove(step)
                        task = asyncio.get_running_loop().create_task(
                            self._step(workflow, run, step, records[step.id])
                        )
                        running[task] = step.id
                if not running:
                    break
                done, _ = await asyncio.wait(list(running), return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    finished.add(running.pop(task))
                    task.result()  # an engine error surfaces here
                if run.trigger == "api-async":
                    await self.runs.save(run, wait=False)  # progress for pollers on other replicas
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        for step in pending:
            records[step.id].status = "not_run"

    async def _step(self, workflow: Workflow, run: Run, step: Step, record: StepRecord) -> None:
        context = self._context(run)
        if step.when is not None:
            try:
                go = bool(condition(step.when).evaluate(context))
            except ExpressionError as exc:
                self._fail(run, record, f"when: {exc}")
                return
            if not go:
                record.status = "skipped"
                return
        record.status = "running"
        record.started_at = time.time()
        try:
            await self._attempts(workflow, step, record, context)
            record.status = "succeeded"
        except StepFailedError as exc:
            record.finished_at = time.time()
            if step.on_error == "continue":
                record.status = "failed"
                record.error = str(exc)
            else:
                self._fail(run, record, str(exc))
        finally:
            if record.finished_at is None:
                record.finished_at = time.time()
            self.metrics.step_duration.labels(workflow.name, step.id, step.kind).observe(
                record.finished_at - (record.started_at or record.finished_at)
            )

    @staticmethod
    def _fail(run: Run, record: StepRecord, message: str) -> None:
        record.status = "failed"
        record.error = message
        record.finished_at = record.finished_at or time.time()
        if run.error is None:  # the first failure names the run's failing step
            run.error = {"step": record.id, "message": message}

    async def _attempts(
        self, workflow: Workflow, step: Step, record: StepRecord, context: dict[str, Any]
    ) -> None:
        last = ""
        for attempt in range(1, step.retry.attempts + 1):
            record.attempts = attempt
            try:
                record.result = await asyncio.wait_for(
                    self._call(step, record, context), step.timeout_seconds
                )
                record.error = None
                return
            except TimeoutError:
                last = f"timed out after {step.timeout_seconds:g} s"
            except McpCallError as exc:
                last = str(exc)
                if exc.reason == "tool_error" and "validation error" in last:
                    break  # bad arguments fail the same way every time
            except (BedrockCallError, ReplyFormatError) as exc:
                last = str(exc)
            except asyncio.CancelledError:
                raise
            except (ExpressionError, ValueError, StepFailedError) as exc:
                last = str(exc)
                break  # a template, a parse or a fail step fails the same way again
            except Exception as exc:  # anything else a call raised fails this step, named
                log.warning("step %s raised %s", step.id, exc, exc_info=True)
                last = f"{type(exc).__name__}: {exc}"
            record.error = last
            if attempt < step.retry.attempts:
                await asyncio.sleep(step.retry.delay(attempt))
        suffix = f" (after {record.attempts} attempts)" if record.attempts > 1 else ""
        raise StepFailedError(last + suffix)

    async def _call(self, step: Step, record: StepRecord, context: dict[str, Any]) -> Any:
        if step.mcp is not None:
            args = render(step.args, context)
            record.call = {"service": step.mcp.service, "tool": step.mcp.tool, "args": args}
            return (await self.mcp.call(step.mcp.service, step.mcp.tool, args, step.timeout_seconds)).value
        if step.bedrock is not None:
            prompt = str(render(step.prompt, context))
            system = str(render(step.system, context)) if step.system else None
            model_id = self.bedrock.model_id(step.bedrock.model)
            record.call = {
                "model": model_id,
                "max_tokens": step.bedrock.max_tokens,
                "prompt": prompt
                if len(prompt) <= MAX_PROMPT_IN_RECORD
                else prompt[:MAX_PROMPT_IN_RECORD] + " ...",
                "prompt_chars": len(prompt),
            }
            reply = await self.bedrock.converse(
                step.bedrock.model, prompt, system, step.bedrock.max_tokens, step.bedrock.temperature
            )
            record.tokens = {"input": reply.input_tokens, "output": reply.output_tokens}
            if step.bedrock.parse == "json":
                return parse_json_reply(reply.text)
            return {"text": reply.text, "stop_reason": reply.stop_reason}
        if step.fail is not None:
            message = str(render(step.fail, context))
            record.call = {"fail": message}
            raise StepFailedError(message)
        values = render(step.set, context)
        record.call = {"set": sorted(values) if isinstance(values, dict) else None}
        return values


__all__ = [
    "FAILED",
    "RUNNING",
    "SUCCEEDED",
    "InvalidInputError",
    "UnknownWorkflowError",
    "WorkflowEngine",
]
