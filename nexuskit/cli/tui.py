"""``nexuskit tui`` (the dashboard), ``nexuskit overview`` and ``nexuskit tail`` (merged logs).

``overview`` and ``tail`` are the CLI side of the Stack and Logs screens: the same core
functions (:mod:`nexuskit.overview`, :mod:`nexuskit.logs`) with ``--json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nexuskit.cli.common import (
    EnvOpt,
    JsonOpt,
    PortOpt,
    StateDirOpt,
    app,
    console,
    handle_errors,
    print_json,
    settings_from,
)
from nexuskit.errors import ConfigError
from nexuskit.textfmt import age


@app.command()
@handle_errors
def tui(
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Refuse every action that changes the stack.")
    ] = False,
    theme: Annotated[str, typer.Option("--theme", help="dark (default) or light.")] = "dark",
    screen: Annotated[
        str, typer.Option("--screen", help="Start on: stack, tokens, producers, workflows, lake or logs.")
    ] = "stack",
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
) -> None:
    """The terminal dashboard: stack, tokens, producers, workflows, lake and logs."""
    if theme not in {"dark", "light"}:
        raise ConfigError(f"unknown theme {theme!r}", "use dark or light")
    try:
        from tui.app import NexusApp
    except ImportError as exc:
        raise ConfigError(f"the dashboard needs textual: {exc}", "pip install 'textual>=8.2,<9'") from None
    NexusApp(settings_from(port, state_dir, env), read_only=read_only, theme=theme, start=screen).run()


@app.command()
@handle_errors
def overview(
    no_resources: Annotated[
        bool, typer.Option("--no-resources", help="Only the engine and the Deployments (fast).")
    ] = False,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every Deployment and AWS resource with state, health, replicas, restarts, uptime, endpoint."""
    from nexuskit.overview import stack_overview

    data = stack_overview(settings_from(port, state_dir, env), resources=not no_resources)
    if as_json:
        print_json(data)
        return
    engine = data["engine"]
    console.print(
        f"engine {engine.get('state')} at {engine.get('endpoint')}, up {age(engine.get('uptime_s'))}; "
        f"control plane: {data['control_plane']['error'] or 'running'}",
        highlight=False,
    )
    table = Table(title="Stack")
    for column in ("kind", "type", "name", "state", "health", "replicas", "restarts", "uptime", "endpoint"):
        table.add_column(column, overflow="fold")
    for row in data["deployments"] + data["resources"]:
        table.add_row(
            row["kind"],
            row["type"],
            row["name"],
            row["state"],
            row["health"],
            "" if row["replicas"] is None else str(row["replicas"]),
            "" if row["restarts"] is None else str(row["restarts"]),
            age(row["uptime_s"]),
            str(row["endpoint"] or ""),
        )
    console.print(table)


@app.command()
@handle_errors
def tail(
    sources: Annotated[
        list[str] | None, typer.Argument(help="engine, runtime or a Deployment (default: all of them).")
    ] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines of each source to start with.")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    grep: Annotated[str | None, typer.Option("--grep", "-g", help="Only lines matching this regex.")] = None,
    timestamps: Annotated[
        bool, typer.Option("--timestamps/--no-timestamps", help="Show each line's time.")
    ] = True,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the lines to this file (without --follow).")
    ] = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The logs of the engine, the runtime and every Deployment, merged (the Logs screen)."""
    from nexuskit import logs

    settings = settings_from(port, state_dir)
    regex = logs.compile_filter(grep)
    if not follow:
        if sources:
            found = logs.merge([line for s in sources for line in logs.tail(settings, s, lines)])
        else:
            found = logs.tail(settings, None, lines)
        shown = logs.matching(found, regex)
        if out:
            logs.save(shown, out, timestamps)
        if as_json:
            print_json([line.as_dict() for line in shown])
            return
        for line in shown:
            sys.stdout.write(line.render(timestamps) + "\n")
        return
    follower = logs.LogFollower(settings, sources or None, backlog=lines).start()
    try:
        for line in follower.lines():
            if regex is None or logs.matching([line], regex):
                sys.stdout.write((json.dumps(line.as_dict()) if as_json else line.render(timestamps)) + "\n")
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        follower.close()
