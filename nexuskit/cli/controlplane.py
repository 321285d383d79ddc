"""Control-plane commands: ps, logs, scale, restart, events, service-token, kubeconfig, manifests."""

from __future__ import annotations

import sys
import time
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
from nexuskit.textfmt import age


def _last_exit(pod: dict[str, Any]) -> str:
    last = pod.get("last_exit")
    if not last:
        return ""
    return f"{last['reason']} ({last['exit_code']})"


@app.command()
@handle_errors
def ps(
    namespace: Annotated[str | None, typer.Option("--namespace", "-n", help="Only this namespace.")] = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The control plane's pods: phase, ready, restarts, age, local port."""
    from nexuskit.controlplane import cluster

    pods = cluster.ps(settings_from(port, state_dir), namespace)
    if as_json:
        print_json(pods)
        return
    if not pods:
        console.print("no pods")
        return
    header = ("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "PORT", "LAST EXIT")
    rows = [
        (
            pod["namespace"],
            pod["name"],
            "1/1" if pod["ready"] else "0/1",
            pod["phase"],
            str(pod["restarts"]),
            age(pod["age"]),
            str(pod["port"] or ""),
            _last_exit(pod),
        )
        for pod in pods
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        sys.stdout.write(
            "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        )


@app.command()
@handle_errors
def logs(
    service: Annotated[str, typer.Argument(help="Deployment, Service or pod name (or namespace/name).")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    tail: Annotated[int | None, typer.Option("--tail", help="Only the last N lines (of each pod).")] = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
) -> None:
    """Print a service's logs (every pod's lines, prefixed with the pod)."""
    from nexuskit.controlplane import podlogs

    try:
        for line in podlogs.logs(settings_from(port, state_dir), service, tail=tail, follow=follow):
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass


@app.command()
@handle_errors
def scale(
    deployment: Annotated[str, typer.Argument(help="Deployment name (or namespace/name).")],
    replicas: Annotated[int, typer.Argument(help="Number of pods.")],
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set a deployment's replica count."""
    from nexuskit.controlplane import cluster

    result = cluster.scale(settings_from(port, state_dir), deployment, replicas)
    if as_json:
        print_json(result)
        return
    console.print(f"deployment {result['namespace']}/{result['name']} scaled to {result['replicas']}")


@app.command()
@handle_errors
def restart(
    deployment: Annotated[str, typer.Argument(help="Deployment name (or namespace/name).")],
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rolling restart of a deployment (new pods first, the Service keeps answering)."""
    from nexuskit.controlplane import cluster

    result = cluster.restart(settings_from(port, state_dir), deployment)
    if as_json:
        print_json(result)
        return
    console.print(f"deployment {result['namespace']}/{result['name']} restarting")


@app.command()
@handle_errors
def events(
    namespace: Annotated[str | None, typer.Option("--namespace", "-n", help="Only this namespace.")] = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What happened in the control plane: scheduling, starts, probes, kills, back-offs."""
    from nexuskit.controlplane import cluster

    items = cluster.events(settings_from(port, state_dir), namespace)
    if as_json:
        print_json(items)
        return
    now = time.time()
    for event in items:
        count = f" (x{event['count']})" if event["count"] > 1 else ""
        sys.stdout.write(
            f"{age(now - event['last_time']):>5}  {event['type']:7}  {event['reason']:24}  "
            f"{event['kind'].lower()}/{event['name']}: {event['message']}{count}\n"
        )


@app.command("service-token")
@handle_errors
def service_token(
    account: Annotated[
        str, typer.Argument(help="ServiceAccount as namespace/name.")
    ] = "nexus-agent-core/nexus-operator",
    audience: Annotated[str, typer.Option("--audience", help="Who the token is for.")] = "nexus-services",
    seconds: Annotated[int, typer.Option("--seconds", help="Lifetime (600 to 86400).")] = 3600,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a ServiceAccount token from the control plane (like `kubectl create token`)."""
    from nexuskit.controlplane import tokens
    from nexuskit.errors import ConfigError

    namespace, _, name = account.partition("/")
    if not namespace or not name:
        raise ConfigError(f"{account!r} is not namespace/name", "e.g. nexus-agent-core/nexus-operator")
    settings = settings_from(port, state_dir)
    token = tokens.service_token(settings, namespace, name, audience, seconds)
    if as_json:
        print_json({"namespace": namespace, "service_account": name, "audience": audience, "token": token})
        return
    sys.stdout.write(token + "\n")


@app.command()
@handle_errors
def kubeconfig(
    merge: Annotated[
        bool,
        typer.Option("--merge", help="Also put the nexus-local context into ~/.kube/config (or --into)."),
    ] = False,
    into: Annotated[Path | None, typer.Option("--into", help="The kubeconfig to merge into.")] = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the path of the stack's kubeconfig (context nexus-local) for kubectl, k9s and the client."""
    from nexuskit.controlplane.kubeconfig import kubeconfig_path, merge_kubeconfig

    settings = settings_from(port, state_dir)
    path = kubeconfig_path(settings)
    if not path.exists():
        from nexuskit.controlplane.client import ControlPlaneError

        raise ControlPlaneError(f"no kubeconfig at {path}", "start the stack with `nexuskit up --local`")
    merged = merge_kubeconfig(settings, into) if merge else None
    if as_json:
        print_json(
            {
                "kubeconfig": str(path),
                "context": "nexus-local",
                "merged_into": str(merged) if merged else None,
            }
        )
        return
    sys.stdout.write(f"{path}\n")
    if merged is not None:
        sys.stderr.write(
            f"merged context nexus-local into {merged} (kubectl config use-context nexus-local)\n"
        )


@app.command()
@handle_errors
def manifests(
    out: Annotated[Path, typer.Option("--out", help="Folder to write (services_dir for Terraform).")] = Path(
        "build/manifests"
    ),
    api_url: Annotated[
        str, typer.Option("--api-url", help="API Gateway invoke URL for nexus-ui-config.")
    ] = "",
    account_id: Annotated[
        str | None, typer.Option("--account-id", help="AWS account of the IRSA roles.")
    ] = None,
    oidc_issuer: Annotated[
        str | None,
        typer.Option(
            "--oidc-issuer",
            help="The cluster's service-account issuer the services verify callers' tokens against "
            "(on EKS: terraform output cluster.oidc_issuer_url).",
        ),
    ] = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Render the Kubernetes manifests for an environment (what Terraform's workloads stack applies)."""
    from nexuskit.controlplane.render import manifest_values, render_manifests

    spec = settings_from(env=env).stack()
    values = manifest_values(spec, account_id=account_id, api_invoke_url=api_url, oidc_issuer=oidc_issuer)
    written = render_manifests(spec, out, values=values)
    if as_json:
        print_json({"out": str(out.resolve()), "files": [str(p) for p in written]})
        return
    for path in written:
        console.print(str(path))
    console.print(f"apply with: terraform apply ... -var services_dir={out.resolve()}")
