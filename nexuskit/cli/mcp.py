"""``nexuskit mcp``: list and call the tools of the four MCP services (thin: nexuskit.mcpclient)."""

from __future__ import annotations

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

mcp_app = typer.Typer(
    name="mcp",
    help="The MCP services (aws, custom, database, k8s): tools and calls. Calls carry the "
    "operator's ServiceAccount token (nexus-agent-core/nexus-operator) from the control plane, "
    "or the token in NEXUSKIT_MCP_TOKEN.",
    no_args_is_help=True,
)
app.add_typer(mcp_app, name="mcp")

ServiceArg = Annotated[str, typer.Argument(help="aws, custom, database or k8s.")]
UrlOpt = Annotated[
    str | None, typer.Option("--url", help="The service's MCP URL (default: the local stack's).")
]


@mcp_app.command("tools")
@handle_errors
def tools(
    service: ServiceArg,
    url: UrlOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A service's tools: name, read-only or write, description."""
    from nexuskit.mcpclient import list_tools

    listed = list_tools(settings_from(port, state_dir, env), service, url=url)
    if as_json:
        print_json(listed)
        return
    table = Table(title=f"{service}-mcp tools")
    for column in ("tool", "mode", "description"):
        table.add_column(column, overflow="fold")
    for tool in listed:
        mode = "read" if tool["read_only"] else "[red]write[/]" if tool["destructive"] else "[yellow]write[/]"
        table.add_row(tool["name"], mode, tool["description"].splitlines()[0] if tool["description"] else "")
    console.print(table)


@mcp_app.command("call")
@handle_errors
def call(
    service: ServiceArg,
    tool: Annotated[str, typer.Argument(help="The tool (see `nexuskit mcp tools SERVICE`).")],
    arg: Annotated[
        list[str] | None,
        typer.Option("--arg", "-a", help="KEY=VALUE argument (VALUE parsed as JSON when it is)."),
    ] = None,
    url: UrlOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Call a tool and print its result (a tool error exits 1 with its message)."""
    from nexuskit.mcpclient import call_tool, parse_arguments

    answer = call_tool(
        settings_from(port, state_dir, env), service, tool, parse_arguments(arg or []), url=url
    )
    if as_json:
        print_json(answer)
    else:
        console.print_json(data=answer["result"])
