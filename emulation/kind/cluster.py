"""The kind runtime: the same manifests on a real Kubernetes cluster in Docker.

Where ``docker`` (with an engine that answers the ``docker`` SDK's ping), ``kind`` and
``kubectl`` exist,
:class:`KindCluster` creates (or reuses) a cluster whose workers mirror the EKS node
groups (labels such as ``role=general``; taints such as ``dedicated=mcp:NoSchedule``),
builds each Deployment's image from its service's Dockerfile and loads it into the
cluster. ``nexuskit`` then applies the manifests and waits for the rollouts through the
official Kubernetes client, as it does against the process runtime.

Pods reach the host's engine (bound to 127.0.0.1) through a relay on the kind network's
gateway (:mod:`emulation.kind.relay`); :func:`patch_for_kind` sets ``AWS_ENDPOINT_URL`` to
it and, since kind has no EKS pod identity webhook, gives each IRSA ServiceAccount's pods
the role's STS credentials from a Secret (``envFrom``), so least privilege still holds.

Docker itself is driven through the ``docker`` SDK (:mod:`emulation.kind.docker_sdk`: the
engine's ping, the ``kind`` network, image builds); ``kind`` and ``kubectl`` stay command
lines (``kind`` also needs the ``docker`` CLI, so it is still required on PATH).

When a tool is missing, :class:`KindToolMissingError` names it in one line.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import docker
import yaml
from docker.errors import BuildError, DockerException, NotFound

from emulation.kind.docker_sdk import DockerEngineUnavailableError, docker_engine

REQUIRED_TOOLS = ("docker", "kind", "kubectl")
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class KindToolMissingError(Exception):
    """A tool the kind runtime needs is absent (``tool`` names it)."""

    def __init__(self, tool: str, message: str) -> None:
        super().__init__(message)
        self.tool = tool


class KindCommandError(Exception):
    """A docker/kind/kubectl command failed (the command and its last output line)."""


def find_tools(which: Callable[[str], str | None] = shutil.which) -> dict[str, str]:
    """Paths of docker, kind and kubectl; KindToolMissingError for the first one missing."""
    found = {tool: which(tool) for tool in REQUIRED_TOOLS}
    for tool, path in found.items():
        if not path:
            needed = ", ".join(REQUIRED_TOOLS)
            raise KindToolMissingError(
                tool, f"{tool} is not installed (the kind runtime needs {needed} on PATH)"
            )
    return {tool: str(path) for tool, path in found.items()}


def kind_config(nodes: Sequence[dict[str, Any]]) -> str:
    """A kind cluster: one control plane and one worker per node group, labelled and tainted."""
    workers = []
    for node in nodes:
        worker: dict[str, Any] = {"role": "worker", "labels": dict(node.get("labels") or {})}
        taints = node.get("taints") or []
        if taints:
            patch = {
                "kind": "JoinConfiguration",
                "nodeRegistration": {
                    "taints": [{"key": t["key"], "value": t["value"], "effect": t["effect"]} for t in taints]
                },
            }
            worker["kubeadmConfigPatches"] = [yaml.safe_dump(patch, sort_keys=False)]
        workers.append(worker)
    config = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "nodes": [{"role": "control-plane"}, *workers],
    }
    return yaml.safe_dump(config, sort_keys=False)


def credential_secret(namespace: str, service_account: str, creds: dict[str, str]) -> dict[str, Any]:
    """A Secret holding a ServiceAccount's role credentials (kind has no IRSA webhook)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"{service_account}-aws-credentials",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "nexuskit"},
        },
        "type": "Opaque",
        "stringData": dict(creds),
    }


def patch_for_kind(
    docs: Sequence[dict[str, Any]], engine_url: str, secrets: dict[tuple[str, str], str]
) -> list[dict[str, Any]]:
    """The manifests as kind runs them: engine endpoint and IRSA credentials injected.

    ``secrets`` maps (namespace, service account) to the Secret with its credentials.
    """
    out = []
    for original in docs:
        doc = copy.deepcopy(original)
        if doc.get("kind") == "Deployment":
            namespace = doc["metadata"]["namespace"]
            pod = doc["spec"]["template"]["spec"]
            account = pod.get("serviceAccountName", "default")
            for container in pod["containers"]:
                env = [e for e in container.get("env", []) if e.get("name") != "AWS_ENDPOINT_URL"]
                container["env"] = [{"name": "AWS_ENDPOINT_URL", "value": engine_url}, *env]
                container["imagePullPolicy"] = "IfNotPresent"
                secret = secrets.get((namespace, account))
                if secret:
                    container["envFrom"] = [*container.get("envFrom", []), {"secretRef": {"name": secret}}]
        out.append(doc)
    return out


