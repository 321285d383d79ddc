"""Engine lifecycle: persistence across down/up and crashes, purge, and clear failures."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import psutil
import pytest

from nexuskit.engine import EmbeddedEngine
from tests.e2e.conftest import Stack, nexuskit, start_stack
from tests.helpers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BRONZE = "nexus-dev-bronze-us-west-2"


@pytest.fixture(autouse=True)
def aws_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the engine and its AWS state: their stacks run no control plane
    (`NEXUSKIT_CONTROL_PLANE=false`, as `up --no-control-plane`); the control plane's own
    lifecycle is tested in tests/runtime/test_lifecycle.py."""
    monkeypatch.setenv("NEXUSKIT_CONTROL_PLANE", "false")


def _write_sample_state(stack: Stack) -> dict[str, object]:
    s3 = stack.client("s3")
    first = s3.put_object(Bucket=BRONZE, Key="sample/object.json", Body=b'{"v": 1}')["VersionId"]
    second = s3.put_object(Bucket=BRONZE, Key="sample/object.json", Body=b'{"v": 2}')["VersionId"]
    big = os.urandom(300_000)
    s3.put_object(Bucket=BRONZE, Key="sample/big.bin", Body=big)
    kinesis = stack.client("kinesis")
    entries = [{"Data": f"record-{i}".encode(), "PartitionKey": f"k{i}"} for i in range(50)]
    kinesis.put_records(StreamName="nexus-dev-client-intake", Records=entries)
    return {"versions": [first, second], "big": big}


def _stream_records(stack: Stack, stream: str) -> list[bytes]:
    kinesis = stack.client("kinesis")
    out: list[bytes] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        out.extend(r["Data"] for r in kinesis.get_records(ShardIterator=iterator, Limit=10000)["Records"])
    return out


def test_state_survives_down_and_up(own_stack: Stack) -> None:
    """Objects, every object version and stream records survive `down` then `up`."""
    written = _write_sample_state(own_stack)
    assert own_stack.cli("down").returncode == 0
    again = own_stack.cli("up", "--local", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["created"] == 0
    s3 = own_stack.client("s3")
    versions = s3.list_object_versions(Bucket=BRONZE, Prefix="sample/object.json")["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted(written["versions"])  # type: ignore[arg-type]
    bodies = {
        s3.get_object(Bucket=BRONZE, Key="sample/object.json", VersionId=v)["Body"].read()
        for v in written["versions"]  # type: ignore[attr-defined]
    }
    assert bodies == {b'{"v": 1}', b'{"v": 2}'}
    assert s3.get_object(Bucket=BRONZE, Key="sample/big.bin")["Body"].read() == written["big"]
    records = _stream_records(own_stack, "nexus-dev-client-intake")
    assert sorted(records) == sorted(f"record-{i}".encode() for i in range(50))


def test_crash_loses_at_most_the_last_seconds(own_stack: Stack) -> None:
    """After `kill -9` of the engine, what was written a few seconds earlier is still there."""
    s3 = own_stack.client("s3")
    s3.put_object(Bucket=BRONZE, Key="before-crash.txt", Body=b"kept")
    time.sleep(3)  # the persistence guarantee: at most the last few seconds are lost
    pid = EmbeddedEngine(own_stack.settings).pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    psutil.Process(pid).wait(10) if psutil.pid_exists(pid) else None
    again = own_stack.cli("up", "--local", "--json")
    assert again.returncode == 0, again.stderr
    assert s3.get_object(Bucket=BRONZE, Key="before-crash.txt")["Body"].read() == b"kept"


def test_purge_wipes_everything(own_stack: Stack) -> None:
    """`down --purge` wipes the state: the next `up` starts from an empty engine."""
    own_stack.client("s3").put_object(Bucket=BRONZE, Key="gone.txt", Body=b"x")
    result = own_stack.cli("down", "--purge")
    assert result.returncode == 0, result.stderr
    assert "wiped" in result.stdout
    again = own_stack.cli("up", "--local", "--json")
    report = json.loads(again.stdout)
    created = {(r["type"], r["name"]) for r in report["resources"] if r["state"] == "created"}
    # Everything the stack holds is made again (not found); the signing key is new too.
    for kind in ("s3.bucket", "kinesis.stream", "iam.role", "secretsmanager.secret", "lambda.function"):
        named = {r["name"] for r in report["resources"] if r["type"] == kind}
        assert named and all((kind, name) in created for name in named), kind
    listed = own_stack.client("s3").list_objects_v2(Bucket=BRONZE)
    assert listed.get("KeyCount", 0) == 0


def test_two_stacks_run_side_by_side(own_stack: Stack, tmp_path: Path) -> None:
    """A second stack with its own port and state dir runs next to the first, isolated."""
    other = start_stack(tmp_path / "other")
    try:
        own_stack.client("s3").put_object(Bucket=BRONZE, Key="only-in-first", Body=b"1")
        listed = other.client("s3").list_objects_v2(Bucket=BRONZE)
        assert listed.get("KeyCount", 0) == 0
    finally:
        nexuskit("down", *other.args)


def test_two_ups_at_once_share_one_engine_that_down_stops(tmp_path: Path) -> None:
    """Two shells run `up` on one state dir at the same moment: both succeed on the same
    engine (the second waits its turn and finds it), and one `down` leaves no engine behind
    (the loser used to remove the winner's pid file, orphaning it)."""
    import concurrent.futures

    args = ["--port", str(free_port()), "--state-dir", str(tmp_path / "shared")]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: nexuskit("up", "--local", "--json", *args), range(2)))
    try:
        assert [r.returncode for r in runs] == [0, 0], [r.stderr[-800:] for r in runs]
        engine = EmbeddedEngine(Stack(int(args[1]), tmp_path / "shared", {}).settings)
        pid = engine.pid()
        assert pid is not None
        reports = [json.loads(r.stdout) for r in runs]
        assert sorted(r["already_up"] for r in reports) == [False, True]
    finally:
        down = nexuskit("down", *args)
    assert down.returncode == 0, down.stderr
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    engines = [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(tmp_path / "shared") in " ".join(p.info["cmdline"] or [])
    ]
    assert engines == []


