"""``nexuskit workflow``: run agent-core's workflows, check an input, list them (thin: nexuskit.workflows)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from nexuskit.cli.common import (
    EnvOpt,
    JsonOpt,
    PortOpt,
    StateDirOpt,
    app,
    console,
    err_console,
    handle_errors,
    print_json,
    settings_from,
)

workflow_app = typer.Typer(
    name="workflow",
    help="agent-core's workflows: list, check an input, run, show a run.",
    no_args_is_help=True,
)
app.add_typer(workflow_app, name="workflow")

UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="agent-core's URL (default: the local stack's, called as the operator with a token "
        "of the local control plane; elsewhere give the token in NEXUSKIT_AGENT_CORE_TOKEN).",
    ),
]
STATUS_COLOUR = {
    "succeeded": "green",
    "failed": "red",
    "running": "yellow",
    "skipped": "dim",
    "not_run": "dim",
}


def _steps_table(run: dict[str, Any]) -> Table:
    table = Table(title=f"{run.get('workflow')} {run.get('run_id')}")
    for column in ("step", "kind", "status", "call", "ms", "error"):
        table.add_column(column, overflow="fold")
    for step in run.get("steps", []):
        call = step.get("call") or {}
        what = f"{call.get('service')}.{call.get('tool')}" if "tool" in call else call.get("model", "")
        colour = STATUS_COLOUR.get(step["status"], "white")
        table.add_row(
            step["id"],
            step["kind"],
            f"[{colour}]{step['status']}[/]",
            str(what or ""),
            "" if step.get("duration_ms") is None else f"{step['duration_ms']:.1f}",
            (step.get("error") or "")[:80],  # the whole message follows the table
        )
    return table


def _render(run: dict[str, Any], as_json: bool) -> None:
    from nexuskit.workflows import run_summary

    if as_json:
        print_json(run_summary(run))
    else:
        console.print(_steps_table(run))
        colour = STATUS_COLOUR.get(str(run.get("status")), "white")
        console.print(f"status: [{colour}]{run.get('status')}[/]  duration: {run.get('duration_ms')} ms")
        if run.get("error"):
            console.print(
                f"[red]failed at step {run['error'].get('step')}:[/] {run['error'].get('message')}",
                soft_wrap=True,
            )
        if run.get("result") is not None:
            console.print_json(data=run["result"])
    if run.get("status") == "failed":
        raise typer.Exit(1)


WorkflowArg = Annotated[str, typer.Argument(help="The workflow (see `nexuskit workflow list`).")]
InputOpt = Annotated[
    str | None, typer.Option("--input", "-i", help="The input: a JSON file or a JSON object.")
]


@workflow_app.command("run")
@handle_errors
def run(
    name: WorkflowArg,
    input_: InputOpt = None,
    run_async: Annotated[bool, typer.Option("--async", help="Return at once with the run id.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the run.")] = 120.0,
    url: UrlOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a workflow and show its steps and result (exit 1 when the run failed)."""
    from nexuskit.workflows import parse_input, run_workflow

    data = parse_input(input_)
    result = run_workflow(
        settings_from(port, state_dir, env), name, data, wait=not run_async, timeout=timeout, url=url
    )
    _render(result, as_json)


@workflow_app.command("check")
@handle_errors
def check(
    name: WorkflowArg,
    input_: InputOpt = None,
    url: UrlOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check an input against the workflow's declared inputs, as agent-core will; runs nothing
    (exit 1 when agent-core would refuse it)."""
    from nexuskit.workflows import check_input, parse_input

    problems = check_input(settings_from(port, state_dir, env), name, parse_input(input_), url=url)
    if as_json:
        print_json({"workflow": name, "ok": not problems, "problems": problems})
    elif problems:
        for where, message in problems.items():
            err_console.print(f"[red]input{'.' + where if where else ''}:[/] {message}", highlight=False)
    else:
        console.print(f"[green]ok[/]: agent-core takes this input for {name}", highlight=False)
    if problems:
        raise typer.Exit(1)


@workflow_app.command("show")
@handle_errors
def show(
    run_id: Annotated[str, typer.Argument(help="A run id (from `workflow run`).")],
    url: UrlOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a run: status, every step with its call, duration and error, the result."""
    from nexuskit.workflows import get_run

    _render(get_run(settings_from(port, state_dir, env), run_id, url=url), as_json)


@workflow_app.command("list")
@handle_errors
def list_(
    url: UrlOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The workflows agent-core knows, with their steps and triggers."""
    from nexuskit.workflows import list_workflows

    workflows = list_workflows(settings_from(port, state_dir, env), url=url)
    if as_json:
        print_json(workflows)
        return
    table = Table(title="Workflows")
    for column in ("name", "triggers", "steps", "description"):
        table.add_column(column, overflow="fold")
    for item in workflows:
        steps = " > ".join(s["id"] for s in item.get("steps", []))
        table.add_row(item["name"], ", ".join(item.get("triggers", [])), steps, item.get("description", ""))
    console.print(table)
