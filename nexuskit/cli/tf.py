"""``nexuskit tf``: Terraform helpers for local runs (the provider override)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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

tf_app = typer.Typer(
    help="Terraform helpers: point the stacks at the local engine.",
    no_args_is_help=True,
)
app.add_typer(tf_app, name="tf")


@tf_app.command("override")
@handle_errors
def override(
    stack: Annotated[str, typer.Option("--stack", help="platform (default) or workloads.")] = "platform",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", help="Where to write (default terraform/stacks/STACK/nexuskit_override.tf)."
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="embedded (default) or localstack: whose endpoint and keys.")
    ] = "embedded",
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the provider override (tflocal-style) so terraform applies to the local engine."""
    from nexuskit import localstack
    from nexuskit.engine import EmbeddedEngine
    from nexuskit.errors import ConfigError
    from nexuskit.promote.pipeline import find_root
    from nexuskit.stack import load_stack, params_path
    from nexuskit.tfoverride import write_override

    settings = settings_from(port, state_dir, env)
    root = find_root()
    spec = load_stack(settings.params_file or params_path(settings.env, root))
    if engine == "embedded":
        creds = EmbeddedEngine(settings).credentials()
        endpoint, access_key, secret_key = settings.endpoint, creds.access_key_id, creds.secret_access_key
    elif engine == "localstack":
        endpoint, secret_key = localstack.ENDPOINT, "test"
        access_key = (spec.params.allowed_account_ids or ["000000000000"])[0]
    else:
        raise ConfigError(f"unknown engine {engine!r}", "use embedded or localstack")
    result = write_override(
        endpoint=endpoint,
        region=spec.region,
        access_key=access_key,
        secret_key=secret_key,
        env=settings.env,
        root=root,
        stack=stack,
        output=output,
    )
    if as_json:
        print_json(result.as_dict())
        return
    console.print(
        f"wrote {result.path} ({len(result.services)} AWS endpoints -> {result.endpoint}, local backend)",
        soft_wrap=True,
        highlight=False,
    )
    console.print(
        f"next: cd {result.path.parent} && terraform init && "
        f"terraform apply -var-file=../../envs/{settings.env}/terraform.tfvars.json",
        soft_wrap=True,
        highlight=False,
    )
