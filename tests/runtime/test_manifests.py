"""The services' manifests: rendered from one source, validated field by field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emulation.runtime.exceptions import ManifestError
from emulation.runtime.manifests import load_manifests
from nexuskit.config import KitSettings
from nexuskit.controlplane.daemon import RuntimeDaemon
from nexuskit.controlplane.render import manifest_values, render_manifests
from nexuskit.errors import ConfigError
from nexuskit.params import load_stack

GOOD = """\
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  annotations:
    nexuskit.dev/local-command: python -m tests.runtime.lab_pod
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: demo/web:1
          readinessProbe:
            httpGet: {path: /health, port: 8000}
"""


def _write(root: Path, text: str) -> Path:
    path = root / "demo" / "k8s" / "demo.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rendered")
    render_manifests(load_stack(), out)
    return out


def test_unknown_field_names_file_and_field(tmp_path: Path) -> None:
    """A misspelt field fails loading with the file and the field's full path."""
    path = _write(tmp_path, GOOD.replace("httpGet: {path: /health", "httpGet: {pth: /health"))
    with pytest.raises(ManifestError) as err:
        load_manifests(tmp_path)
    assert str(path) in str(err.value)
    assert "spec.template.spec.containers[0].readinessProbe.httpGet.pth: unknown field" in str(err.value)


def test_missing_command_annotation_names_file_and_field(tmp_path: Path) -> None:
    """A Deployment without nexuskit.dev/local-command fails with the file and the annotation named."""
    path = _write(
        tmp_path,
        GOOD.replace("    nexuskit.dev/local-command: python -m tests.runtime.lab_pod\n", "    a: b\n"),
    )
    with pytest.raises(ManifestError) as err:
        load_manifests(tmp_path)
    assert str(path) in str(err.value)
    assert "metadata.annotations.nexuskit.dev/local-command: required annotation is missing" in str(err.value)


