"""``tflocal`` (LocalStack's terraform wrapper) applies, re-plans and destroys ``stacks/platform``
on a fresh engine, unchanged, with the result of ``nexuskit tf``.

The engine is started as LocalStack users start theirs: empty, on its port, its admin keys
LocalStack's well-known ``test``/``test`` (tflocal signs every request with them, IAM
enforced). tflocal gets only ``AWS_ENDPOINT_URL`` and ``AWS_DEFAULT_REGION``, the CLI
configuration nexuskit writes for its own terraform (the provider mirror, offline) and the
variable files nexuskit's own apply passes: the parameter set, the auth Lambda's package and
the medallion Glue assets (built by nexuskit's builders). tflocal writes its provider and S3
backend override (state in its ``tf-test-state`` bucket) and addresses S3 as LocalStack's
``s3.localhost.localstack.cloud`` with virtual hosts (``<bucket>.s3.localhost.localstack.cloud``);
where LocalStack users have public DNS for those names, the test adds exactly those names to
``/etc/hosts`` and takes its lines out again at the end.

One apply, one plan, one destroy: the AWS provider's own waits make this module take minutes,
so the suite starts it first (``RUN_FIRST`` in ``tests/conftest.py``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from nexuskit.edge.package import build_auth_package
from nexuskit.lake.glue import assets_bucket, build_assets
from nexuskit.params import StackSpec, load_stack, params_path
from nexuskit.terraform.cliconfig import write_cli_config
from nexuskit.terraform.mirrors import discover_mirrors
from nexuskit.terraform.workspace import sync_tree
from tests.helpers import free_port
from tests.localstack.conftest import REPO_ROOT, clean_env, tool
from tests.terraform.tfreal import require_aws_provider

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

HOSTS = Path("/etc/hosts")
#: LocalStack's well-known keys: tflocal's provider and backend always sign with them
LOCALSTACK_KEYS = ("test", "test")
#: the bucket tflocal puts the state in when the S3 backend names none
STATE_BUCKET = "tf-test-state"
S3_HOST = "s3.localhost.localstack.cloud"


@dataclass
class FreshEngine:
    port: int
    state_dir: Path
    proc: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str, region: str) -> Any:
        key, secret = LOCALSTACK_KEYS
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshEngine]:
    """``python -m emulation`` with IAM enforced and no admin keys given (so ``test``/``test``),
    ready once ``/_localstack/health`` answers."""
    tool("tflocal")
    require_aws_provider()
    folder = tmp_path_factory.mktemp("tflocal-engine")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUSKIT_ADMIN_", "AWS_"))}
    cmd = [
        sys.executable,
        "-m",
        "emulation",
        "--port",
        str(port),
        "--state-dir",
        str(folder),
        "--iam",
        "enforce",
    ]
    with open(folder / "engine.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    running = FreshEngine(port, folder, proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (folder / "engine.log").read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(f"{running.endpoint}/_localstack/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the engine did not answer /_localstack/health in 60 s"
            time.sleep(0.1)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def localstack_names(engine: FreshEngine) -> Iterator[list[str]]:
    """LocalStack's S3 names of the stack's buckets (and tflocal's state bucket) -> 127.0.0.1
    in /etc/hosts: one line added, and only that line taken out at the end."""
    spec = load_stack()
    buckets = [STATE_BUCKET, *spec.buckets.values(), assets_bucket(spec)]
    names = [S3_HOST, "localhost.localstack.cloud", *(f"{b}.{S3_HOST}" for b in buckets)]
    if not os.access(HOSTS, os.W_OK):
        pytest.skip(f"{HOSTS} is not writable: tflocal's {S3_HOST} names need it (or public DNS)")
    line = f"127.0.0.1 {' '.join(names)}  # nexuskit tests/localstack pid {os.getpid()}\n"
    with open(HOSTS, "a", encoding="utf-8") as hosts:
        hosts.write(line)
    try:
        yield names
    finally:
        with open(HOSTS, "r+", encoding="utf-8") as hosts:
            lines = hosts.readlines()
            if line in lines:
                lines.remove(line)
                hosts.seek(0)
                hosts.writelines(lines)
                hosts.truncate()


@dataclass
class TfLocal:
    stack_dir: Path
    env: dict[str, str]
    var_args: list[str]
    spec: StackSpec
    log: Path

    def run(self, *args: str, with_vars: bool = True, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
        """``tflocal ARGS`` in the stack's folder: exit status and output (also kept in the log)."""
        cmd = [
            str(tool("tflocal")),
            *args,
            "-input=false",
            "-no-color",
            *(self.var_args if with_vars else []),
        ]
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(f"\n$ {' '.join(cmd)}\n")
            log.flush()
            start = self.log.stat().st_size
            result = subprocess.run(
                cmd,
                cwd=self.stack_dir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=840,
                check=False,
            )
        with open(self.log, "rb") as log:
            log.seek(start)
            output = log.read().decode("utf-8", errors="replace")
        if result.returncode not in ok:
            pytest.fail(f"tflocal {args[0]} exited {result.returncode}:\n{output[-4000:]}")
        return result.returncode, output


@pytest.fixture(scope="module")
def tflocal(
    engine: FreshEngine, localstack_names: list[str], tmp_path_factory: pytest.TempPathFactory
) -> TfLocal:
    """A copy of terraform/ (no working files land in the checkout), nexuskit's CLI configuration,
    the variable files nexuskit's apply passes, and the shell tflocal runs in."""
    folder = tmp_path_factory.mktemp("tflocal")
    sync_tree(REPO_ROOT / "terraform", folder / "terraform")
    cli_config = write_cli_config(discover_mirrors(), folder / "cli")
    spec = load_stack()
    package = build_auth_package(
        folder / "build",
        function_name=spec.auth_function,
        wheel_cache=folder / "empty-wheel-cache",
        allow_environment=True,
    )
    package_vars = folder / "build" / "auth-package.tfvars.json"
    package_vars.write_text(json.dumps(package.terraform_vars()), encoding="utf-8")
    glue = build_assets(folder / "build" / "glue")
    var_args = [
        f"-var-file={params_path('local', REPO_ROOT).resolve()}",
        f"-var-file={package_vars}",
        f"-var-file={glue.var_file}",
    ]
    env = clean_env(
        AWS_ENDPOINT_URL=engine.endpoint,
        AWS_DEFAULT_REGION=spec.region,
        TF_CLI_CONFIG_FILE=str(cli_config),
    )
    return TfLocal(folder / "terraform" / "stacks" / "platform", env, var_args, spec, folder / "tflocal.log")


def _prefixed(names: list[str], prefix: str) -> list[str]:
    return sorted(n for n in names if n.startswith(prefix))


def test_tflocal_apply_plan_destroy(tflocal: TfLocal, engine: FreshEngine) -> None:
    """``tflocal init``, ``apply`` (streams, deliveries, buckets made), a second ``plan
    -detailed-exitcode`` exits 0 (nothing to change) and ``destroy`` leaves no stream,
    delivery stream, bucket, role, table, Glue database or job of the stack; the state lives
    in tflocal's own bucket, and tflocal cleans its override file up."""
    spec, region = tflocal.spec, tflocal.spec.region
    prefix = spec.prefix
    tflocal.run("init", with_vars=False)
    _, applied = tflocal.run("apply", "-auto-approve")
    added = re.search(r"Apply complete! Resources: (\d+) added, 0 changed, 0 destroyed", applied)
    assert added and int(added[1]) > 100, applied[-3000:]
    kinesis, firehose, s3 = (engine.client(s, region) for s in ("kinesis", "firehose", "s3"))
    assert spec.primary_stream in kinesis.list_streams()["StreamNames"]
    assert spec.primary_firehose in firehose.list_delivery_streams()["DeliveryStreamNames"]
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert set(spec.buckets.values()) | {assets_bucket(spec), STATE_BUCKET} <= buckets
    state = s3.list_objects_v2(Bucket=STATE_BUCKET).get("Contents", [])
    assert [o["Key"] for o in state] == ["platform/terraform.tfstate"]
    assert not (tflocal.stack_dir / "localstack_providers_override.tf").exists()

    code, planned = tflocal.run("plan", "-detailed-exitcode", ok=(0, 2))
    assert code == 0, "the second plan wants changes:\n" + planned[-4000:]

    _, destroyed = tflocal.run("destroy", "-auto-approve")
    assert f"Destroy complete! Resources: {added[1]} destroyed." in destroyed, destroyed[-3000:]
    assert _prefixed(kinesis.list_streams()["StreamNames"], prefix) == []
    assert _prefixed(firehose.list_delivery_streams()["DeliveryStreamNames"], prefix) == []
    assert _prefixed([b["Name"] for b in s3.list_buckets()["Buckets"]], prefix) == []
    roles = [r["RoleName"] for r in engine.client("iam", region).list_roles()["Roles"]]
    assert _prefixed(roles, prefix) == []
    assert _prefixed(engine.client("dynamodb", region).list_tables()["TableNames"], prefix) == []
    databases = [d["Name"] for d in engine.client("glue", region).get_databases()["DatabaseList"]]
    assert [d for d in databases if d.startswith(prefix.replace("-", "_"))] == []
    assert _prefixed(engine.client("glue", region).list_jobs()["JobNames"], prefix) == []
