"""The engine's Lambda runtime through the Lambda API (boto3), as any deployer uses it."""

from __future__ import annotations

import base64
import io
import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.edge.conftest import EdgeStack, zip_source
from tests.helpers import EngineProcess

PID_SOURCE = """
import os
def handler(event, context):
    return {"pid": os.getpid(), "version": "one", "color": os.environ.get("COLOR")}
"""

SLEEPER = """
import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return "ok"
"""


def _invoke(edge: EdgeStack, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    answer = edge.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}), **kwargs)
    return answer, json.loads(answer["Payload"].read())


def test_warm_sandbox_is_reused(edge: EdgeStack, make_function: Callable[..., str]) -> None:
    """Consecutive invocations are served by the same warm worker process."""
    make_function("rt-warm", {"app.py": PID_SOURCE})
    pids = {_invoke(edge, "rt-warm")[1]["pid"] for _ in range(4)}
    assert len(pids) == 1


def test_new_code_recycles_the_sandbox(edge: EdgeStack, make_function: Callable[..., str]) -> None:
    """After UpdateFunctionCode the next invocation runs the new code in a new process."""
    make_function("rt-recycle", {"app.py": PID_SOURCE})
    before = _invoke(edge, "rt-recycle")[1]
    edge.client("lambda").update_function_code(
        FunctionName="rt-recycle", ZipFile=zip_source({"app.py": PID_SOURCE.replace('"one"', '"two"')})
    )
    after = _invoke(edge, "rt-recycle")[1]
    assert (before["version"], after["version"]) == ("one", "two")
    assert before["pid"] != after["pid"]


def test_new_configuration_recycles_the_sandbox(edge: EdgeStack, make_function: Callable[..., str]) -> None:
    """After UpdateFunctionConfiguration the new environment is seen by a new process."""
    make_function("rt-config", {"app.py": PID_SOURCE}, Environment={"Variables": {"COLOR": "red"}})
    before = _invoke(edge, "rt-config")[1]
    edge.client("lambda").update_function_configuration(
        FunctionName="rt-config", Environment={"Variables": {"COLOR": "blue"}}
    )
    after = _invoke(edge, "rt-config")[1]
    assert (before["color"], after["color"]) == ("red", "blue")
    assert before["pid"] != after["pid"]


def test_timeout_is_enforced(edge: EdgeStack, make_function: Callable[..., str]) -> None:
    """A handler running past Timeout is killed; AWS's timeout error comes back as Unhandled."""
    make_function(
        "rt-timeout",
        {"app.py": SLEEPER},
        Timeout=1,
    )
    started = time.monotonic()
    answer, payload = _invoke(edge, "rt-timeout", {"sleep": 30})
    assert time.monotonic() - started < 5
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert _invoke(edge, "rt-timeout", {"sleep": 0})[1] == "ok"  # a fresh sandbox serves the next call


def test_handler_exception_returns_function_error(edge: EdgeStack, make_function: Callable[..., str]) -> None:
    """An exception: status 200, FunctionError Unhandled, errorMessage/errorType/stackTrace."""
    make_function("rt-raise", {"app.py": "def handler(event, context):\n    raise KeyError('missing')\n"})
    answer, payload = _invoke(edge, "rt-raise")
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "KeyError"
    assert payload["errorMessage"] == "'missing'"
    assert any("raise KeyError" in frame for frame in payload["stackTrace"])


def test_import_error_is_reported_as_aws_does(edge: EdgeStack, make_function: Callable[..., str]) -> None:
    """A handler module that cannot be imported gives Runtime.ImportModuleError."""
    make_function("rt-import", {"app.py": "import no_such_module\n"})
    answer, payload = _invoke(edge, "rt-import")
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'no_such_module'" in payload["errorMessage"]


