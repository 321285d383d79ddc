"""The runner: scenarios, step by step, on a stack, reporting live through a callback.

:func:`run_scenario` runs one loaded scenario on the stack a
:class:`~nexuskit.scenarios.stacks.StackProvider` gives it: it skips it (with the reason)
when a required capability or the stack profile is missing, renders each step's templates
just before it runs, validates the rendered step, runs it, keeps its result as
``steps.<id>``, and stops at the first failure with the step, expected vs actual and the
last lines of the relevant logs. In record mode it then writes the snapshot file.

:func:`run_suite` runs several and writes the JUnit report and - when the run is the
whole shipped suite - the promotion gate's scenario record. :func:`run_paths` is what the
CLI calls. Nothing here prints: progress goes to ``on_event``.
"""

from __future__ import annotations

import logging
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nexuskit.config import KitSettings
from nexuskit.errors import NexuskitError, ScenarioError
from nexuskit.scenarios.capabilities import skip_reason
from nexuskit.scenarios.loader import LoadedScenario, load_all, scenario_files
from nexuskit.scenarios.model import STEP_MODELS, StepCommon, step_kind
from nexuskit.scenarios.results import (
    Failure,
    RunEvent,
    ScenarioResult,
    StepFailedError,
    StepOutcome,
    SuiteResult,
)
from nexuskit.scenarios.snapshots import SnapshotFile, snapshot_path
from nexuskit.scenarios.stacks import (
    CurrentStack,
    FreshStacks,
    LocalStackStacks,
    StackHandle,
    StackProvider,
)
from nexuskit.scenarios.steps import EXECUTORS, StepContext
from nexuskit.scenarios.steps.base import file_size, tail
from nexuskit.scenarios.templating import TemplateError, render

log = logging.getLogger(__name__)

OnEvent = Callable[[RunEvent], None]
LOG_LINES = 20
# which logs a failure of each step type shows (the engine log always)
RELEVANT_LOGS: dict[str, tuple[str, ...]] = {
    "aws": ("iam-denials.jsonl",),
    "expect_denied": ("iam-denials.jsonl",),
    "token": ("iam-denials.jsonl",),
    "workflow": ("runtime.log",),
    "mcp_call": ("runtime.log",),
    "restart_engine": (),
}


def _emit(on_event: OnEvent | None, event: RunEvent) -> None:
    if on_event is not None:
        on_event(event)


def new_run_id(name: str) -> str:
    return f"{name[:24]}-{uuid.uuid4().hex[:8]}"


def step_title(kind: str, raw: dict[str, Any]) -> str:
    """What the live output calls a step (its ``name``, or a short description)."""
    if raw.get("name"):
        return str(raw["name"])
    body = raw.get(kind)
    if kind == "assert":
        checks = body if isinstance(body, list) else [body]
        first = checks[0] if checks and isinstance(checks[0], dict) else {}
        what = first.get("path") or (f"SQL {first['sql']}" if first.get("sql") else "value")
        more = f" (+{len(checks) - 1})" if len(checks) > 1 else ""
        return f"assert {' '.join(str(what).split())[:60]}{more}"
    if not isinstance(body, dict):
        return kind
    if kind == "aws":
        return f"{body.get('service')}.{body.get('operation')} as {body.get('as') or 'admin'}"
    if kind == "token":
        if body.get("action") == "verify":
            return f"verify token{' at ' + str(body['at']) if body.get('at') else ''}"
        return f"issue token for {body.get('user', 'scenario-client')}"
    if kind == "expect_denied":
        kinds = ("aws", "token", "mcp_call", "workflow", "lake_promote", "produce", "put_video", "sql")
        inner = next((k for k in kinds if k in body), "call")
        what = body[inner]
        label = (
            f"{what.get('service')}.{what.get('operation')}"
            if inner == "aws" and isinstance(what, dict)
            else inner
        )
        return f"{label} refused ({body.get('error')})"
    if kind == "wait_for":
        inner = next((k for k in ("objects", "records", "rows", "delivery", "workflow") if k in body), "?")
        return f"wait for {inner}"
    if kind == "lake_promote":
        return f"promote to {body.get('to', 'vibranium')}"
    if kind == "restart_engine":
        return f"restart engine ({body.get('mode', 'kill')})"
    if kind == "snapshot":
        return f"snapshot {raw.get('id') or ''}".rstrip()
    if kind == "mcp_call":
        return f"{body.get('service')}-mcp {body.get('tool')}"
    if kind == "produce":
        return f"produce {body.get('template', 'telemetry')} on the {body.get('channel', 'internal')} channel"
    if kind == "put_video":
        return f"put video to {body.get('stream')}"
    if kind == "workflow":
        return f"workflow {body.get('name')}"
    return kind


def _known_from(values: dict[str, Any], stack: StackHandle, run_id: str) -> dict[str, str]:
    known = stack.known_values(values.get("stack") or {})
    known[run_id] = "run-id"
    return known


