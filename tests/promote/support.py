"""Helpers of the promotion tests: fake tools, a clean git repo, plan documents.

Nothing here needs a real terraform, Docker or AWS: PATH holds only the fakes (plus git and
bash), STS and ECR go to an in-process moto server whose account is set with
MOTO_ACCOUNT_ID, and the smoke test talks to a small local HTTP server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexuskit.errors import PromotionError
from nexuskit.promote import PromoteOptions, PromotionReport, promote, write_scenario_record
from nexuskit.promote.rehearsal import RehearsalReport

MAIN = Path(__file__).resolve().parents[2]
FAKES = Path(__file__).resolve().parent / "fakes"
ACCOUNT = "210987654321"
LOCAL_PARAMS = "terraform/envs/local/terraform.tfvars.json"
AUTH_ENV_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def install_fake(bin_dir: Path, name: str, script: str) -> Path:
    """A ``name`` executable in ``bin_dir`` that runs one of the fakes with this Python."""
    path = bin_dir / name
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKES / script}" "$@"\n')
    path.chmod(0o755)
    return path


@dataclass
class Fakes:
    """The fake tools' folder and logs."""

    bin: Path
    tf_log: Path
    docker_log: Path

    def tf_calls(self) -> list[dict[str, Any]]:
        if not self.tf_log.exists():
            return []
        return [json.loads(line) for line in self.tf_log.read_text().splitlines()]

    def docker_calls(self) -> list[list[str]]:
        if not self.docker_log.exists():
            return []
        return [json.loads(line)["argv"] for line in self.docker_log.read_text().splitlines()]

    def remove(self, name: str) -> None:
        (self.bin / name).unlink()


@dataclass
class SmokeServer:
    """The deployed API as the smoke test sees it: POST /auth and an AWS-style endpoint."""

    url: str
    issue_token: bool = True
    refuse_unsigned: bool = True
    requests: list[tuple[str, str, bool]] = field(default_factory=list)  # method, path, signed


def _git(repo: Path, *args: str) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Promote Test",
        "GIT_AUTHOR_EMAIL": "promote@example.invalid",
        "GIT_COMMITTER_NAME": "Promote Test",
        "GIT_COMMITTER_EMAIL": "promote@example.invalid",
    }
    result = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


CHECKOV_FAKE = """#!/usr/bin/env bash
# Stand-in for terraform/scripts/checkov.sh in the test repository.
failed="${FAKE_CHECKOV_FAILED:-0}"
echo "terraform scan results:"
echo "Passed checks: 3, Failed checks: ${failed}, Skipped checks: 0"
[ "$failed" = "0" ]
"""
INVARIANTS_FAKE = """import os


def test_invariants():
    assert os.environ.get("FAKE_INVARIANTS_FAIL") != "1", "a spec invariant is broken"
"""


def make_repo(
    root: Path, account: str = ACCOUNT, region: str = "us-west-2", dockerfiles: bool = True
) -> tuple[Path, str]:
    """A small git checkout with the files promotion reads; returns (path, HEAD commit)."""
    repo = root / "repo"
    params = json.loads((MAIN / "terraform/envs/prod/terraform.tfvars.json").read_text())
    params["allowed_account_ids"] = [account]
    params["region"] = region
    params["availability_zones"] = [f"{region}{zone}" for zone in "abc"]
    files = {
        ".gitignore": ".nexus/\n.terraform/\n*_override.tf\n",
        "terraform/envs/prod/terraform.tfvars.json": json.dumps(params, indent=2) + "\n",
        "terraform/envs/prod/backend.hcl": (
            f'bucket       = "nexus-prod-tfstate-{account}"\nregion       = "{region}"\n'
            "encrypt      = true\nuse_lockfile = true\n"
        ),
        LOCAL_PARAMS: (MAIN / LOCAL_PARAMS).read_text(),
        "terraform/stacks/platform/main.tf": "# platform stack (the fake terraform does not read it)\n",
        "terraform/stacks/workloads/main.tf": "# workloads stack\n",
        "terraform/scripts/checkov.sh": CHECKOV_FAKE,
        "tests/terraform/test_invariants.py": INVARIANTS_FAKE,
        "docker-compose.yml": (MAIN / "docker-compose.yml").read_text(),
    }
    if dockerfiles:
        files["services/agent_core/Dockerfile"] = "FROM python:3.11-slim\n"
        files["services/mcp/aws_mcp/Dockerfile"] = "FROM python:3.11-slim\n"
    for template in sorted((MAIN / "services").glob("**/k8s/templates/*.yaml")):
        files[str(template.relative_to(MAIN))] = template.read_text()
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (repo / "terraform/scripts/checkov.sh").chmod(0o755)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "test checkout")
    return repo, _git(repo, "rev-parse", "HEAD")


@dataclass
class Checkout:
    """A test repository, with helpers to record scenarios and run the promotion."""

    path: Path
    commit: str
    fakes: Fakes
    aws_endpoints: dict[str, str]

    def green_record(self) -> Path:
        return write_scenario_record(
            self.commit,
            [{"name": "client-auth-to-bronze", "status": "passed", "duration_s": 1.5}],
            root=self.path,
            dirty=False,
        )

    rehearsals: list[tuple[Path, str]] = field(default_factory=list)
    rehearsal_error: str | None = None

    def rehearse(self, root: Path, env: str, workdir: Path, on_line: Any = None) -> RehearsalReport:
        """Stands in for the rehearsal (a real one needs the real stacks; see test_rehearsal.py)."""
        self.rehearsals.append((root, env))
        if self.rehearsal_error:
            raise PromotionError(self.rehearsal_error)
        package = workdir / "build" / "nexus-prod-auth.zip"
        package.parent.mkdir(parents=True, exist_ok=True)
        package.write_bytes(b"PK fake package")
        glue_vars = workdir / "build" / "glue" / "medallion-glue.tfvars.json"
        glue_vars.parent.mkdir(parents=True, exist_ok=True)
        glue_vars.write_text('{"medallion_glue_assets": null}')
        return RehearsalReport(
            env,
            applied=3,
            destroyed=3,
            package={"path": str(package), "sha256_b64": "A" * 43 + "=", "target": "python3.11 x86_64"},
            glue_var_file=str(glue_vars),
        )

    def promote(self, confirm: Any = None, **options: Any) -> PromotionReport:
        opts = PromoteOptions(env="prod", root=self.path, aws_endpoints=self.aws_endpoints, **options)
        return promote(opts, confirm=confirm, rehearsal=self.rehearse)

    def write_json(self, name: str, doc: Any) -> Path:
        path = self.path.parent / name
        path.write_text(json.dumps(doc))
        return path


def step_names(report: PromotionReport) -> list[str]:
    return [step.name for step in report.steps]


def plan_json(*changes: dict[str, Any], configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``terraform show -json`` document with these resource changes."""
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "resource_changes": list(changes),
        "configuration": configuration or {"root_module": {}},
    }


def change(address: str, actions: list[str], after: dict[str, Any] | None = None) -> dict[str, Any]:
    """One entry of ``resource_changes``."""
    local = address.split(".")[-2:]
    return {
        "address": address,
        "mode": "data" if ".data." in f".{address}" else "managed",
        "type": local[0],
        "name": local[1].split("[")[0],
        "change": {"actions": actions, "before": None, "after": after or {}},
    }