def read_documents(manifests_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    docs = []
    for path in sorted(manifests_dir.glob("**/k8s/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict):
                docs.append((path, doc))
    return docs


def source_of(path: Path) -> str | None:
    """The template a rendered file names on its first line (``# nexuskit.dev/source: ...``)."""
    first = path.read_text(encoding="utf-8").splitlines()[:1]
    if first and first[0].startswith("# nexuskit.dev/source:"):
        return first[0].split(":", 1)[1].strip()
    return None


class KindCluster:
    """One kind cluster, driven through the docker, kind and kubectl command lines."""

    def __init__(
        self, name: str, run: Runner = subprocess.run, which: Callable[[str], str | None] = shutil.which
    ):
        self.name = name
        self.context = f"kind-{name}"
        self._run = run
        self._which = which
        self.tools: dict[str, str] = {}
        self._docker: docker.DockerClient | None = None

    @property
    def docker(self) -> docker.DockerClient:
        """The Docker engine's SDK client (connected by :meth:`check`)."""
        if self._docker is None:
            try:
                self._docker = docker_engine()
            except DockerEngineUnavailableError as exc:
                raise KindCommandError(f"no Docker engine answers ({exc})") from None
        return self._docker

    def command(self, *args: str, timeout: float = 600, stdin: str | None = None) -> str:
        try:
            result = self._run(
                list(args), capture_output=True, text=True, timeout=timeout, input=stdin, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise KindCommandError(f"{' '.join(args[:3])}: {exc}") from None
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise KindCommandError(f"`{' '.join(args[:4])}` failed: {tail[0]}")
        return result.stdout

    def check(self) -> dict[str, str]:
        """The three tools, and a Docker engine that answers; KindToolMissingError otherwise."""
        self.tools = find_tools(self._which)
        try:
            self._docker = docker_engine()
        except DockerEngineUnavailableError as exc:
            raise KindToolMissingError(
                "docker", f"docker is installed but no Docker engine answers ({exc})"
            ) from None
        return self.tools

    def ensure(self, nodes: Sequence[dict[str, Any]], work_dir: Path) -> bool:
        """Create the cluster unless it exists; True when it was created."""
        existing = self.command(self.tools["kind"], "get", "clusters").split()
        if self.name in existing:
            return False
        config = work_dir / "kind-cluster.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(kind_config(nodes))
        self.command(
            self.tools["kind"],
            "create",
            "cluster",
            "--name",
            self.name,
            "--config",
            str(config),
            "--wait",
            "120s",
        )
        return True

    def gateway(self) -> str:
        """The host's address on the ``kind`` Docker network (where pods reach the relay)."""
        try:
            network = self.docker.networks.get("kind")
        except NotFound:
            raise KindCommandError("the kind Docker network does not exist (is the cluster up?)") from None
        except DockerException as exc:
            raise KindCommandError(f"cannot inspect the kind Docker network: {exc}") from None
        for entry in (network.attrs.get("IPAM") or {}).get("Config") or []:
            gateway = entry.get("Gateway", "")
            if gateway and ":" not in gateway:
                return str(gateway)
        raise KindCommandError("the kind Docker network has no IPv4 gateway")

    def build_and_load(self, images: dict[str, Path], context: Path) -> None:
        """Build each image from its Dockerfile (repository root as context), then ``kind load`` it."""
        for image, dockerfile in sorted(images.items()):
            self.build(image, dockerfile, context)
            self.command(self.tools["kind"], "load", "docker-image", image, "--name", self.name)

    def build(self, image: str, dockerfile: Path, context: Path) -> None:
        """Build ``image`` through the SDK (the Dockerfile's path taken relative to ``context``)."""
        try:
            relative = dockerfile.resolve().relative_to(context.resolve())
        except ValueError:
            raise KindCommandError(f"{dockerfile} is outside the build context {context}") from None
        try:
            self.docker.images.build(
                path=str(context), dockerfile=relative.as_posix(), tag=image, rm=True, timeout=1800
            )
        except BuildError as exc:
            tail = [str(c.get("stream") or c.get("error") or "").strip() for c in exc.build_log]
            last = next((line for line in reversed(tail) if line), str(exc))
            raise KindCommandError(f"building {image} failed: {last}") from None
        except DockerException as exc:
            raise KindCommandError(f"building {image} failed: {exc}") from None

    def node_containers(self) -> list[str]:
        """The names of the cluster's node containers (kind labels them with the cluster name)."""
        try:
            found = self.docker.containers.list(filters={"label": f"io.x-k8s.kind.cluster={self.name}"})
        except DockerException as exc:
            raise KindCommandError(f"cannot list the kind node containers: {exc}") from None
        return sorted(str(c.name) for c in found)

    def delete(self) -> None:
        self.command(self.tools["kind"], "delete", "cluster", "--name", self.name)