def _logs(stack: StackHandle | None, kind: str, since: dict[str, int]) -> dict[str, list[str]]:
    """The lines the relevant logs got while the scenario ran (the last LOG_LINES of each)."""
    if stack is None:
        return {}
    files = stack.log_files()
    names = ("engine.log", *RELEVANT_LOGS.get(kind, ()))
    out: dict[str, list[str]] = {}
    for name in names:
        lines = tail(files[name], LOG_LINES, since=since.get(name, 0))
        out[str(files[name])] = lines or ["(nothing new while the scenario ran)"]
    return out


def _validate(kind: str, rendered: dict[str, Any]) -> StepCommon:
    try:
        return STEP_MODELS[kind].model_validate(rendered)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if "[" not in str(p))
        raise StepFailedError(
            f"after templating, field {where or kind}: {str(first.get('msg')).removeprefix('Value error, ')}",
            actual=first.get("input"),
        ) from None


def run_scenario(
    loaded: LoadedScenario,
    provider: StackProvider,
    *,
    record: bool = False,
    on_event: OnEvent | None = None,
) -> ScenarioResult:
    """Run one scenario on the stack ``provider`` gives it (never raises for a failing step)."""
    scenario = loaded.scenario
    started = time.perf_counter()
    result = ScenarioResult(name=scenario.name, file=loaded.path, status="passed")
    _emit(on_event, RunEvent("scenario_start", scenario.name, message=scenario.description))

    def finish(status: str, message: str = "", failure: Failure | None = None) -> ScenarioResult:
        result.status = status  # type: ignore[assignment]
        result.message = message
        result.failure = failure
        result.duration_s = time.perf_counter() - started
        _emit(on_event, RunEvent("scenario_end", scenario.name, result=result, message=message))
        return result

    reason = skip_reason(list(scenario.requires))
    if reason:
        return finish("skipped", reason)
    try:
        got = provider.stack_for(scenario)
    except NexuskitError as exc:
        return finish("failed", exc.message, Failure(message=exc.message, hint=exc.hint, step_label="stack"))
    if isinstance(got, str):
        return finish("skipped", got)
    stack = got
    result.stack = stack.describe()
    reason = skip_reason(list(scenario.requires), stack)
    if reason:
        return finish("skipped", reason)

    log_offsets = {name: file_size(path) for name, path in stack.log_files().items()}
    run_id = new_run_id(scenario.name)
    snapshots = SnapshotFile(snapshot_path(loaded.path, scenario.name), scenario.name)
    ctx = StepContext(stack=stack, loaded=loaded, run_id=run_id, snapshots=snapshots, record=record)
    try:
        ctx.values = {
            "scenario": {"name": scenario.name, "run_id": run_id, "file": str(loaded.path)},
            "stack": stack.context(),
            "vars": {},
            "steps": {},
        }
        for name, value in scenario.vars.items():
            ctx.values["vars"][name] = render(value, ctx.values)
    except NexuskitError as exc:
        return finish(
            "failed", exc.message, Failure(message=f"vars: {exc.message}", hint=exc.hint, step_label="vars")
        )
    ctx.known = _known_from(ctx.values, stack, run_id)

    for index, (raw, model) in enumerate(zip(loaded.raw_steps, scenario.steps, strict=True), start=1):
        kind = step_kind(model)
        outcome = StepOutcome(
            index=index, kind=kind, id=model.id, title=step_title(kind, raw), status="passed"
        )
        label = f"step {index} ({kind}{' ' + repr(model.id) if model.id else ''})"
        _emit(on_event, RunEvent("step_start", scenario.name, step=outcome))
        ctx.index, ctx.step_id = index, model.id
        step_started = time.perf_counter()
        try:
            step = _validate(kind, render(raw, ctx.values))
            returned = EXECUTORS[kind](ctx, step)
        except (StepFailedError, TemplateError, ScenarioError) as exc:
            outcome.status = "failed"
            outcome.duration_s = time.perf_counter() - step_started
            outcome.summary = exc.message
            result.steps.append(outcome)
            _emit(on_event, RunEvent("step_end", scenario.name, step=outcome))
            failure = Failure(
                message=exc.message,
                step_index=index,
                step_label=label,
                line=loaded.step_line(index),
                hint=exc.hint,
                logs=_logs(stack, kind, log_offsets),
            )
            if isinstance(exc, StepFailedError):
                failure.expected, failure.actual, failure.diff = exc.expected, exc.actual, exc.diff
            return finish("failed", f"{label}: {exc.message}", failure)
        outcome.duration_s = time.perf_counter() - step_started
        outcome.summary = returned.summary
        if model.id:
            ctx.steps[model.id] = returned.value
        result.steps.append(outcome)
        _emit(on_event, RunEvent("step_end", scenario.name, step=outcome))

    if record and snapshots.recorded and snapshots.save():
        result.snapshots_written.append(str(snapshots.path))
    return finish("passed")


