"""Shared pieces of the CLI: the Typer app, common options, error mapping, rendering."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from nexuskit.config import KitSettings
from nexuskit.errors import ConfigError, NexuskitError

app = typer.Typer(
    name="nexuskit",
    help="Local-first dev kit for the Nexus data platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

PortOpt = Annotated[int | None, typer.Option("--port", help="Engine port (default 4566, env NEXUSKIT_PORT).")]
StateDirOpt = Annotated[
    Path | None,
    typer.Option("--state-dir", help="State folder (default .nexus, env NEXUSKIT_STATE_DIR)."),
]
EnvOpt = Annotated[
    str | None,
    typer.Option("--env", help="Parameter set under terraform/envs/ (default local)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def settings_from(
    port: int | None = None, state_dir: Path | None = None, env: str | None = None, **extra: Any
) -> KitSettings:
    """KitSettings from NEXUSKIT_* variables, overridden by the options that were given."""
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if port is not None:
        overrides["port"] = port
    if state_dir is not None:
        overrides["state_dir"] = state_dir
    if env is not None:
        overrides["env"] = env
    try:
        return KitSettings(**overrides)
    except ValueError as exc:
        raise ConfigError(f"invalid setting: {exc}") from None


def handle_errors(func: F) -> F:
    """Turn NexuskitError into one line on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NexuskitError as exc:
            err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
            if exc.hint:
                err_console.print(f"  hint: {exc.hint}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _endpoint_table(endpoint_map: dict[str, Any]) -> Table:
    table = Table(title="Endpoints", show_lines=False)
    table.add_column("service")
    table.add_column("endpoint")

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                add(f"{prefix}.{key}" if prefix else key, sub)
        else:
            table.add_row(prefix, str(value) if value else "[dim]not running yet[/]")

    add("", endpoint_map)
    return table


def _resource_table(resources: list[dict[str, str]], title: str = "Resources") -> Table:
    table = Table(title=title)
    table.add_column("type")
    table.add_column("name")
    table.add_column("state")
    table.add_column("detail", overflow="fold")
    colours = {"ready": "green", "exists": "green", "created": "cyan", "updated": "cyan"}
    for res in resources:
        colour = colours.get(res["state"], "yellow" if res["state"].startswith("emulated") else "red")
        table.add_row(res["type"], res["name"], f"[{colour}]{res['state']}[/]", res.get("detail", ""))
    return table
