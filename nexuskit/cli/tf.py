"""``nexuskit tf``: nexuskit runs Terraform (validate, init/plan/apply/destroy --local, package, override).

Thin: each command calls one function of :mod:`nexuskit.terraform` (or
:mod:`nexuskit.edge.package`), prints terraform's messages as they come (or JSON at the
end with ``--json``) and maps a NexuskitError to one line and a non-zero exit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

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
    help="Terraform: validate the stacks offline, run them on the local engine, build the Lambda package.",
    no_args_is_help=True,
)
StackOpt = Annotated[str, typer.Option("--stack", help="platform (default) or workloads.")]
LocalOpt = Annotated[bool, typer.Option("--local", help="Against the running local engine (required).")]
KubeconfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig",
        help="Workloads stack: the cluster's kubeconfig (default: the local runtime's <state>/kubeconfig).",
    ),
]
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
    from nexuskit.params import load_stack, params_path
    from nexuskit.promote.pipeline import find_root
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


def _echo(as_json: bool) -> Callable[[str], None] | None:
    if as_json:
        return None
    return lambda line: console.print(line, soft_wrap=True, highlight=False, markup=False)


@tf_app.command("validate")
@handle_errors
def validate(
    stack: Annotated[
        str | None, typer.Option("--stack", help="platform or workloads (default: both).")
    ] = None,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """terraform init -backend=false + validate of every stack, offline, with the real providers."""
    from nexuskit.engine import EmbeddedEngine
    from nexuskit.promote.pipeline import find_root
    from nexuskit.terraform import STACKS, validate_stacks

    settings = settings_from(None, state_dir)
    folder = EmbeddedEngine(settings).state_dir / "terraform-validate"
    results = validate_stacks(find_root(), folder, [stack] if stack else STACKS)
    if as_json:
        print_json([r.as_dict() for r in results])
    else:
        marks = {
            "valid": "[green]valid[/]",
            "invalid": "[bold red]invalid[/]",
            "skipped": "[yellow]skipped[/]",
        }
        for result in results:
            console.print(f"{marks[result.status]}  {result.reason}", soft_wrap=True, highlight=False)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _local(
    port: int | None, state_dir: Path | None, env: str | None, local: bool, as_json: bool, **kwargs: Any
) -> Any:
    from nexuskit.errors import ConfigError
    from nexuskit.promote.pipeline import find_root
    from nexuskit.terraform.local import LocalTerraform

    if not local:
        raise ConfigError(
            "nexuskit tf runs the stacks against the local engine only: pass --local",
            "AWS goes through the gated `nexuskit promote --env prod`",
        )
    settings = settings_from(port, state_dir, env)
    return LocalTerraform(settings, find_root(), on_line=_echo(as_json), **kwargs)


def _finish(run: Any, as_json: bool) -> None:
    if as_json:
        print_json(run.as_dict())


@tf_app.command("init")
@handle_errors
def init(
    local: LocalOpt = False,
    stack: StackOpt = "platform",
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """terraform init of a stack against the running engine (override, local state in the state dir)."""
    _finish(_local(port, state_dir, env, local, as_json).init(stack), as_json)


@tf_app.command("plan")
@handle_errors
def plan(
    local: LocalOpt = False,
    stack: StackOpt = "platform",
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes, 0 when none.")
    ] = False,
    kubeconfig: KubeconfigOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """terraform plan of a stack against the running engine."""
    run = _local(port, state_dir, env, local, as_json, kubeconfig=kubeconfig).plan(
        stack, detailed_exitcode=detailed_exitcode
    )
    _finish(run, as_json)
    if detailed_exitcode and run.exit_code == 2:
        raise typer.Exit(2)


@tf_app.command("apply")
@handle_errors
def apply(
    local: LocalOpt = False,
    stack: StackOpt = "platform",
    kubeconfig: KubeconfigOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """terraform apply (auto-approved) of a stack against the running engine."""
    _finish(_local(port, state_dir, env, local, as_json, kubeconfig=kubeconfig).apply(stack), as_json)


@tf_app.command("destroy")
@handle_errors
def destroy(
    local: LocalOpt = False,
    stack: StackOpt = "platform",
    kubeconfig: KubeconfigOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """terraform destroy (auto-approved) of a stack on the running engine."""
    _finish(_local(port, state_dir, env, local, as_json, kubeconfig=kubeconfig).destroy(stack), as_json)


@tf_app.command("parity")
@handle_errors
def parity(
    local: LocalOpt = False,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Runtime parity: the running stack (e.g. up --provisioner terraform) against a fresh one the
    embedded provisioner builds on a scratch engine, every resource described through the AWS
    APIs; exit 1 with every difference when they differ."""
    from nexuskit.errors import ConfigError
    from nexuskit.terraform.parity import compare_with_embedded

    if not local:
        raise ConfigError("nexuskit tf parity compares local stacks only: pass --local")
    report = compare_with_embedded(settings_from(port, state_dir, env))
    if as_json:
        print_json(report.as_dict())
    elif report.ok:
        described = sum(report.described.values())
        console.print(f"parity: the running stack equals the embedded provisioner's ({described} resources)")
    else:
        for line in report.differences:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.print(f"parity: {len(report.differences)} differences")
    if not report.ok:
        raise typer.Exit(1)


@tf_app.command("package")
@handle_errors
def package(
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Folder for the zip and glue/ (default <state>/terraform/build)."),
    ] = None,
    download: Annotated[
        bool, typer.Option("--download", help="pip download missing wheels into the wheel cache (network).")
    ] = False,
    this_machine: Annotated[
        bool,
        typer.Option(
            "--this-machine",
            help="Package this interpreter's installed dependencies (for the local engine; not for AWS).",
        ),
    ] = False,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the auth Lambda's zip (sources + dependencies for python3.11 x86_64) and the medallion
    Glue jobs' code (scripts, library wheel, dataset files, in <folder>/glue), and print the
    Terraform variables naming them."""
    from nexuskit.edge.package import LAMBDA_TARGET, LambdaTarget, build_auth_package
    from nexuskit.engine import EmbeddedEngine
    from nexuskit.lake.glue import build_assets

    settings = settings_from(None, state_dir, env)
    folder = output or EmbeddedEngine(settings).state_dir / "terraform" / "build"
    built = build_auth_package(
        folder,
        function_name=settings.stack().auth_function,
        target=LambdaTarget.this_machine() if this_machine else LAMBDA_TARGET,
        allow_download=download,
    )
    glue = build_assets(folder / "glue")
    if as_json:
        print_json({**built.as_dict(), "glue_var_file": str(glue.var_file), **glue.terraform_vars()})
        return
    console.print(
        f"wrote {built.path} ({built.size} bytes, {built.target.label}, wheels from {built.source}: "
        f"{', '.join(built.dependencies) or 'none'})",
        soft_wrap=True,
        highlight=False,
    )
    console.print(
        f"-var auth_package_path={built.path} -var auth_package_sha256={built.sha256_b64} "
        f"-var-file={glue.var_file}",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
