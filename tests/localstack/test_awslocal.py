"""A LocalStack user's health wait loop and ``awslocal`` commands, unchanged, against a real stack.

One stack for the module (``nexuskit up --local --no-control-plane``, its own port and state
dir), started while a shell loop as LocalStack users write it polls ``/_localstack/health``.
``awslocal`` then runs in a shell that holds only what ``nexuskit env`` prints (or only
``LOCALSTACK_HOST``, plus the stack's keys): no ``--endpoint-url``, no profile.
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nexuskit.params import StackSpec, load_stack
from tests.helpers import free_port
from tests.localstack.conftest import clean_env, env_exports, nexuskit, tool

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: what LocalStack's health document says of a service that answers
READY = ("running", "available")
#: the wait loop LocalStack's docs and users' CI scripts use, as written (PORT filled in)
WAIT_LOOP = (
    "until curl -s http://127.0.0.1:{port}/_localstack/health | grep -q '\"running\"'; do sleep 0.2; done"
)


@dataclass
class ToolStack:
    port: int
    state_dir: Path
    exports: dict[str, str]
    up_returned_at: float
    wait_loop: subprocess.Popen[bytes]
    wait_loop_ended_at: float | None

    @property
    def spec(self) -> StackSpec:
        return load_stack()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def awslocal(self, *args: str, **settings: str) -> Any:
        """``awslocal ARGS --output json`` in a shell holding ``settings`` (default: what
        ``nexuskit env`` prints, less the S3-only endpoint LocalStack users never set)."""
        chosen = settings or {k: v for k, v in self.exports.items() if k != "AWS_ENDPOINT_URL_S3"}
        result = subprocess.run(
            [str(tool("awslocal")), *args, "--output", "json"],
            capture_output=True,
            text=True,
            env=clean_env(**chosen),
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"awslocal {' '.join(args)}: {result.stderr[-2000:]}"
        out = result.stdout.strip()
        return json.loads(out) if out.startswith(("{", "[")) else out  # `s3 cp` prints a line


def _health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_localstack/health", timeout=5) as response:
        doc: dict[str, Any] = json.loads(response.read())
    return doc


@pytest.fixture(scope="module")
def tool_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolStack]:
    """The wait loop starts first, then ``nexuskit up`` (AWS side only) on a free port."""
    tool("awslocal")
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: the LocalStack wait loop under test uses it")
    folder = tmp_path_factory.mktemp("localstack-tools")
    port = free_port()
    args = ["--port", str(port), "--state-dir", str(folder / "state")]
    loop = subprocess.Popen(["sh", "-c", WAIT_LOOP.format(port=port)], stdout=subprocess.DEVNULL)
    try:
        up = nexuskit("up", "--local", "--no-control-plane", "--json", *args)
        returned = time.time()
        assert up.returncode == 0, up.stderr[-3000:] + up.stdout[-2000:]
        ended: float | None = None
        try:
            loop.wait(timeout=10)
            ended = time.time()
        except subprocess.TimeoutExpired:
            pass
        printed = nexuskit("env", *args)
        assert printed.returncode == 0, printed.stderr
        yield ToolStack(port, folder / "state", env_exports(printed.stdout), returned, loop, ended)
    finally:
        if loop.poll() is None:
            loop.kill()
            loop.wait(5)
        nexuskit("down", *args)


def test_health_wait_loop_ends_once_the_stack_is_up(tool_stack: ToolStack) -> None:
    """The ``until curl ... | grep -q '"running"'`` loop, started before ``up``, has ended
    (exit 0) by the time ``up`` returned, or within seconds after."""
    assert tool_stack.wait_loop_ended_at is not None, "the wait loop still polls 10 s after `up` returned"
    assert tool_stack.wait_loop.returncode == 0


def test_health_has_localstacks_shape(tool_stack: ToolStack) -> None:
    """``GET /_localstack/health`` (no signature, as curl sends it) is LocalStack's document:
    ``services`` maps each service name to its state; S3, Kinesis and Firehose answer."""
    doc = _health(tool_stack.port)
    services = doc.get("services")
    assert isinstance(services, dict), doc
    for name in ("s3", "kinesis", "firehose"):
        assert services.get(name) in READY, f"services.{name} = {services.get(name)!r} in {doc}"


def test_awslocal_s3_ls_lists_the_platform_buckets(tool_stack: ToolStack) -> None:
    """``awslocal s3 ls`` with only ``nexuskit env``'s exports lists every tier's bucket."""
    result = subprocess.run(
        [str(tool("awslocal")), "s3", "ls"],
        capture_output=True,
        text=True,
        env=clean_env(**{k: v for k, v in tool_stack.exports.items() if k != "AWS_ENDPOINT_URL_S3"}),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    listed = {line.split()[-1] for line in result.stdout.splitlines() if line.strip()}
    assert set(tool_stack.spec.buckets.values()) <= listed, result.stdout


def test_awslocal_reads_localstack_host(tool_stack: ToolStack) -> None:
    """Without ``AWS_ENDPOINT_URL``, ``LOCALSTACK_HOST=localhost:<port>`` (LocalStack's own
    setting) is enough: ``awslocal s3api list-buckets`` finds the bronze bucket."""
    settings = {k: v for k, v in tool_stack.exports.items() if not k.startswith("AWS_ENDPOINT_URL")}
    settings["LOCALSTACK_HOST"] = f"localhost:{tool_stack.port}"
    doc = tool_stack.awslocal("s3api", "list-buckets", **settings)
    assert tool_stack.spec.bucket("bronze") in {b["Name"] for b in doc["Buckets"]}


def test_awslocal_firehose_describes_the_delivery_stream(tool_stack: ToolStack) -> None:
    """``awslocal firehose describe-delivery-stream`` describes the platform's delivery stream:
    active, reading the primary stream, writing GZIP to bronze."""
    spec = tool_stack.spec
    doc = tool_stack.awslocal(
        "firehose", "describe-delivery-stream", "--delivery-stream-name", spec.primary_firehose
    )["DeliveryStreamDescription"]
    assert doc["DeliveryStreamName"] == spec.primary_firehose
    assert doc["DeliveryStreamStatus"] == "ACTIVE"
    source = doc["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"]
    assert source.endswith(f":stream/{spec.primary_stream}")
    s3 = (
        doc["Destinations"][0].get("ExtendedS3DestinationDescription")
        or doc["Destinations"][0]["S3DestinationDescription"]
    )
    assert s3["BucketARN"] == f"arn:aws:s3:::{spec.bucket('bronze')}"


def test_awslocal_kinesis_put_record_is_read_back_and_lands_in_bronze(
    tool_stack: ToolStack, tmp_path: Path
) -> None:
    """A record ``awslocal kinesis put-record`` writes to the primary stream is read back with
    ``awslocal kinesis get-records``, and the delivery stream lands it in bronze (GZIP), where
    ``awslocal s3 cp`` fetches it."""
    spec = tool_stack.spec
    marker = f"awslocal-{time.time_ns()}"
    put = tool_stack.awslocal(
        "kinesis",
        "put-record",
        "--stream-name",
        spec.primary_stream,
        "--partition-key",
        "p",
        "--data",
        marker,
    )
    iterator = tool_stack.awslocal(
        "kinesis",
        "get-shard-iterator",
        "--stream-name",
        spec.primary_stream,
        "--shard-id",
        put["ShardId"],
        "--shard-iterator-type",
        "AT_SEQUENCE_NUMBER",
        "--starting-sequence-number",
        put["SequenceNumber"],
    )["ShardIterator"]
    records = tool_stack.awslocal("kinesis", "get-records", "--shard-iterator", iterator)["Records"]
    assert base64.b64decode(records[0]["Data"]).decode() == marker

    bronze = spec.bucket("bronze")
    found = None
    deadline = time.monotonic() + 60  # the engine's fast buffering flushes within a second or two
    while found is None and time.monotonic() < deadline:
        listing = tool_stack.awslocal("s3api", "list-objects-v2", "--bucket", bronze) or {}
        for obj in listing.get("Contents", []):
            if obj["Key"].startswith("client/"):
                continue
            copy = tmp_path / "object"
            tool_stack.awslocal("s3", "cp", f"s3://{bronze}/{obj['Key']}", str(copy))
            data = copy.read_bytes()
            if data[:2] == b"\x1f\x8b" and marker.encode() in gzip.decompress(data):
                found = obj["Key"]
                break
        else:
            time.sleep(0.5)
    assert found is not None, f"no GZIP object with the record reached {bronze}"
