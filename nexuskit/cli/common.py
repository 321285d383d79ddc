"""Shared pieces of the CLI: the Typer app, common options, error mapping, rendering."""

from __future__ import annotations

import functools
import importlib
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

#: which module of this package registers each top-level command (in ``--help`` order);
#: a module is imported only when one of its commands runs, or for the full help listing
COMMAND_MODULES: dict[str, str] = {
    **dict.fromkeys(("up", "down", "status", "env", "doctor"), "lifecycle"),
    **dict.fromkeys(
        ("ps", "logs", "scale", "restart", "events", "service-token", "kubeconfig", "manifests"),
        "controlplane",
    ),
    **dict.fromkeys(("tui", "overview", "tail"), "tui"),
    "promote": "promote",
    "tf": "tf",
    "token": "token",
    "lake": "lake",
    "mcp": "mcp",
    "produce": "produce",
    "scenario": "scenario",
    "workflow": "workflow",
}


def load_command_modules(names: Any = None) -> None:
    """Import the modules that register ``names`` (default: every command)."""
    for module in dict.fromkeys(
        COMMAND_MODULES[n] for n in (names or COMMAND_MODULES) if n in COMMAND_MODULES
    ):
        importlib.import_module(f"nexuskit.cli.{module}")


class LazyGroup(typer.core.TyperGroup):
    """The top-level group: a command's module is imported when the command is looked up.

    Importing every module up front costs a few hundred milliseconds (``promote`` alone
    pulls in boto3 and the pipeline) before ``up`` can even start the engine.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        self._load(list(COMMAND_MODULES))
        return super().list_commands(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            self._load([cmd_name])
        return super().get_command(ctx, cmd_name)

    def _load(self, names: list[str]) -> None:
        missing = [n for n in names if n not in self.commands and n in COMMAND_MODULES]
        if not missing:
            return
        load_command_modules(missing)
        built = typer.main.get_group(app)
        for name, command in built.commands.items():
            self.commands.setdefault(name, command)
        # keep the help order of the table above
        order = {n: i for i, n in enumerate(COMMAND_MODULES)}
        self.commands = dict(sorted(self.commands.items(), key=lambda kv: order.get(kv[0], len(order))))


app = typer.Typer(
    cls=LazyGroup,
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
