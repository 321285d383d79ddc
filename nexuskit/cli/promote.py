"""``nexuskit promote``: gated terraform plan/apply to AWS (thin wrapper over nexuskit.promote)."""

from __future__ import annotations

import shlex
import sys
from typing import Annotated

import typer

from nexuskit.cli.common import JsonOpt, app, console, err_console, handle_errors, print_json
from nexuskit.promote import ApprovalRequest, PromoteOptions, PromotionReport, StepResult, promote

_MARKS = {"pass": "[green]PASS[/]", "fail": "[bold red]FAIL[/]", "dry-run": "[cyan]DRY [/]"}


def _print_step(step: StepResult) -> None:
    console.print(f"{_MARKS.get(step.status, step.status)}  {step.title}: {step.reason}", soft_wrap=True)
    for warning in step.warnings:
        console.print(f"      [yellow]warning:[/] {warning}", soft_wrap=True)
    if step.status == "dry-run":
        for argv in step.commands:
            console.print(f"      $ {shlex.join(argv)}", soft_wrap=True, highlight=False, markup=False)


def _print_start(name: str, title: str) -> None:
    if console.is_terminal:
        console.print(f"[dim]…     {title}[/]", soft_wrap=True)


def _confirm(request: ApprovalRequest) -> str | None:
    err_console.print(
        f"plan [bold]{request.short}[/] for env {request.env}: {request.summary}\n"
        f"  file: {request.plan_file}",
        soft_wrap=True,
        highlight=False,
    )
    typed: str = typer.prompt(
        f"Type the first 12 hex digits of the plan's sha256 ({request.short}) to apply it",
        default="",
        show_default=False,
        err=True,
    )
    return typed


def _print_end(report: PromotionReport) -> None:
    failed = report.failed_step
    if failed is not None:
        err_console.print(
            f"promotion stopped at {failed.name}: {failed.reason}", soft_wrap=True, highlight=False
        )
        if report.log_file:
            err_console.print(f"  log: {report.log_file}", soft_wrap=True, highlight=False)
    elif report.outcome == "planned" and report.plan_sha256:
        short = report.plan_sha256[:12]
        console.print(
            f"plan [bold]{short}[/] passed every gate up to the policy checks; apply exactly this plan "
            f"with: nexuskit promote --env {report.env} --approve {short}",
            soft_wrap=True,
        )
    elif report.outcome == "applied":
        console.print(f"[bold green]promoted[/] {report.commit} to env {report.env}", soft_wrap=True)
    elif report.outcome == "dry-run":
        console.print("dry run: nothing was executed", soft_wrap=True)


@app.command("promote")
@handle_errors
def promote_command(
    env: Annotated[str, typer.Option("--env", help="Parameter set under terraform/envs/ (AWS).")] = "prod",
    plan_only: Annotated[
        bool, typer.Option("--plan-only", help="Stop after the policy checks; print the plan hash.")
    ] = False,
    approve: Annotated[
        str | None,
        typer.Option("--approve", help="Apply the plan with this sha256 (first 12+ hex digits), for CI."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print every step and command; run none.")
    ] = False,
    accept_drift: Annotated[
        bool, typer.Option("--accept-drift", help="Continue when AWS drifted from the state.")
    ] = False,
    skip_checkov: Annotated[
        bool, typer.Option("--skip-checkov", help="Skip the checkov scan (a warning is printed).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Promote this commit to AWS us-west-2 through every gate (see README: Promote to AWS)."""
    options = PromoteOptions(
        env=env,
        plan_only=plan_only,
        dry_run=dry_run,
        approve=approve,
        accept_drift=accept_drift,
        skip_checkov=skip_checkov,
    )
    report = promote(
        options,
        confirm=_confirm if sys.stdin.isatty() else None,
        on_step=None if as_json else _print_step,
        on_start=None if as_json else _print_start,
    )
    if as_json:
        print_json(report.as_dict())
    else:
        _print_end(report)
    if not report.ok:
        raise typer.Exit(1)
