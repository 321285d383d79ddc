"""``nexuskit scenario``: run, list and create scenarios (thin wrappers over nexuskit.scenarios)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.status import Status
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

scenario_app = typer.Typer(
    name="scenario",
    help="Record, replay and verify the platform's flows (scenarios/*.yaml).",
    no_args_is_help=True,
)
app.add_typer(scenario_app, name="scenario")

_MARKS = {"passed": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[yellow]○[/]"}


class LiveOutput:
    """Prints the runner's events as they come (to stderr with --json, so stdout stays JSON)."""

    def __init__(self, to_stderr: bool) -> None:
        self.out = err_console if to_stderr else console
        self.status: Status | None = None

    def _stop_status(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def __call__(self, event: object) -> None:
        from nexuskit.scenarios.results import RunEvent, render_failure

        assert isinstance(event, RunEvent)
        out = self.out
        if event.kind != "step_start":
            self._stop_status()
        if event.kind == "step_start" and event.step is not None and out.is_terminal:
            step = event.step
            self.status = out.status(f"{step.index:>2} {step.kind} {escape(step.title)}")
            self.status.start()
        elif event.kind == "stack":
            out.print(f"[dim]{escape(event.message)}[/]", highlight=False)
        elif event.kind == "scenario_start":
            out.print(f"\n[bold]▶ {escape(event.scenario)}[/]", highlight=False)
        elif event.kind == "step_end" and event.step is not None:
            step = event.step
            label = f"{step.index:>2} {step.kind:<14} {escape(step.title)}"
            out.print(
                f"  {_MARKS[step.status]} {label}  [dim]{escape(step.summary)}  {step.duration_s:.2f} s[/]",
                highlight=False,
                soft_wrap=True,
            )
        elif event.kind == "scenario_end" and event.result is not None:
            result = event.result
            if result.status == "failed":
                out.print(f"[red]{escape(render_failure(result))}[/]", highlight=False, soft_wrap=True)
            elif result.status == "skipped":
                out.print(
                    f"  {_MARKS['skipped']} skipped: {escape(result.message)}",
                    highlight=False,
                    soft_wrap=True,
                )
            else:
                out.print(f"  {_MARKS['passed']} passed in {result.duration_s:.2f} s", highlight=False)
            for path in result.snapshots_written:
                out.print(f"  [cyan]snapshots written[/] {escape(path)}", highlight=False)


@scenario_app.command("run")
@handle_errors
def run(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Scenario files or folders (default: every shipped scenario).")
    ] = None,
    record: Annotated[bool, typer.Option("--record", help="Write/update the snapshot files.")] = False,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start isolated stacks for the run (removed afterwards).")
    ] = False,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report here.")] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="embedded (default) or localstack: the LocalStack on --port (with --fresh, one "
            "started through testcontainers); scenarios needing what it lacks are skipped.",
        ),
    ] = "embedded",
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run scenarios step by step; exit 1 when any fails."""
    from nexuskit.scenarios.runner import run_paths

    suite = run_paths(
        files or [],
        settings=settings_from(port, state_dir, env),
        fresh=fresh,
        record=record,
        on_event=LiveOutput(to_stderr=as_json),
        junit=junit,
        engine=engine,
    )
    if as_json:
        print_json(suite.as_dict())
    else:
        colour = "green" if suite.ok else "red"
        console.print(
            f"\n[bold {colour}]{suite.count('passed')} passed, {suite.count('failed')} failed, "
            f"{suite.count('skipped')} skipped[/] in {suite.duration_s:.1f} s",
            highlight=False,
        )
        if suite.junit_path:
            console.print(f"JUnit report: {suite.junit_path}", highlight=False, soft_wrap=True)
        if suite.record_path:
            console.print(f"suite record: {suite.record_path}", highlight=False, soft_wrap=True)
    if not suite.ok:
        raise typer.Exit(1)


@scenario_app.command("list")
@handle_errors
def list_(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the shipped ones).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The scenarios, their steps and what they need."""
    from nexuskit.scenarios.runner import list_scenarios

    items = list_scenarios(files or [])
    if as_json:
        print_json(items)
        return
    table = Table(title="Scenarios")
    for column in ("name", "flow", "steps", "needs", "snapshots", "status"):
        table.add_column(column, overflow="fold")
    for item in items:
        needs = ", ".join(item["requires"] + [f"{k}={v}" for k, v in item["stack"].items()]) or "-"
        status = f"[yellow]{escape(item['unavailable'])}[/]" if item["unavailable"] else "[green]ready[/]"
        table.add_row(
            item["name"],
            item["flow"] or "",
            str(item["steps"]),
            escape(needs),
            "yes" if item["snapshots"] else "-",
            status,
        )
    console.print(table)


@scenario_app.command("new")
@handle_errors
def new(
    name: Annotated[str, typer.Argument(help="kebab-case name; writes scenarios/NAME.yaml")],
    folder: Annotated[
        Path | None, typer.Option("--dir", help="Where to write it (default: scenarios/).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented scenario template to start from."""
    from nexuskit.scenarios.runner import shipped_folder
    from nexuskit.scenarios.template import new_scenario

    path = new_scenario(name, folder or shipped_folder(), force=force)
    sys.stdout.write(f"{path}\n")
