"""A fresh engine answers the first request of every service, even while it warms up.

Extensions import their heavy dependencies (moto's Glue, moto's Lambda) on first use, not
at engine start: these tests hit a just-started engine with first requests, several at
once, and check the answers a client would see.
"""

from __future__ import annotations

import sys
import textwrap
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import EngineProcess


def _client(engine: EngineProcess, service: str) -> Any:
    """A client of the engine's admin that surfaces every error (no retries)."""
    return engine.target().client(service, max_attempts=0)


@pytest.fixture(params=["lazy", "platform"])
def engine(engine_factory: Callable[..., EngineProcess], request: pytest.FixtureRequest) -> EngineProcess:
    """A just-started engine (IAM enforced, persistence on): lazy (every service is imported
    by its first request) or warming up the platform's services (the warm-up waits for a
    quiet moment, then imports what the requests have not)."""
    return engine_factory("--warm-up", request.param)


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


def test_first_requests_of_every_service_at_once_are_answered(engine: EngineProcess) -> None:
    """Right after start (each service imported by these very calls, or by the warm-up
    running beside them), one first call per service, all at once: each gets its normal
    answer."""
    clients = {service: _client(engine, service) for service in FIRST_CALLS}

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


def test_concurrent_first_glue_job_calls_are_answered(engine: EngineProcess) -> None:
    """Eight BatchStopJobRun calls at once, the first the Glue extension handles (it loads
    moto's Glue then): each reports the unknown run as an error, none fails."""
    glue = _client(engine, "glue")
    glue.create_job(Name="job", Role="arn:aws:iam::123456789012:role/glue", Command={"Name": "pythonshell"})

    def stop(i: int) -> dict[str, Any]:
        answer: dict[str, Any] = _client(engine, "glue").batch_stop_job_run(
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
    engine = EngineProcess(tmp_path / "state").start()
    try:
        _client(engine, "iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
        _client(engine, "lambda").create_function(
            FunctionName="survivor",
            Runtime="python3.11",
            Role="arn:aws:iam::123456789012:role/fn",
            Handler="index.handler",
            Code={"ZipFile": _zip("def handler(event, context):\n    return 1\n")},
        )
        engine.restart()
        names = [f["FunctionName"] for f in _client(engine, "lambda").list_functions()["Functions"]]
    finally:
        engine.stop()
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


def test_the_warm_up_waits_while_requests_are_served() -> None:
    """The warm-up imports nothing while a request is being served or one ended less than
    the quiet period ago; it goes on once the engine has been quiet that long, and gives
    up when the engine stops."""
    import time
    from types import SimpleNamespace

    from emulation.core.app import WARM_UP_QUIET_S, EngineApp

    app = SimpleNamespace(_in_flight=1, _quiet_since=time.monotonic() - 60, stopping=False)
    waiting = threading.Thread(target=EngineApp._wait_until_quiet, args=(app,), daemon=True)
    waiting.start()
    waiting.join(3 * WARM_UP_QUIET_S)
    assert waiting.is_alive()  # a request in flight: however long ago the last one ended
    app._quiet_since = time.monotonic()
    app._in_flight = 0  # it ended just now: the quiet period starts
    waiting.join(30)
    assert not waiting.is_alive()
    assert time.monotonic() - app._quiet_since >= WARM_UP_QUIET_S

    app._in_flight = 1
    stopped = threading.Thread(target=EngineApp._wait_until_quiet, args=(app,), daemon=True)
    stopped.start()
    app.stopping = True
    stopped.join(30)
    assert not stopped.is_alive()


_SETTLE = """
import gc, json, threading, time
from types import SimpleNamespace
from emulation.core.app import WARM_UP_QUIET_S, EngineApp
from emulation.server import START_GC_THRESHOLD

usual = gc.get_threshold()
gc.set_threshold(*START_GC_THRESHOLD)
app = SimpleNamespace(_in_flight=1, _quiet_since=time.monotonic(), stopping=False)
app._wait_until_quiet = lambda patience: EngineApp._wait_until_quiet(app, patience)
out = {"usual": usual}
EngineApp.settle_collector(app, usual, patience=60)
time.sleep(3 * WARM_UP_QUIET_S)
out["busy"] = gc.get_threshold()
app._quiet_since = time.monotonic()
app._in_flight = 0
deadline = time.monotonic() + 30
while gc.get_threshold() != usual and time.monotonic() < deadline:
    time.sleep(0.01)
out["quiet"] = gc.get_threshold()
out["frozen"] = gc.get_freeze_count() > 0

gc.set_threshold(*START_GC_THRESHOLD)
app._in_flight = 1
EngineApp.settle_collector(app, usual, patience=0.5).join(30)
out["patience"] = gc.get_threshold()
print(json.dumps(out))
"""


def test_the_collector_gets_its_thresholds_back_after_the_start_up_burst() -> None:
    """The engine starts with rarer garbage collections; once it has been quiet (or at the
    latest after its patience) the usual thresholds are back and what is loaded is frozen."""
    import json
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", _SETTLE], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    from emulation.server import START_GC_THRESHOLD

    assert out["busy"] == list(START_GC_THRESHOLD) != out["usual"]
    assert out["quiet"] == out["usual"] and out["frozen"]
    assert out["patience"] == out["usual"]
