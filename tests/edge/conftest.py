"""One real engine for the edge tests: the stack provisioned, the edge deployed on it.

The engine is a real ``python -m emulation`` process; everything below talks to it over
HTTP, as a producer or a deployer would.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nexuskit.aws import AwsTarget
from nexuskit.edge.auth import auth_url, deploy_edge, jwks_url
from nexuskit.params import StackSpec, load_stack
from nexuskit.provision.provisioner import provision
from tests.helpers import ADMIN_KEY, ADMIN_SECRET, EngineProcess


def edge_spec(**changes: Any) -> StackSpec:
    """The local parameters without the EKS control plane (not needed here, and slower)."""
    base = load_stack(env="local")
    return StackSpec(base.params.model_copy(update={"enable_eks": False, **changes}))


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(url: str, body: bytes | None = None, method: str | None = None, **headers: str) -> HttpAnswer:
    """A plain HTTP call (no SigV4), as a client of the HTTP API makes it."""
    request = urllib.request.Request(url, data=body, method=method or ("POST" if body is not None else "GET"))
    for key, value in headers.items():
        request.add_header(key.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return HttpAnswer(
                response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
            )
    except urllib.error.HTTPError as exc:
        return HttpAnswer(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


def post_json(url: str, doc: Any) -> HttpAnswer:
    return http(url, json.dumps(doc).encode("utf-8"), content_type="application/json")


def zip_source(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@dataclass
class EdgeStack:
    """The engine, the spec, the admin identity and the deployed edge's URLs."""

    engine: EngineProcess
    spec: StackSpec
    target: AwsTarget
    deploy_states: list[dict[str, str]]
    auth_url: str

    @property
    def jwks_url(self) -> str:
        return jwks_url(self.auth_url)

    def client(self, service: str) -> Any:
        return self.target.client(service)

    @property
    def exec_role_arn(self) -> str:
        return str(self.client("iam").get_role(RoleName=self.spec.roles["lambda_exec"])["Role"]["Arn"])

    def log_messages(self, group: str) -> list[str]:
        logs = self.client("logs")
        return [e["message"] for e in logs.filter_log_events(logGroupName=group).get("events", [])]


def start_edge(state_dir: Path, *engine_args: str, spec: StackSpec | None = None) -> EdgeStack:
    """A new engine with the stack provisioned and the edge deployed."""
    return deploy_on(EngineProcess(state_dir, *engine_args).start(), spec)


def deploy_on(engine: EngineProcess, spec: StackSpec | None = None) -> EdgeStack:
    """Provision the stack and deploy the edge on a running engine."""
    # The CLI (nexuskit token ...) finds the admin keys of a stack in its state dir.
    (engine.state_dir / "credentials.json").write_text(
        json.dumps({"access_key_id": ADMIN_KEY, "secret_access_key": ADMIN_SECRET})
    )
    spec = spec or edge_spec()
    target = engine.target()
    provision(spec, target)
    states = deploy_edge(spec, target)
    url = auth_url(spec, target)
    assert url is not None
    return EdgeStack(engine, spec, target, states, url)


@pytest.fixture(scope="session")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    """The shared stack with the edge deployed (tests must not break it for others)."""
    stack = start_edge(tmp_path_factory.mktemp("edge"))
    yield stack
    stack.engine.stop()


@pytest.fixture(scope="session")
def make_function(edge: EdgeStack) -> Callable[..., str]:
    """``make_function(name, {"app.py": source}, **config)``: a Python function on the engine."""

    def create(name: str, files: dict[str, str], handler: str = "app.handler", **config: Any) -> str:
        client = edge.client("lambda")
        created = client.create_function(
            FunctionName=name,
            Runtime=config.pop("Runtime", "python3.12"),
            Role=edge.exec_role_arn,
            Handler=handler,
            Code={"ZipFile": zip_source(files)},
            **config,
        )
        return str(created["FunctionArn"])

    return create
