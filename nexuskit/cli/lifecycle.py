"""Stack lifecycle commands: up, down, status, env, doctor."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nexuskit.cli.common import (
    EnvOpt,
    JsonOpt,
    PortOpt,
    StateDirOpt,
    _endpoint_table,
    _resource_table,
    app,
    console,
    err_console,
    handle_errors,
    print_json,
    settings_from,
)
from nexuskit.config import KitSettings
from nexuskit.errors import ConfigError


@app.command()
@handle_errors
def up(
    local: Annotated[bool, typer.Option("--local", help="Run on this machine (the default).")] = True,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="embedded (default, token-free) or localstack (LocalStack through testcontainers: "
            "needs a Docker engine and LOCALSTACK_AUTH_TOKEN).",
        ),
    ] = "embedded",
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Stay attached; Ctrl-C stops the stack.")
    ] = False,
    firehose_buffering: Annotated[
        str | None, typer.Option("--firehose-buffering", help="fast (1 s cap) or aws.")
    ] = None,
    kinesis_limits: Annotated[
        str | None, typer.Option("--kinesis-limits", help="aws (per-shard limits) or off.")
    ] = None,
    iam: Annotated[str | None, typer.Option("--iam", help="enforce, log or off.")] = None,
    k8s: Annotated[
        str | None, typer.Option("--k8s", help="process (default: manifests as local processes) or kind.")
    ] = None,
    control_plane: Annotated[
        bool | None,
        typer.Option(
            "--control-plane/--no-control-plane",
            help="Also run agent-core, the MCP services and the UI (default), or the AWS resources only.",
        ),
    ] = None,
    moto_api: Annotated[
        bool,
        typer.Option(
            "--moto-api",
            help="Serve moto's /moto-api on the engine for debugging (admin-signed requests only).",
        ),
    ] = False,
    provisioner: Annotated[
        str | None,
        typer.Option(
            "--provisioner",
            help="embedded (default: nexuskit creates the resources, in seconds) or terraform "
            "(terraform applies terraform/stacks/platform to the engine).",
        ),
    ] = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start the engine and provision every resource of the stack."""
    from nexuskit import lifecycle

    if engine != "embedded":
        _up_with_localstack(engine, env or "local", as_json, port)
        return
    settings = settings_from(
        port,
        state_dir,
        env,
        firehose_buffering=firehose_buffering,
        kinesis_limits=kinesis_limits,
        iam=iam,
        k8s=k8s,
        control_plane=control_plane,
        moto_api=moto_api or None,  # absent: NEXUSKIT_MOTO_API decides
        provisioner=provisioner,
    )
    report = lifecycle.up(settings, on_line=None if as_json else _terraform_line)
    if as_json:
        print_json(report.as_dict())
    else:
        state = "already up" if report.already_up else "up"
        console.print(
            f"[bold green]nexuskit {state}[/] at {report.endpoint} ({report.region}) in "
            f"{report.total_seconds:.2f} s — {report.created} resources created or updated, "
            f"{len(report.resources)} in the stack"
        )
        console.print(_endpoint_table(report.endpoints))
        console.print('Next: [bold]eval "$(nexuskit env)"[/] then use awscli/boto3 as usual.')
    if foreground:
        _follow_engine(settings)


def _terraform_line(line: str) -> None:
    console.print(f"[dim]terraform:[/] {escape(line)}", soft_wrap=True, highlight=False)


def _check_engine(engine: str) -> None:
    if engine not in ("embedded", "localstack"):
        raise ConfigError(f"unknown engine {engine!r}", "use embedded or localstack")


def _up_with_localstack(
    engine: str, env: str = "local", as_json: bool = False, port: int | None = None
) -> None:
    from nexuskit import localstack

    _check_engine(engine)
    report = localstack.up(env=env, port=port)
    if as_json:
        print_json(report.as_dict())
    else:
        how = "reused" if report.reused else "started"
        console.print(
            f"[bold green]LocalStack up[/] at {report.endpoint} ({report.image}, container "
            f"{report.container} {how}); terraform/stacks/platform applied with {report.override}; "
            f"stop it with `nexuskit down --engine localstack`",
            soft_wrap=True,
        )


def _follow_engine(settings: KitSettings) -> None:
    from nexuskit import lifecycle
    from nexuskit.engine import EmbeddedEngine

    engine = EmbeddedEngine(settings)
    console.print(f"following {engine.log_file} (Ctrl-C stops the stack)")
    try:
        with open(engine.log_file, errors="replace") as fh:
            fh.seek(0, 2)
            while engine.pid() is not None:
                line = fh.readline()
                if line:
                    console.print(line.rstrip(), highlight=False, markup=False)
                else:
                    time.sleep(0.2)
    except KeyboardInterrupt:
        lifecycle.down(settings)
        console.print("stack stopped")