def test_bad_parameter_file_names_the_key(tmp_path: Path) -> None:
    """A parameter file with a wrong value fails with the file, the key and what is allowed."""
    params = json.loads(Path("terraform/envs/local/terraform.tfvars.json").read_text())
    params["primary_stream_shards"] = 0
    bad = tmp_path / "terraform.tfvars.json"
    bad.write_text(json.dumps(params))
    result = nexuskit(
        "up",
        "--local",
        "--port",
        str(free_port()),
        "--state-dir",
        str(tmp_path / "s"),
        env={"NEXUSKIT_PARAMS_FILE": str(bad)},
    )
    assert result.returncode == 2
    assert "primary_stream_shards" in result.stderr
    assert str(bad) in result.stderr.replace("\n", "")
    assert "greater than or equal to 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "s" / "engine.pid").exists()


def test_busy_port_gives_one_clear_line(tmp_path: Path) -> None:
    """`up` on a port another process holds says so, naming the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = nexuskit("up", "--local", "--port", str(port), "--state-dir", str(tmp_path / "s"))
    assert result.returncode != 0
    assert f"port {port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_down_when_nothing_runs_says_so(tmp_path: Path) -> None:
    """`down` with no engine running says so and exits 0."""
    result = nexuskit("down", "--port", str(free_port()), "--state-dir", str(tmp_path / "none"))
    assert result.returncode == 0
    assert "not running" in result.stdout


def test_down_leaves_no_engine_process(own_stack: Stack) -> None:
    """After `down`, the engine's process is gone (checked by pid)."""
    pid = EmbeddedEngine(own_stack.settings).pid()
    assert pid is not None and psutil.pid_exists(pid)
    assert own_stack.cli("down").returncode == 0
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_down_reports_the_final_snapshot_it_waited_for(own_stack: Stack) -> None:
    """`down --json` says the engine wrote its final snapshot (its own stop record) and that
    the state was kept; what was written just before `down` is there after `up`."""
    own_stack.client("s3").put_object(Bucket=BRONZE, Key="last/write.txt", Body=b"last")
    result = own_stack.cli("down", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["stopped"] and not report["forced"]
    assert report["final_snapshot"] == "written" and report["state_kept"]
    assert own_stack.cli("up", "--local", "--json").returncode == 0
    body = own_stack.client("s3").get_object(Bucket=BRONZE, Key="last/write.txt")["Body"].read()
    assert body == b"last"


def test_down_that_must_kill_the_engine_does_not_claim_the_state_was_kept(own_stack: Stack) -> None:
    """An engine that cannot finish its final snapshot in time (here: frozen with SIGSTOP) is
    killed after `--timeout`; `down` then says so on stderr, with what the next start restores
    and how to give it longer, and exits 1 - never "state kept"."""
    pid = EmbeddedEngine(own_stack.settings).pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        result = own_stack.cli("down", "--timeout", "3")
    finally:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGCONT)
    assert result.returncode == 1
    assert "state kept" not in result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert "killed after" in message and "in the middle of its final snapshot" in message
    assert "last complete snapshot" in message and "nexuskit down --timeout SECONDS" in message
    assert "waiting for the engine's final snapshot" in result.stdout
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_aws_only_stack_then_the_control_plane(own_stack: Stack) -> None:
    """`up --no-control-plane` provisions the AWS resources and runs no service; a later
    `up --control-plane` on the running engine adds the services and creates nothing."""
    status = json.loads(own_stack.cli("status", "--json").stdout)
    assert {r["state"] for r in status["resources"]} <= {"ready", "emulated: control plane only"}
    assert status["endpoints"]["agent_core"] is None and status["endpoints"]["ui"] is None
    ps = own_stack.cli("ps")
    assert "agent-core" not in ps.stdout
    full = own_stack.cli("up", "--local", "--json", "--control-plane")
    assert full.returncode == 0, full.stderr
    report = json.loads(full.stdout)
    assert report["already_up"] and report["created"] == 0
    assert report["endpoints"]["agent_core"], report["endpoints"]
    assert "agent-core" in own_stack.cli("ps").stdout
