"""The kind runtime: tool detection here; the cluster itself only where Docker, kind and kubectl exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from emulation.kind.cluster import (
    KindCluster,
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
