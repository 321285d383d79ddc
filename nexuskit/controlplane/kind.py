"""``NEXUSKIT_K8S=kind nexuskit up``: the rendered manifests on a kind cluster.

Steps: check docker (its engine answering the ``docker`` SDK's ping), kind and kubectl (a missing one raises
:class:`~nexuskit.errors.ToolMissingError` naming it); create or reuse the cluster
``<prefix>`` (context ``kind-<prefix>``) with workers labelled and tainted like the EKS
node groups; start a relay from the kind network's gateway to the engine; trade each IRSA
ServiceAccount's web identity for role credentials (the same STS call the process
runtime makes) and put them in a Secret; build and ``kind load`` every image; apply
(server-side, :func:`~nexuskit.controlplane.apply.apply_manifests`) and wait for every
rollout through the official client, exactly as against the process runtime. The
cluster is kept on ``down`` (the next ``up`` reuses it); ``kind delete cluster --name
<prefix>`` removes it.

Role credentials in kind last one hour (the role's session limit); run ``up`` again to
refresh them. Services are ClusterIPs inside the cluster, so ``endpoints.*`` stay empty;
reach them with ``kubectl port-forward``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import yaml

from emulation.kind import (
    IRSA_ANNOTATION,
    KindCluster,
    KindCommandError,
    KindToolMissingError,
    credential_secret,
    patch_for_kind,
    read_documents,
    source_of,
)
from emulation.runtime import StsError, TokenIssuer, assume_role_with_web_identity, signing_key_file
from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.controlplane.apply import apply_manifests
from nexuskit.controlplane.client import ControlPlaneError
from nexuskit.controlplane.cluster import wait_rollouts
from nexuskit.controlplane.daemon import virtual_nodes
from nexuskit.errors import ToolMissingError
from nexuskit.params import StackSpec, repo_root
from nexuskit.provision.policies import oidc_issuer_host


def relay_pid_file(settings: KitSettings) -> Path:
    return settings.resolved_state_dir() / "kind-relay.pid"


def _start_relay(settings: KitSettings, gateway: str) -> str:
    stop_relay(settings)
    log_file = settings.resolved_state_dir() / "logs" / "kind-relay.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "emulation.kind.relay",
        "--listen",
        f"{gateway}:{settings.port}",
        "--to",
        f"127.0.0.1:{settings.port}",
    ]
    with open(log_file, "ab") as log_fh:
        proc = subprocess.Popen(cmd, stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True)
    relay_pid_file(settings).write_text(str(proc.pid))
    return f"http://{gateway}:{settings.port}"


def stop_relay(settings: KitSettings) -> None:
    path = relay_pid_file(settings)
    try:
        pid = int(path.read_text())
        if "emulation.kind.relay" in " ".join(psutil.Process(pid).cmdline()):
            os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ValueError, psutil.Error, ProcessLookupError):
        pass
    path.unlink(missing_ok=True)


def _credentials(
    settings: KitSettings, spec: StackSpec, docs: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], str]]:
    """A Secret with role credentials per IRSA ServiceAccount."""
    issuer = TokenIssuer(f"https://{oidc_issuer_host(spec)}", signing_key_file(settings.resolved_state_dir()))
    secrets: list[dict[str, Any]] = []
    refs: dict[tuple[str, str], str] = {}
    for doc in docs:
        role = (doc.get("metadata", {}).get("annotations") or {}).get(IRSA_ANNOTATION)
        if doc.get("kind") != "ServiceAccount" or not role:
            continue
        namespace, name = doc["metadata"]["namespace"], doc["metadata"]["name"]
        token, _ = issuer.token(namespace, name, f"kind-{name}", "kind")
        try:
            creds = assume_role_with_web_identity(settings.endpoint, role, token, f"kind-{name}")
        except StsError as exc:
            raise ControlPlaneError(f"cannot assume {role} for {namespace}/{name}: {exc}") from None
        secret = credential_secret(
            namespace,
            name,
            {
                "AWS_ACCESS_KEY_ID": creds.access_key_id,
                "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
                "AWS_SESSION_TOKEN": creds.session_token,
                "AWS_ROLE_ARN": role,
            },
        )
        secrets.append(secret)
        refs[(namespace, name)] = secret["metadata"]["name"]
    return secrets, refs


def kind_up(settings: KitSettings, spec: StackSpec, target: AwsTarget, manifests_dir: Path) -> dict[str, Any]:
    cluster = KindCluster(spec.prefix)
    try:
        cluster.check()
    except KindToolMissingError as exc:
        raise ToolMissingError(
            f"kind runtime unavailable: {exc}", "use the process runtime (the default)"
        ) from None
    work_dir = settings.resolved_state_dir() / "kind"
    try:
        created = cluster.ensure(virtual_nodes(spec), work_dir)
        engine_url = _start_relay(settings, cluster.gateway())
        sourced = read_documents(manifests_dir)
        docs = [doc for _, doc in sourced]
        secrets, refs = _credentials(settings, spec, docs)
        # Secrets after the namespaces, before the Deployments that read them.
        namespaces = [d for d in docs if d.get("kind") == "Namespace"]
        others = [d for d in docs if d.get("kind") != "Namespace"]
        patched = patch_for_kind([*namespaces, *secrets, *others], engine_url, refs)
        manifest = work_dir / "manifests" / "kind" / "k8s" / "manifests.yaml"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(yaml.safe_dump_all(patched, sort_keys=False))
        images: dict[str, Path] = {}
        for path, doc in sourced:
            source = source_of(path)
            if doc.get("kind") != "Deployment" or source is None:
                continue
            dockerfile = repo_root() / Path(source).parents[2] / "Dockerfile"
            for container in doc["spec"]["template"]["spec"]["containers"]:
                images[container["image"]] = dockerfile
        cluster.build_and_load(images, repo_root())
        apply_manifests(settings, work_dir / "manifests", prune=False)
        deployments = [
            (d["metadata"]["namespace"], d["metadata"]["name"]) for d in docs if d.get("kind") == "Deployment"
        ]
        wait_rollouts(settings, deployments, timeout=300)
        nodes = cluster.node_containers()
    except KindCommandError as exc:
        raise ControlPlaneError(f"kind runtime: {exc}") from None
    return {
        "runtime": "kind",
        "cluster": cluster.name,
        "context": cluster.context,
        "created": created,
        "engine_url": engine_url,
        "images": sorted(images),
        "nodes": nodes,
    }


def kind_down(settings: KitSettings) -> None:
    with contextlib.suppress(OSError):
        stop_relay(settings)
