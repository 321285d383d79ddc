"""The kind runtime: tool detection here; the cluster itself only where Docker, kind and kubectl exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from emulation.kind import docker_engine, docker_unavailable
from emulation.kind.cluster import (
    KindCluster,
    KindCommandError,
    KindToolMissingError,
    find_tools,
    kind_config,
    patch_for_kind,
)
from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.controlplane.daemon import virtual_nodes
from nexuskit.controlplane.kind import kind_up
from nexuskit.errors import ToolMissingError
from nexuskit.params import load_stack


def _missing_reason() -> str | None:
    try:
        KindCluster("probe").check()
    except KindToolMissingError as exc:
        return str(exc)
    return None


MISSING = _missing_reason()
NO_ENGINE = docker_unavailable()


def _all_tools(tool: str) -> str:
    """Every tool "found" (the engine check, not PATH, is what these tests look at)."""
    return f"/opt/tools/{tool}"


@pytest.fixture
def no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """DOCKER_HOST at a socket nothing listens on: the docker SDK really finds no engine."""
    host = f"unix://{tmp_path / 'no-engine.sock'}"
    monkeypatch.setenv("DOCKER_HOST", host)
    return host


def test_no_docker_engine_is_named_in_one_line(no_engine: str) -> None:
    """The tools are there but the docker SDK's ping gets no answer: one line naming docker and why."""
    with pytest.raises(KindToolMissingError) as err:
        KindCluster("probe", which=_all_tools).check()
    assert err.value.tool == "docker"
    assert str(err.value) == f"docker is installed but no Docker engine answers ({no_engine}: no such socket)"


def test_docker_calls_without_engine_fail_in_one_line(no_engine: str, tmp_path: Path) -> None:
    """The kind network and image builds go through the SDK: no engine, one KindCommandError line."""
    cluster = KindCluster("probe", which=_all_tools)
    with pytest.raises(KindCommandError, match="no Docker engine answers") as err:
        cluster.gateway()
    assert "\n" not in str(err.value)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(KindCommandError, match="no Docker engine answers"):
        cluster.build("nexuskit-probe:test", tmp_path / "Dockerfile", tmp_path)


def test_a_dockerfile_outside_the_context_is_refused(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    with pytest.raises(KindCommandError, match="outside the build context"):
        KindCluster("probe", which=_all_tools).build("i:t", tmp_path / "Dockerfile", context)


def test_images_build_through_the_docker_sdk(tmp_path: Path) -> None:  # pragma: no cover - needs Docker
    """With an engine: build() makes the image from a Dockerfile under the context."""
    if NO_ENGINE:
        pytest.skip(f"no Docker engine answers: {NO_ENGINE}")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (tmp_path / "hello.txt").write_text("hello\n")
    tag = "nexuskit-kind-build-test:1"
    KindCluster("probe", which=_all_tools).build(tag, tmp_path / "svc" / "Dockerfile", tmp_path)
    client = docker_engine()
    try:
        assert tag in client.images.get(tag).tags
    finally:
        client.images.remove(tag, force=True)
        client.close()


def test_missing_tool_is_named_in_one_line(tmp_path: Path) -> None:
    """Without docker, kind or kubectl the kind runtime stops with one line naming the tool."""
    if MISSING is None:
        pytest.skip("docker, kind and kubectl are all here; nothing is missing")
    settings = KitSettings(port=1, state_dir=tmp_path)
    target = AwsTarget("us-west-2", "k", "s", "http://127.0.0.1:1")
    with pytest.raises(ToolMissingError) as err:
        kind_up(settings, load_stack(), target, tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert any(f"{tool} is" in message for tool in ("docker", "kind", "kubectl"))


def test_first_missing_tool_is_reported() -> None:
    """find_tools names the first absent tool of docker, kind, kubectl."""
    present = {"docker": "/usr/bin/docker", "kind": None, "kubectl": "/usr/bin/kubectl"}
    with pytest.raises(KindToolMissingError) as err:
        find_tools(present.get)
    assert err.value.tool == "kind" and str(err.value).startswith("kind is not installed")


def test_cluster_nodes_mirror_the_node_groups() -> None:
    """The kind config has a worker per node group, labelled role=..., the mcp one tainted."""
    config = yaml.safe_load(kind_config(virtual_nodes(load_stack())))
    workers = [n for n in config["nodes"] if n["role"] == "worker"]
    assert [w["labels"] for w in workers] == [{"role": "general"}, {"role": "mcp"}]
    patch = yaml.safe_load(workers[1]["kubeadmConfigPatches"][0])
    assert patch["nodeRegistration"]["taints"] == [
        {"key": "dedicated", "value": "mcp", "effect": "NoSchedule"}
    ]


def test_kind_manifests_point_at_the_engine_and_carry_role_credentials() -> None:
    """Deployments get AWS_ENDPOINT_URL; an IRSA service account's pods get its credentials Secret."""
    deployment: dict[str, Any] = {
        "kind": "Deployment",
        "metadata": {"name": "aws-mcp", "namespace": "nexus-mcp"},
        "spec": {
            "template": {
                "spec": {"serviceAccountName": "aws-mcp", "containers": [{"name": "c", "image": "i"}]}
            }
        },
    }
    (patched,) = patch_for_kind([deployment], "http://172.18.0.1:4566", {("nexus-mcp", "aws-mcp"): "creds"})
    container = patched["spec"]["template"]["spec"]["containers"][0]
    assert container["env"][0] == {"name": "AWS_ENDPOINT_URL", "value": "http://172.18.0.1:4566"}
    assert container["envFrom"] == [{"secretRef": {"name": "creds"}}]
    assert "env" not in deployment["spec"]["template"]["spec"]["containers"][0]  # input untouched


@pytest.mark.skipif(MISSING is not None, reason=f"kind runtime unavailable: {MISSING}")
def test_kind_cluster_runs_every_deployment(tmp_path: Path) -> None:  # pragma: no cover - needs Docker
    """On a machine with Docker, kind and kubectl, up with NEXUSKIT_K8S=kind rolls out every deployment."""
    from tests.runtime.conftest import nexuskit

    port_args = ["--port", "45999", "--state-dir", str(tmp_path)]
    result = nexuskit("up", "--local", "--json", *port_args, env={"NEXUSKIT_K8S": "kind"}, timeout=1800)
    try:
        assert result.returncode == 0, result.stderr
    finally:
        nexuskit("down", *port_args)
