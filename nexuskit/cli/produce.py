"""``nexuskit produce``: synthetic records and video for the local stack (thin wrappers).

``nexuskit produce [OPTIONS]`` runs a producer; ``produce verify RUN_ID`` proves delivery;
``produce templates`` and ``produce runs`` list what there is. The work is in
:mod:`nexuskit.producers`.

``--progress jsonl`` is for a program that runs the producer as a child process: one
JSON line a second on stdout, then the report line (:mod:`nexuskit.producers.progress`);
SIGINT or SIGTERM stops the run like Ctrl-C and the report line still comes. It is
:func:`nexuskit.producers.child.run_reporting`, which the dashboard's producer children
(``python -m nexuskit.producers.child``) run too.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
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

PROGRESS_MODES = ("auto", "none", "jsonl")

produce_app = typer.Typer(
    name="produce",
    help="Synthetic producers: records to the data streams, MKV to the video streams.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(produce_app, name="produce")


@contextmanager
def _progress(enabled: bool, label: str) -> Iterator[tuple[Progress | None, TaskID | None]]:
    if not enabled:
        yield None, None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[figures]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:
        yield bar, bar.add_task(label, total=None, figures="")


def _render_report(doc: dict[str, Any], title: str) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key, value in doc.items():
        shown = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
        table.add_row(key, "-" if shown is None else str(shown))
    console.print(table)


@produce_app.callback()
@handle_errors
def produce(
    ctx: typer.Context,
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel", help="client (bearer token from the token service) or internal (platform identity)."
        ),
    ] = None,
    stream: Annotated[
        str | None,
        typer.Option(
            "--stream", help="Stream name, or short: client-intake, intake, client-telemetry, telemetry."
        ),
    ] = None,
    template: Annotated[
        str, typer.Option("--template", "-t", help="telemetry, event, sensor, or a YAML template file.")
    ] = "telemetry",
    rate: Annotated[
        str, typer.Option("--rate", help="Records per second: 500/s, 30/min, or 'max'.")
    ] = "100/s",
    mode: Annotated[str, typer.Option("--mode", help="constant, periodic or burst.")] = "constant",
    period: Annotated[str, typer.Option("--period", help="Period of the periodic mode.")] = "60s",
    amplitude: Annotated[float, typer.Option("--amplitude", help="Swing of the periodic mode (0-1).")] = 0.5,
    burst_interval: Annotated[str, typer.Option("--burst-interval", help="Time between bursts.")] = "1s",
    duration: Annotated[str | None, typer.Option("--duration", help="How long: 30s, 2m, 1h.")] = None,
    count: Annotated[int | None, typer.Option("--count", help="How many records (video: fragments).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed: the same records every time.")] = None,
    anomaly_rate: Annotated[
        float, typer.Option("--anomaly-rate", help="Share of bad records (0.05 = 5 %) for the quarantine.")
    ] = 0.0,
    partition_key: Annotated[
        str, typer.Option("--partition-key", help="random, id, entity, field:NAME or constant:VALUE.")
    ] = "random",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print sample records; send nothing.")] = False,
    samples: Annotated[
        int, typer.Option("--samples", help="Records to print with --dry-run (or --count of them).")
    ] = 5,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Name the run (default: generated).")] = None,
    start: Annotated[
        str | None,
        typer.Option("--start", help="Simulated clock: first timestamp (ISO-8601), for backfills."),
    ] = None,
    step: Annotated[
        str | None, typer.Option("--step", help="Simulated clock: time between records (default 1/rate).")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Records per PutRecords call (max 500).")
    ] = 500,
    concurrency: Annotated[int, typer.Option("--concurrency", help="PutRecords calls in flight.")] = 4,
    user: Annotated[str | None, typer.Option("--user", help="Token user (client channel).")] = None,
    ttl: Annotated[int | None, typer.Option("--ttl", help="Token lifetime in minutes (15-60).")] = None,
    refresh_margin: Annotated[
        str, typer.Option("--refresh-margin", help="Refresh the token this long before it expires.")
    ] = "5m",
    video: Annotated[
        bool, typer.Option("--video", help="Send MKV video with PutMedia instead of records.")
    ] = False,
    fps: Annotated[float, typer.Option("--fps", help="Video frames per second.")] = 5.0,
    fragment_seconds: Annotated[
        float, typer.Option("--fragment-seconds", help="Video fragment length.")
    ] = 1.0,
    width: Annotated[int, typer.Option("--width", help="Video width.")] = 320,
    height: Annotated[int, typer.Option("--height", help="Video height.")] = 240,
    realtime: Annotated[
        bool, typer.Option("--realtime/--no-realtime", help="Film in real time, or as fast as possible.")
    ] = True,
    progress: Annotated[
        str,
        typer.Option(
            "--progress",
            help="auto (a bar on a terminal), none, or jsonl: a JSON line a second on stdout, "
            "then the report line (for programs; SIGTERM stops the run like Ctrl-C).",
        ),
    ] = "auto",
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Produce records (or video) to the stack; a report at the end."""
    if ctx.invoked_subcommand is not None:
        return
    from nexuskit.producers import ProduceOptions, ProducerError, parse_duration, parse_rate

    if progress not in PROGRESS_MODES:
        raise ProducerError(f"--progress {progress!r} is not known", f"use {', '.join(PROGRESS_MODES)}")
    if progress == "jsonl" and video:
        raise ProducerError("--progress jsonl reports records, not video", "leave out --progress or --video")
    from nexuskit.producers.templates import parse_instant

    options = ProduceOptions(
        template=template,
        rate=None if rate.strip().lower() == "max" else parse_rate(rate),
        mode=mode,
        period=parse_duration(period),
        amplitude=amplitude,
        burst_interval=parse_duration(burst_interval),
        count=count,
        duration=parse_duration(duration) if duration else None,
        seed=seed,
        anomaly_rate=anomaly_rate,
        partition_key=partition_key,
        run_id=run_id,
        clock_start=parse_instant(start) if start else None,
        clock_step=parse_duration(step) if step else None,
        batch_size=batch_size,
        concurrency=concurrency,
    )
    if dry_run:
        _dry_run(options, count or samples, as_json)
        return
    settings = settings_from(port, state_dir, env)
    who = user or getpass.getuser()
    if progress == "jsonl":
        _produce_jsonl(settings, options, channel, stream, who, ttl, parse_duration(refresh_margin))
        return
    show = progress == "auto" and not as_json and err_console.is_terminal
    if video:
        _video(
            settings,
            channel,
            stream,
            who,
            ttl,
            fps,
            duration,
            count,
            fragment_seconds,
            width,
            height,
            realtime,
            show,
            as_json,
        )
        return
    from nexuskit.producers import producer_for_stack

    with _progress(show, "producing") as (bar, task):

        def on_progress(p: Any) -> None:
            if bar is not None and task is not None:
                bar.update(
                    task,
                    completed=p.sent + p.failed,
                    total=p.planned,
                    figures=(
                        f"sent {p.sent}  throttled {p.throttled}  retried {p.retried}  "
                        f"failed {p.failed}  {p.rate:,.0f}/s"
                    ),
                )

        producer = producer_for_stack(
            settings,
            options,
            channel=channel,
            stream=stream,
            user=who,
            ttl_minutes=ttl,
            refresh_margin=parse_duration(refresh_margin),
            on_progress=on_progress,
        )
        report = producer.run()
    doc = report.as_dict()
    if as_json:
        print_json(doc)
    else:
        _render_report(doc, f"Run {report.run_id}")
        console.print(f"prove delivery with: nexuskit produce verify {report.run_id} --wait 30s")
    if report.status == "failed":
        err_console.print(
            f"[bold red]error:[/] {escape(report.error or '')}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(1)


def _produce_jsonl(
    settings: Any,
    options: Any,
    channel: str | None,
    stream: str | None,
    user: str,
    ttl: int | None,
    refresh_margin: float,
) -> None:
    """A run reported as JSON lines on stdout (:func:`nexuskit.producers.child.run_reporting`)."""
    from nexuskit.producers.child import EXIT_STOPPED_BEFORE_START, run_reporting

    report = run_reporting(
        settings,
        options,
        channel=channel,
        stream=stream,
        user=user,
        ttl_minutes=ttl,
        refresh_margin=refresh_margin,
    )
    if report is None:
        raise typer.Exit(EXIT_STOPPED_BEFORE_START)
    if report.status == "failed":
        err_console.print(
            f"[bold red]error:[/] {escape(report.error or '')}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(1)


def _dry_run(options: Any, samples: int, as_json: bool) -> None:
    from nexuskit.producers import dry_run

    doc = dry_run(options, samples)
    if as_json:
        print_json(doc)
        return
    for line in doc["records"]:
        sys.stdout.write(line if line.endswith("\n") else line + "\n")


def _video(
    settings: Any,
    channel: str | None,
    stream: str | None,
    user: str,
    ttl: int | None,
    fps: float,
    duration: str | None,
    count: int | None,
    fragment_seconds: float,
    width: int,
    height: int,
    realtime: bool,
    show: bool,
    as_json: bool,
) -> None:
    from nexuskit.producers import parse_duration, video_for_stack
    from nexuskit.producers.video import VideoOptions

    options = VideoOptions(
        fps=fps,
        duration=parse_duration(duration) if duration else (None if count else 10.0),
        fragments=count,
        fragment_seconds=fragment_seconds,
        width=width,
        height=height,
        realtime=realtime,
    )
    with _progress(show, "filming") as (bar, task):

        def on_progress(p: Any) -> None:
            if bar is not None and task is not None:
                bar.update(
                    task,
                    completed=p.fragments,
                    total=p.planned,
                    figures=f"{p.frames} frames  {p.bytes:,} bytes",
                )

        report = video_for_stack(
            settings,
            options,
            channel=channel,
            stream=stream,
            user=user,
            ttl_minutes=ttl,
            on_progress=on_progress,
        )
    doc = report.as_dict()
    if as_json:
        print_json(doc)
        return
    doc.pop("fragment_numbers", None)
    _render_report(doc, f"Video to {report.stream}")


@produce_app.command("verify")
@handle_errors
def verify(
    run_id: Annotated[str, typer.Argument(help="The run id a producer reported.")],
    wait: Annotated[
        str, typer.Option("--wait", help="Keep looking this long for records still buffered.")
    ] = "0s",
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Prove delivery: a run's records in bronze (sent, delivered, missing, duplicated)."""
    from nexuskit.producers import parse_duration, verify_for_stack

    seconds = 0.0 if wait.strip() in {"0", "0s"} else parse_duration(wait)
    report = verify_for_stack(settings_from(port, state_dir, env), run_id, wait=seconds)
    doc = report.as_dict()
    if as_json:
        print_json(doc)
    else:
        _render_report(doc, f"Delivery of {run_id}")
    if not report.exactly_once:
        raise typer.Exit(1)


@produce_app.command("templates")
@handle_errors
def templates(as_json: JsonOpt = False) -> None:
    """The built-in templates (a YAML file works wherever a name does)."""
    from nexuskit.producers import list_templates

    rows = list_templates()
    if as_json:
        print_json(rows)
        return
    table = Table(title="Templates")
    table.add_column("name")
    table.add_column("description")
    for row in rows:
        table.add_row(row["name"], row["description"])
    console.print(table)


@produce_app.command("runs")
@handle_errors
def runs(
    port: PortOpt = None, state_dir: StateDirOpt = None, env: EnvOpt = None, as_json: JsonOpt = False
) -> None:
    """The producer runs recorded in the stack's state dir."""
    from nexuskit.producers import list_runs

    rows = list_runs(settings_from(port, state_dir, env))
    if as_json:
        print_json(rows)
        return
    columns = ("run_id", "status", "channel", "stream", "sent", "failed", "achieved_rate")
    table = Table(title="Producer runs")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in columns))
    console.print(table)