# -- suites ---------------------------------------------------------------------------------
def current_commit(root: Path) -> str | None:
    """HEAD of the git checkout at ``root`` (None when it is not one)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def is_whole_suite(loaded: Iterable[LoadedScenario], folder: Path) -> bool:
    """Whether ``loaded`` is exactly every scenario file of ``folder``."""
    shipped = {p.resolve() for p in scenario_files(folder)}
    return bool(shipped) and {item.path.resolve() for item in loaded} == shipped


def write_suite_record(result: SuiteResult, root: Path, commit: str | None = None) -> Path | None:
    """The promotion gate's record of this run (``.nexus/scenario-results/<commit>.json``)."""
    from nexuskit.promote.records import write_scenario_record

    commit = commit or current_commit(root)
    if commit is None:
        log.warning("%s is not a git checkout; no scenario record written", root)
        return None
    return write_scenario_record(commit, [s.outcome() for s in result.scenarios], root)


def run_suite(
    loaded: list[LoadedScenario],
    provider: StackProvider,
    *,
    record: bool = False,
    on_event: OnEvent | None = None,
    junit: Path | None = None,
    record_root: Path | None = None,
    commit: str | None = None,
) -> SuiteResult:
    """Run scenarios in order; write JUnit to ``junit`` and the suite record under ``record_root``."""
    started = time.perf_counter()
    suite = SuiteResult()
    runnable = [item.scenario for item in loaded if not skip_reason(list(item.scenario.requires))]
    try:
        _emit(on_event, RunEvent("stack", message="preparing stacks"))
        provider.prepare(runnable)
        suite.stacks = provider.describe()
        for stack in suite.stacks:
            _emit(
                on_event,
                RunEvent(
                    "stack", message=f"{stack['label']} stack at {stack['endpoint']} ({stack['facts']})"
                ),
            )
    except NexuskitError as exc:
        _emit(on_event, RunEvent("stack", message=f"could not prepare the stacks: {exc}"))
    for item in loaded:
        suite.scenarios.append(run_scenario(item, provider, record=record, on_event=on_event))
    suite.duration_s = time.perf_counter() - started
    suite.stacks = provider.describe() or suite.stacks
    if junit is not None:
        from nexuskit.scenarios.junit import write_junit

        suite.junit_path = write_junit(suite, junit)
    if record_root is not None:
        suite.record_path = write_suite_record(suite, record_root, commit)
    return suite


def shipped_folder(root: Path | None = None) -> Path:
    """The shipped scenarios: ``<repo>/scenarios``."""
    from nexuskit.params import repo_root

    return (root or repo_root()) / "scenarios"


def run_paths(
    paths: Iterable[Path | str],
    *,
    settings: KitSettings | None = None,
    fresh: bool = False,
    record: bool = False,
    on_event: OnEvent | None = None,
    junit: Path | None = None,
    root: Path | None = None,
    engine: str = "embedded",
) -> SuiteResult:
    """Load and run scenario files (all shipped ones when ``paths`` is empty).

    Runs on the current stack of ``settings``, or on fresh stacks with ``fresh``; with
    ``engine="localstack"`` on LocalStack (:class:`~nexuskit.scenarios.stacks.LocalStackStacks`).
    When the files are the whole shipped suite on the embedded engine, writes the promotion
    gate's record for HEAD.
    """
    if engine not in ("embedded", "localstack"):
        raise ScenarioError(f"unknown engine {engine!r}", "use embedded or localstack")
    folder = shipped_folder(root)
    chosen = list(paths) or [folder]
    loaded = load_all(chosen)
    if not loaded:
        raise ScenarioError(f"no scenario files in {', '.join(str(p) for p in chosen)}")
    provider: StackProvider
    if engine == "localstack":
        on_localstack = LocalStackStacks(settings or KitSettings(), fresh=fresh, record=record)
        on_localstack.check()  # nothing to run on: one clear error before anything runs
        provider = on_localstack
    elif fresh:
        env = settings.env if settings is not None and settings.env != "local" else None
        provider = FreshStacks(record=record, cassettes=folder / "cassettes" / "bedrock", env=env)
    else:
        current = CurrentStack(settings or KitSettings(), record=record)
        current.handle()  # no stack: one clear error before anything runs
        provider = current
    # the promotion gate's record is of the embedded engine's run
    record_root = folder.parent if engine == "embedded" and is_whole_suite(loaded, folder) else None
    try:
        return run_suite(
            loaded, provider, record=record, on_event=on_event, junit=junit, record_root=record_root
        )
    finally:
        provider.close()


def list_scenarios(paths: Iterable[Path | str] = ()) -> list[dict[str, Any]]:
    """The scenarios of ``paths`` (default: the shipped ones) with what they need.

    ``available`` is judged from this checkout only (the stack is not asked).
    """
    folder = shipped_folder()
    out = []
    for item in load_all(list(paths) or [folder]):
        scenario = item.scenario
        profile = scenario.stack.model_dump(exclude_defaults=True)
        snapshots = snapshot_path(item.path, scenario.name)
        out.append(
            {
                "name": scenario.name,
                "file": str(item.path),
                "description": scenario.description,
                "flow": scenario.flow,
                "steps": len(scenario.steps),
                "step_types": sorted({step_kind(s) for s in scenario.steps}),
                "requires": list(scenario.requires),
                "stack": profile,
                "snapshots": str(snapshots) if snapshots.exists() else None,
                "unavailable": skip_reason(list(scenario.requires)),
            }
        )
    return out
