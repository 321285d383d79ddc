"""The workload set Terraform would deploy equals the set the local runtime runs.

Both read the same folder of rendered manifests (``nexuskit.controlplane.render``): the
runtime through its loader, Terraform through ``modules/manifests``, evaluated by the real
terraform (``terraform console``; the module needs no provider).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tfreal import require_terraform

from emulation.runtime.manifests import Manifests, load_manifests
from nexuskit.controlplane.render import manifest_values, render_manifests
from nexuskit.params import load_stack, repo_root
from nexuskit.terraform.workloads import terraform_workload_keys
from nexuskit.terraform.workspace import Workspace


def runtime_keys(manifests: Manifests) -> list[str]:
    """Every object the runtime loaded, as kind/namespace/name."""
    keys = [f"Namespace//{name}" for name in manifests.namespaces]
    keys += [f"{kind}/{ns}/{name}" for kind, ns, name in manifests.config]
    keys += [f"ServiceAccount/{key}" for key in manifests.service_accounts]
    keys += [f"Service/{key}" for key in manifests.services]
    keys += [f"Deployment/{key}" for key in manifests.deployments]
    keys += [f"{kind}/{ns}/{name}" for kind, ns, name in manifests.rbac.roles]
    keys += [f"{b.kind}/{b.namespace}/{b.name}" for b in manifests.rbac.bindings]
    return sorted(keys)


@pytest.mark.parametrize("env", ["local", "prod"])
def test_terraform_deploys_exactly_what_the_runtime_runs(env: str, tmp_path: Path) -> None:
    """For each environment, the manifests rendered as `up` and promotion render them give the
    same kind/namespace/name set to the runtime's loader and to Terraform."""
    require_terraform()
    spec = load_stack(env=env)
    folder = tmp_path / "manifests"
    render_manifests(spec, folder, values=manifest_values(spec))
    runtime = runtime_keys(load_manifests(folder))
    terraform = terraform_workload_keys(Workspace(tmp_path / "ws", repo_root()), folder)
    assert runtime, "the runtime loaded nothing"
    assert terraform == runtime


def test_unrendered_templates_are_refused(tmp_path: Path) -> None:
    """Pointing the workloads at services/ (templates, not rendered) fails with the command to run."""
    require_terraform()
    from nexuskit.terraform.errors import TerraformError

    with pytest.raises(TerraformError, match="nexuskit manifests"):
        terraform_workload_keys(Workspace(tmp_path / "ws", repo_root()), repo_root() / "services")