@app.command()
@handle_errors
def down(
    purge: Annotated[bool, typer.Option("--purge", help="Also wipe all persisted state.")] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=1.0,
            help="Seconds to wait for the engine's final snapshot before killing it (a kill loses "
            "what changed since the last snapshot, except Kinesis records).",
        ),
    ] = 120.0,
    engine: Annotated[
        str,
        typer.Option("--engine", help="embedded (default) or localstack (removes the LocalStack container)."),
    ] = "embedded",
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop the engine, waiting for its final snapshot (state is kept unless --purge).

    Exit status 1 when the engine had to be killed or could not write its final snapshot.
    """
    from nexuskit import lifecycle

    _check_engine(engine)
    if engine == "localstack":
        from nexuskit import localstack

        removed = localstack.down(port)
        if as_json:
            print_json({"engine": "localstack", "removed": removed})
        elif removed:
            console.print(f"LocalStack stopped and removed ({', '.join(removed)})")
        else:
            console.print("no LocalStack container started by nexuskit; nothing to stop")
        return

    def waiting(seconds: float) -> None:
        if not as_json:
            console.print(f"waiting for the engine's final snapshot ({seconds:.0f} s of {timeout:.0f} s)")

    result = lifecycle.down(settings_from(port, state_dir), purge=purge, timeout=timeout, waiting=waiting)
    if as_json:
        print_json(result)
    elif not result["stopped"]:
        console.print("nexuskit is not running; nothing to stop")
    elif purge:
        console.print("nexuskit stopped")
    elif result["state_kept"]:
        console.print(f"nexuskit stopped (state kept in {result['state_dir']})")
    elif result["final_snapshot"] == "not persisting":
        console.print("nexuskit stopped (the engine ran with --no-persist: nothing was kept)")
    else:
        why = (
            f"killed after {result['seconds']:.0f} s, in the middle of its final snapshot"
            if result["forced"]
            else f"its final snapshot {result['final_snapshot'] or 'was not written (the engine died)'}"
        )
        err_console.print(
            f"nexuskit stopped the engine, but {why}: the next start restores the last complete "
            f"snapshot in {result['state_dir']} (plus the Kinesis journal); other changes since it are "
            "lost. Give it longer next time: nexuskit down --timeout SECONDS"
        )
    if purge and not as_json:
        console.print(f"state wiped: {result['state_dir']}")
    lost = not result["state_kept"] and result["final_snapshot"] != "not persisting"
    if result["stopped"] and not purge and lost:
        raise typer.Exit(1)


@app.command()
@handle_errors
def status(
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Engine health and every resource with its state."""
    from nexuskit import lifecycle

    doc = lifecycle.status(settings_from(port, state_dir, env))
    if as_json:
        print_json(doc)
        return
    eng = doc["engine"]
    if eng["state"] != "running":
        console.print(f"engine [red]stopped[/] ({eng['endpoint']}); start it with `nexuskit up --local`")
        return
    console.print(
        f"engine [green]running[/] at {eng['endpoint']} ({eng['region']}), pid {eng['pid']}, "
        f"up {eng['uptime_s']:.0f} s, state in {eng['state_dir']}"
    )
    iam = eng.get("iam") or {}
    if iam.get("mode") == "log":
        console.print(f"IAM log mode: {iam.get('would_deny', 0)} requests would have been denied")
    console.print(_resource_table(doc["resources"]))
    console.print(_endpoint_table(doc["endpoints"]))


@app.command()
@handle_errors
def env(port: PortOpt = None, state_dir: StateDirOpt = None, env_name: EnvOpt = None) -> None:
    """Print export lines for awscli/boto3/tflocal: eval "$(nexuskit env)"."""
    from nexuskit import lifecycle

    for line in lifecycle.env_exports(settings_from(port, state_dir, env_name)):
        sys.stdout.write(line + "\n")


@app.command()
@handle_errors
def doctor(port: PortOpt = None, state_dir: StateDirOpt = None, as_json: JsonOpt = False) -> None:
    """Versions, port, state dir, external tools and the engines they enable."""
    from nexuskit.doctor import diagnose

    report = diagnose(settings_from(port, state_dir))
    if as_json:
        print_json(report)
        return
    for name, version in report["versions"].items():
        console.print(f"{name:10} {version or '[red]not installed[/]'}")
    console.print(f"port       {report['port']['number']}: {report['port']['state']}")
    sd = report["state_dir"]
    console.print(f"state dir  {sd['path']} ({'exists' if sd['exists'] else 'not created yet'})")
    table = Table(title="Tools")
    table.add_column("tool")
    table.add_column("found")
    for name, path in report["tools"].items():
        table.add_row(name, path or "[dim]missing[/]")
    console.print(table)
    tf = report["terraform"]
    console.print(
        f"terraform  {tf['version'] or '[red]not installed[/]'} ({tf['binary'] or 'not on PATH'}), "
        f"platform {tf['platform']}",
        highlight=False,
    )
    mirrors = Table(title="Terraform provider mirrors")
    mirrors.add_column("mirror")
    mirrors.add_column("found by")
    mirrors.add_column("providers")
    for mirror in tf["mirrors"]:
        held = ", ".join(
            f"{address.removeprefix('registry.terraform.io/')} {', '.join(versions)}"
            for address, versions in mirror["providers"].items()
        )
        mirrors.add_row(mirror["path"], mirror["found_by"], held)
    if not tf["mirrors"]:
        mirrors.add_row("[dim]none found[/]", "", "")
    console.print(mirrors)
    for stack, info in tf["stacks"].items():
        if info["missing"]:
            missing = ", ".join(a.removeprefix("registry.terraform.io/") for a in info["missing"])
            console.print(f"[yellow]stack {stack}:[/] provider {missing} is in no mirror", highlight=False)
    engines = Table(title="Engines and runtimes")
    engines.add_column("name")
    engines.add_column("available")
    engines.add_column("requirement")
    for name, info in report["engines"].items():
        engines.add_row(name, "[green]yes[/]" if info["available"] else "[red]no[/]", info["why"])
    console.print(engines)
    console.print("Docker paths", style="bold")
    for name, info in report["docker_paths"].items():
        verdict = "[green]usable[/]" if info["usable"] else "[red]not usable[/]"
        console.print(f"  {name}: {verdict} - {escape(info['why'])}", highlight=False, soft_wrap=True)