def test_logs_have_start_end_report_and_output(edge: EdgeStack, make_function: Callable[..., str]) -> None:
    """Output and START/END/REPORT go to /aws/lambda/<name>, in a [$LATEST] log stream."""
    make_function(
        "rt-logs", {"app.py": "def handler(event, context):\n    print('hello from', event['who'])\n"}
    )
    answer, _ = _invoke(edge, "rt-logs", {"who": "the test"}, LogType="Tail")
    tail = base64.b64decode(answer["LogResult"]).decode()
    request_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert f"START RequestId: {request_id} Version: $LATEST" in tail
    assert "hello from the test" in tail
    streams = edge.client("logs").describe_log_streams(logGroupName="/aws/lambda/rt-logs")["logStreams"]
    assert len(streams) == 1 and "/[$LATEST]" in streams[0]["logStreamName"]
    messages = edge.log_messages("/aws/lambda/rt-logs")
    assert f"END RequestId: {request_id}" in messages
    report = next(m for m in messages if m.startswith(f"REPORT RequestId: {request_id}"))
    for figure in (
        "Duration:",
        "Billed Duration:",
        "Memory Size: 128 MB",
        "Max Memory Used:",
        "Init Duration:",
    ):
        assert figure in report


def test_context_and_environment_match_aws(edge: EdgeStack, make_function: Callable[..., str]) -> None:
    """The context object and the AWS_* environment, with the execution role's credentials."""
    source = """
import os, boto3
def handler(event, context):
    return {
        "name": context.function_name, "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb, "request_id": context.aws_request_id,
        "remaining": context.get_remaining_time_in_millis(), "group": context.log_group_name,
        "region": os.environ["AWS_REGION"], "fn_env": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "caller": boto3.client("sts").get_caller_identity()["Arn"],
    }
"""
    arn = make_function("rt-context", {"app.py": source}, MemorySize=512, Timeout=7)
    answer, doc = _invoke(edge, "rt-context")
    assert doc["name"] == doc["fn_env"] == "rt-context"
    assert doc["arn"] == arn
    assert doc["memory"] == 512
    assert doc["request_id"] == answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert 0 < doc["remaining"] <= 7000
    assert doc["group"] == "/aws/lambda/rt-context"
    assert doc["region"] == edge.spec.region
    role = edge.spec.roles["lambda_exec"]
    assert doc["caller"].endswith(f":assumed-role/{role}/rt-context")


def test_non_python_runtime_is_refused(edge: EdgeStack, make_function: Callable[..., str]) -> None:
    """CreateFunction and UpdateFunctionConfiguration refuse non-Python runtimes clearly."""
    with pytest.raises(ClientError) as created:
        make_function("rt-node", {"index.js": "exports.handler = async () => 1;"}, Runtime="nodejs20.x")
    error = created.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert "nodejs20.x" in error["Message"] and "Python" in error["Message"]
    make_function("rt-switch", {"app.py": PID_SOURCE})
    with pytest.raises(ClientError) as updated:
        edge.client("lambda").update_function_configuration(FunctionName="rt-switch", Runtime="java21")
    assert updated.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_unreadable_zip_is_refused(edge: EdgeStack) -> None:
    """A package that is not a zip is refused at CreateFunction, as AWS does."""
    with pytest.raises(ClientError) as refused:
        edge.client("lambda").create_function(
            FunctionName="rt-badzip",
            Runtime="python3.12",
            Role=edge.exec_role_arn,
            Handler="app.handler",
            Code={"ZipFile": b"not a zip"},
        )
    assert "Could not unzip uploaded file" in refused.value.response["Error"]["Message"]


def test_unknown_function_is_not_found(edge: EdgeStack) -> None:
    """Invoke of a function that does not exist: ResourceNotFoundException."""
    with pytest.raises(ClientError) as missing:
        edge.client("lambda").invoke(FunctionName="rt-nobody")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_functions_survive_an_engine_restart(tmp_path: Path) -> None:
    """A deployed function is persisted with the engine's state and runs after a restart."""
    engine = EngineProcess(tmp_path / "engine").start()
    try:
        target = engine.target()
        role = target.client("iam").create_role(
            RoleName="restart-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", "def handler(event, context):\n    return event['n'] * 2\n")
        target.client("lambda").create_function(
            FunctionName="survivor",
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": buffer.getvalue()},
        )
        engine.restart()
        answer = engine.target().client("lambda").invoke(FunctionName="survivor", Payload=b'{"n": 21}')
        assert json.loads(answer["Payload"].read()) == 42
    finally:
        engine.stop()
