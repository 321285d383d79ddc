"""``nexuskit token``: issue, verify and export bearer tokens of the local stack's auth service,
and list the tokens the dashboard issued (``token history``)."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
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
    handle_errors,
    print_json,
    settings_from,
)
from nexuskit.errors import ConfigError

token_app = typer.Typer(
    name="token",
    help="Bearer tokens from the auth service (POST /auth through the HTTP API).",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")

UserOpt = Annotated[str | None, typer.Option("--user", help="Who the token is for (default: your login).")]
TtlOpt = Annotated[
    int | None,
    typer.Option("--ttl", help="Minutes, 1-1440 (granted: clamped to 15-60; default from the stack)."),
]


def _user(user: str | None) -> str:
    return user or getpass.getuser()


def _metadata(pairs: list[str] | None) -> dict[str, Any] | None:
    if not pairs:
        return None
    metadata: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--meta {pair!r} is not KEY=VALUE")
        metadata[key] = value
    return metadata


@token_app.command("issue")
@handle_errors
def issue(
    user: UserOpt = None,
    ttl: TtlOpt = None,
    meta: Annotated[
        list[str] | None, typer.Option("--meta", help="KEY=VALUE metadata for the token (repeatable).")
    ] = None,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Print the secret key, session token and signature.")
    ] = False,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask the auth service for a token (signed as the stack admin when POST /auth needs IAM;
    secrets masked unless --show-secrets)."""
    from nexuskit.edge.tokens import issue_for_stack, masked

    payload = issue_for_stack(settings_from(port, state_dir, env), _user(user), ttl, _metadata(meta))
    shown = payload if show_secrets else masked(payload)
    if as_json:
        print_json(shown)
        return
    table = Table(title=f"Bearer token for {_user(user)}", show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    table.add_row("expires at", f"{shown['expires_at']} ({shown['ttl_minutes']} min)")
    for key, value in shown["credentials"].items():
        table.add_row(key, str(value))
    for key, stream in (shown.get("streams") or {}).items():
        table.add_row(key, f"{stream['name']} ({stream['arn']})" if stream else "-")
    table.add_row("token", shown["token"])
    console.print(table)
    if not show_secrets:
        console.print("secrets masked; --show-secrets prints them, `nexuskit token env` exports them")


@token_app.command("verify")
@handle_errors
def verify(
    token: Annotated[str, typer.Argument(help="The JWT ('-' reads it from stdin).")],
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a token's signature, expiry, issuer and audience against the stack's JWKS."""
    from nexuskit.edge.tokens import verify_for_stack

    if token == "-":
        token = sys.stdin.read().strip()
    result = verify_for_stack(settings_from(port, state_dir, env), token)
    if as_json:
        print_json(result)
        return
    claims = result["claims"]
    console.print(
        f"[green]valid[/]: {claims.get('sub')!r}, key {result['kid']}, "
        f"expires in {result['expires_in_s']} s (token id {claims.get('jti')})"
    )
    console.print(json.dumps(claims, indent=2), highlight=False, markup=False)


@token_app.command("env")
@handle_errors
def env_exports(
    user: UserOpt = None,
    ttl: TtlOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
) -> None:
    """Issue a token and print export lines for a producer shell: eval "$(nexuskit token env)"."""
    from nexuskit.edge.tokens import env_for_stack

    for line in env_for_stack(settings_from(port, state_dir, env), _user(user), ttl):
        sys.stdout.write(line + "\n")


@token_app.command("history")
@handle_errors
def history(
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The tokens issued from the dashboard, newest first (who, when, TTLs, claims; no secrets)."""
    from nexuskit.token_history import TokenHistory

    store = TokenHistory(settings_from(port, state_dir, env).resolved_state_dir())
    records = store.load()
    if as_json:
        print_json([record.as_dict() for record in records])
        return
    if not records:
        console.print(f"no tokens in the history ({store.path})", highlight=False)
        return
    table = Table(title=f"Token history ({len(records)} kept, at most {store.limit})")
    for column in ("issued", "user", "asked", "granted", "expires", "role session", "token id"):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(
            _when(record.issued_at),
            record.user,
            "default" if record.asked_minutes is None else f"{record.asked_minutes} min",
            f"{record.granted_minutes} min",
            _when(record.expires_at),
            record.session_name,
            record.token_id,
        )
    console.print(table)


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
