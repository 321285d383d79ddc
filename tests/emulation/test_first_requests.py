"""A fresh engine answers the first request of every service, even while it warms up.

Extensions import their heavy dependencies (moto's Glue, moto's Lambda) on first use, not
at engine start: these tests hit a just-started engine with first requests, several at
once, and check the answers a client would see.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

KEY, SECRET = "AKIAFIRSTREQUESTS001", "first-requests-admin-secret-0000000000000"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Engine:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "NEXUSKIT_ADMIN_ACCESS_KEY": KEY, "NEXUSKIT_ADMIN_SECRET_KEY": SECRET}
        cmd = [
            sys.executable,
            "-m",
            "emulation",
            "--port",
            str(self.port),
            "--state-dir",
            str(self.state_dir),
        ]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:  # no deadline: the test runner's own timeout applies
            assert self.proc.poll() is None, "the engine exited"
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_nexus/health", timeout=5):
                    return
            except OSError:
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(120)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
            config=Config(retries={"max_attempts": 0}, read_timeout=300, s3={"addressing_style": "path"}),
        )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    started = Engine(tmp_path / "state")
    started.start()
    yield started
    started.stop()


FIRST_CALLS: dict[str, tuple[str, str]] = {
    # service -> (operation, a key of its answer)
    "s3": ("list_buckets", "Buckets"),
    "sts": ("get_caller_identity", "Account"),
    "iam": ("list_users", "Users"),
    "logs": ("describe_log_groups", "logGroups"),
    "kinesis": ("list_streams", "StreamNames"),
    "firehose": ("list_delivery_streams", "DeliveryStreamNames"),
    "kinesisvideo": ("list_streams", "StreamInfoList"),
    "glue": ("get_jobs", "Jobs"),
    "lambda": ("list_functions", "Functions"),
    "apigatewayv2": ("get_apis", "Items"),
    "ec2": ("describe_vpcs", "Vpcs"),
    "eks": ("list_clusters", "clusters"),
    "lakeformation": ("list_permissions", "PrincipalResourcePermissions"),
    "secretsmanager": ("list_secrets", "SecretList"),
}


def test_first_requests_of_every_service_at_once_are_answered(engine: Engine) -> None:
    """Right after start (warm-up still running), one first call per service, all at
    once: each gets its normal answer."""
    clients = {service: engine.client(service) for service in FIRST_CALLS}

    def call(service: str) -> dict[str, Any]:
        operation, _key = FIRST_CALLS[service]
        answer: dict[str, Any] = getattr(clients[service], operation)()
        return answer

    with ThreadPoolExecutor(len(FIRST_CALLS)) as pool:
        answers = dict(zip(FIRST_CALLS, pool.map(call, FIRST_CALLS), strict=True))
    for service, (_operation, key) in FIRST_CALLS.items():
        assert answers[service]["ResponseMetadata"]["HTTPStatusCode"] == 200, service
        assert key in answers[service], service
    assert answers["sts"]["Account"] == "123456789012"
    assert answers["ec2"]["Vpcs"]  # moto's default VPC


def test_concurrent_first_glue_job_calls_are_answered(engine: Engine) -> None:
    """Eight BatchStopJobRun calls at once, the first the Glue extension handles (it loads
    moto's Glue then): each reports the unknown run as an error, none fails."""
    glue = engine.client("glue")
    glue.create_job(Name="job", Role="arn:aws:iam::123456789012:role/glue", Command={"Name": "pythonshell"})

    def stop(i: int) -> dict[str, Any]:
        answer: dict[str, Any] = engine.client("glue").batch_stop_job_run(
            JobName="job", JobRunIds=[f"jr_{i}"]
        )
        return answer

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(stop, range(8)))
    for i, answer in enumerate(answers):
        assert [error["JobRunId"] for error in answer["Errors"]] == [f"jr_{i}"]
        assert answer["SuccessfulSubmissions"] == []


def test_a_lambda_function_survives_a_restart(tmp_path: Path) -> None:
    """moto's Lambda is taught to pickle when first imported (not at engine start): a
    function created on a fresh engine is there after a restart."""
    state = tmp_path / "state"
    first = Engine(state)
    first.start()
    try:
        first.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
        first.client("lambda").create_function(
            FunctionName="survivor",
            Runtime="python3.11",
            Role="arn:aws:iam::123456789012:role/fn",
            Handler="index.handler",
            Code={"ZipFile": _zip("def handler(event, context):\n    return 1\n")},
        )
    finally:
        first.stop()
    second = Engine(state)
    second.start()
    try:
        names = [f["FunctionName"] for f in second.client("lambda").list_functions()["Functions"]]
    finally:
        second.stop()
    assert names == ["survivor"]


def _zip(source: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


def test_a_post_import_hook_runs_once_before_any_thread_uses_the_module(tmp_path: Path) -> None:
    """Two threads import a hooked module at once: the hook ran exactly once, and both
    threads see the module as the hook left it."""
    from emulation.core.imports import when_imported

    (tmp_path / "hooked_first_use.py").write_text(
        textwrap.dedent(
            """
            import time
            time.sleep(0.2)
            PATCHED = False
            """
        )
    )
    calls: list[str] = []

    def hook(module: Any) -> None:
        calls.append(module.__name__)
        module.PATCHED = True

    sys.path.insert(0, str(tmp_path))
    try:
        when_imported("hooked_first_use", hook)
        seen: list[bool] = []

        def use() -> None:
            import hooked_first_use

            seen.append(hooked_first_use.PATCHED)

        threads = [threading.Thread(target=use) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("hooked_first_use", None)
    assert calls == ["hooked_first_use"]
    assert seen == [True, True]
