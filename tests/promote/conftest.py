"""Fixtures of the promotion tests: fake terraform/docker on PATH, a clean git repo, moto.

Nothing here needs a real terraform, Docker or AWS: PATH holds only the fakes (plus git and
bash), STS and ECR go to an in-process moto server whose account is set with
MOTO_ACCOUNT_ID, and the smoke test talks to a small local HTTP server.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.promote.support import (
    ACCOUNT,
    AUTH_ENV_VARS,
    Checkout,
    Fakes,
    SmokeServer,
    free_port,
    install_fake,
    make_repo,
)


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fakes:
    """PATH = fake terraform + fake docker + git + bash, and nothing else."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "bash", "sh"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed by the tests"
        (bin_dir / tool).symlink_to(found)
    install_fake(bin_dir, "terraform", "fake_terraform.py")
    install_fake(bin_dir, "docker", "fake_docker.py")
    found = Fakes(bin_dir, tmp_path / "terraform-calls.jsonl", tmp_path / "docker-calls.jsonl")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("FAKE_TF_LOG", str(found.tf_log))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(found.docker_log))
    for name in list(os.environ):
        if name.startswith(
            ("FAKE_TF_", "FAKE_DOCKER_", "FAKE_CHECKOV", "FAKE_INVARIANTS", "AWS_ENDPOINT_URL")
        ) and name not in ("FAKE_TF_LOG", "FAKE_DOCKER_LOG"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("NEXUSKIT_TERRAFORM", raising=False)
    # The static-checks gate runs pytest on the test repository: skip loading the venv's plugins.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return found


@pytest.fixture
def aws_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test keys in the environment; no profile, config file or instance metadata."""
    for name in AUTH_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAPROMOTETEST00001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "promote-test-secret-key-000000000000000")
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """An in-process moto server (STS, ECR) on a free port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def smoke_server() -> Iterator[SmokeServer]:
    port = free_port()
    state = SmokeServer(f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signed = "Authorization" in self.headers
            state.requests.append(("POST", self.path, signed))
            if self.path.endswith("/auth"):
                token = {"token": "eyJhbGciOiJSUzI1NiJ9.e30.sig", "token_type": "Bearer"}
                self._send(200, token if state.issue_token else {"message": "ok"})
            elif self.headers.get("X-Amz-Target") and not signed and state.refuse_unsigned:
                self._send(400, {"__type": "MissingAuthenticationTokenException", "message": "Missing token"})
            else:
                self._send(200, {"StreamDescriptionSummary": {}})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _reset_smoke(request: pytest.FixtureRequest) -> None:
    if "smoke_server" in request.fixturenames:
        server: SmokeServer = request.getfixturevalue("smoke_server")
        server.issue_token = server.refuse_unsigned = True
        server.requests.clear()


@pytest.fixture
def checkout(
    tmp_path: Path,
    fakes: Fakes,
    aws_credentials: None,
    moto_url: str,
    smoke_server: SmokeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Checkout:
    """A clean checkout of a repository that promotion accepts once it has a green record."""
    repo, commit = make_repo(tmp_path)
    outputs = {
        "http_api": {"value": {"auth_url": f"{smoke_server.url}/prod/auth"}},
        "streams": {"value": {"client": {"name": "nexus-prod-client-intake"}}},
    }
    co = Checkout(repo, commit, fakes, {"default": moto_url, "kinesis": smoke_server.url})
    monkeypatch.setenv("FAKE_TF_OUTPUTS", str(co.write_json("outputs.json", outputs)))
    return co