def test_bad_manifest_stops_the_runtime_with_one_line(tmp_path: Path) -> None:
    """The runtime daemon refuses bad manifests: exit code 5 and one line naming file and field."""
    path = _write(tmp_path / "m", GOOD.replace("replicas: 1", "replicas: 1\n  replica: 2"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "emulation.runtime",
            "--state-dir",
            str(tmp_path),
            "--manifests",
            str(tmp_path / "m"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 5
    (line,) = result.stderr.strip().splitlines()
    assert str(path) in line and "spec.replica: unknown field" in line


def test_bad_manifest_fails_start_as_config_error(tmp_path: Path) -> None:
    """Starting the control plane on a bad manifest raises ConfigError naming file and field."""
    path = _write(tmp_path / "m", GOOD.replace("kind: Deployment", "kind: Deployment\nstatus: {}"))
    daemon = RuntimeDaemon(KitSettings(port=1, state_dir=tmp_path / "state"))
    with pytest.raises(ConfigError) as err:
        daemon.start(load_stack(), "http://127.0.0.1:1", manifests_dir=tmp_path / "m")
    assert str(path) in err.value.message and "status: unknown field" in err.value.message
    assert daemon.pid() is None


def test_templates_render_to_valid_manifests(rendered: Path) -> None:
    """Every template renders; the result loads with the spec's namespaces, deployments and services."""
    manifests = load_manifests(rendered)
    assert set(manifests.namespaces) == {"nexus-agent-core", "nexus-mcp", "nexus-data"}
    assert set(manifests.deployments) == {
        "nexus-agent-core/agent-core",
        "nexus-agent-core/nexus-ui",
        "nexus-mcp/aws-mcp",
        "nexus-mcp/custom-mcp",
        "nexus-mcp/database-mcp",
        "nexus-mcp/k8s-mcp",
    }
    for service in manifests.services.values():
        assert [(p.port, p.target) for p in service.ports] == [(80, 8000)]
    for deploy in manifests.deployments.values():
        container = deploy.template.container
        assert container.readiness and container.readiness.path == "/health"
        assert container.liveness and container.liveness.path == "/health"
        assert container.memory_limit


def test_irsa_service_accounts_carry_the_stack_roles(rendered: Path) -> None:
    """agent-orchestrator, aws-mcp and nexus-ui are annotated with the stack's IRSA role ARNs; the
    others are not."""
    manifests = load_manifests(rendered)
    roles = {key: sa.role_arn for key, sa in manifests.service_accounts.items()}
    assert (
        roles.pop("nexus-agent-core/agent-orchestrator")
        == "arn:aws:iam::123456789012:role/nexus-dev-agent-irsa"
    )
    assert roles.pop("nexus-mcp/aws-mcp") == "arn:aws:iam::123456789012:role/nexus-dev-aws-mcp-irsa"
    assert roles.pop("nexus-agent-core/nexus-ui") == "arn:aws:iam::123456789012:role/nexus-dev-ui-irsa"
    assert set(roles) >= {"nexus-mcp/custom-mcp", "nexus-mcp/database-mcp", "nexus-mcp/k8s-mcp"}
    assert not any(roles.values())


def test_mcp_pods_tolerate_the_mcp_taint(rendered: Path) -> None:
    """MCP pods select role=mcp and tolerate dedicated=mcp:NoSchedule; the others select role=general."""
    for key, deploy in load_manifests(rendered).deployments.items():
        template = deploy.template
        if key.startswith("nexus-mcp/"):
            assert template.node_selector == {"role": "mcp"}
            assert [(t.key, t.value, t.effect) for t in template.tolerations] == [
                ("dedicated", "mcp", "NoSchedule")
            ]
        else:
            assert template.node_selector == {"role": "general"} and not template.tolerations


def test_rendering_follows_the_parameter_file(tmp_path: Path) -> None:
    """Another environment's parameters give its own names (one source for every tool)."""
    prod = load_stack(env="prod")
    render_manifests(prod, tmp_path, values=manifest_values(prod, api_invoke_url="https://x.example/prod"))
    text = (tmp_path / "agent_core" / "k8s" / "agent-core.yaml").read_text()
    assert "stream: nexus-prod-intake" in text and "nexus-dev" not in text
    assert "role/nexus-prod-agent-irsa" in text
    ui = yaml.safe_load_all((tmp_path / "nexus_ui" / "k8s" / "nexus-ui.yaml").read_text())
    config = next(d for d in ui if d["kind"] == "ConfigMap")
    assert config["data"]["API_GATEWAY_URL"] == "https://x.example/prod"


def test_rendered_tree_is_what_terraform_applies(rendered: Path) -> None:
    """The output has the workloads stack's services/*/k8s/*.yaml layout; each file names its template."""
    files = sorted(str(p.relative_to(rendered)) for p in rendered.glob("**/k8s/*.yaml"))
    assert "agent_core/k8s/agent-core.yaml" in files and "mcp/aws_mcp/k8s/aws-mcp.yaml" in files
    first = (rendered / "mcp" / "aws_mcp" / "k8s" / "aws-mcp.yaml").read_text().splitlines()[0]
    assert first == "# nexuskit.dev/source: services/mcp/aws_mcp/k8s/templates/aws-mcp.yaml"
    assert "${" not in "".join(p.read_text() for p in rendered.glob("**/*.yaml"))


def test_unknown_placeholder_names_template_and_placeholder(tmp_path: Path) -> None:
    """A template with a placeholder the stack does not define fails naming both."""
    template = tmp_path / "services" / "demo" / "k8s" / "templates" / "demo.yaml"
    template.parent.mkdir(parents=True)
    template.write_text("kind: ConfigMap\ndata:\n  x: ${no_such_value}\n")
    with pytest.raises(ConfigError) as err:
        render_manifests(load_stack(), tmp_path / "out", services_dir=tmp_path / "services")
    assert str(template) in err.value.message and "${no_such_value}" in err.value.message


def test_manifests_command_writes_terraform_input(tmp_path: Path) -> None:
    """nexuskit manifests --env prod --out DIR renders the tree for terraform -var services_dir=DIR."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nexuskit.cli",
            "manifests",
            "--env",
            "prod",
            "--out",
            str(tmp_path / "m"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["files"]) == 7


def test_dependency_cycle_is_refused(tmp_path: Path) -> None:
    """Two deployments that depend on each other fail loading, naming the cycle."""
    other = GOOD.split("---\n", 1)[1].replace("name: web", "name: api").replace("app: web", "app: api")
    text = GOOD.replace(
        "python -m tests.runtime.lab_pod",
        "python -m tests.runtime.lab_pod\n    nexuskit.dev/depends-on: demo/api",
    )
    text += "---\n" + other.replace(
        "python -m tests.runtime.lab_pod",
        "python -m tests.runtime.lab_pod\n    nexuskit.dev/depends-on: demo/web",
    )
    _write(tmp_path, text)
    with pytest.raises(ManifestError) as err:
        load_manifests(tmp_path)
    assert "dependency cycle demo/api -> demo/web -> demo/api" in str(err.value)
