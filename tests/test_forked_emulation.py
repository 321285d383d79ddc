"""The suite's engines come from a fork server (tests/forked_emulation.py): each must be the
engine ``python -m emulation`` would have started, with its own exit code and identity."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from emulation.server import EXIT_PORT_IN_USE
from tests.forked_emulation import ForkedEngine
from tests.helpers import REGION, EngineProcess, free_port


@pytest.mark.skipif(
    os.environ.get("NEXUSKIT_TEST_FORK_ENGINES") == "0",
    reason="NEXUSKIT_TEST_FORK_ENGINES=0 turns forking off",
)
def test_engines_are_forked_and_answer_as_engines(engine_factory: Callable[..., EngineProcess]) -> None:
    engine = engine_factory("--iam", "off")
    assert isinstance(engine.proc, ForkedEngine)
    s3 = engine.target().client("s3")
    s3.create_bucket(Bucket="forked", CreateBucketConfiguration={"LocationConstraint": REGION})
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["forked"]
    # the pid is the engine's: that process listens on the engine's port
    assert engine.proc.poll() is None
    listening = [
        c.laddr.port for c in psutil.Process(engine.proc.pid).net_connections() if c.status == "LISTEN"
    ]
    assert engine.port in listening


def test_two_forked_engines_draw_different_ids(engine_factory: Callable[..., EngineProcess]) -> None:
    """moto draws resource IDs from its own random generator, imported before the fork: each
    child reseeds it, or every engine of a run would hand out the same IDs."""
    ids = []
    for _ in range(2):
        engine = engine_factory("--iam", "off")
        ids.append(engine.target().client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])
    assert ids[0] != ids[1]


def test_exit_codes_come_back_as_popen_gives_them(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = EngineProcess(tmp_path / "busy", port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match=f"engine exited {EXIT_PORT_IN_USE}"):
            busy.start()
    killed = EngineProcess(tmp_path / "killed").start()
    killed.kill9()
    assert killed.proc.returncode == -signal.SIGKILL
    stopped = EngineProcess(tmp_path / "stopped").start()
    stopped.stop()
    assert stopped.proc is not None and stopped.proc.returncode == 0
    with pytest.raises(subprocess.TimeoutExpired):
        EngineProcess(tmp_path / "running").start().proc.wait(0.1)  # type: ignore[union-attr]


def test_an_engine_with_another_environment_is_a_plain_subprocess(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings read as modules are imported would be the fork server's: a different
    environment gets ``python -m emulation`` of its own."""
    monkeypatch.setenv("MOTO_ALLOW_NONEXISTENT_REGION", "true")
    engine = EngineProcess(tmp_path / "plain").start()
    try:
        assert isinstance(engine.proc, subprocess.Popen)
        assert engine.health() is not None
    finally:
        engine.stop()
    assert engine.proc.returncode == 0


def test_the_fork_server_stops_what_a_dead_worker_left_running(tmp_path: Path) -> None:
    """A worker that dies leaves its engines to the fork server, which stops them when its
    input closes (a worker's exit closes it)."""
    from tests.forked_emulation import _ForkServer

    env = dict(os.environ)
    server = _ForkServer(env)
    try:
        orphan = server.spawn(
            ["--port", str(free_port()), "--state-dir", str(tmp_path / "orphan")], env, tmp_path / "log"
        )
        pid = orphan.pid
        assert orphan.poll() is None
    finally:
        server.close()
    assert server.proc.returncode == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_an_interrupted_call_retires_the_fork_server(tmp_path: Path) -> None:
    """A call cut off between request and answer (a test timeout) would leave the next call
    reading the wrong answer: the server is shut down, with its engines, and not used again."""
    from tests.forked_emulation import _ForkServer

    env = dict(os.environ)
    server = _ForkServer(env)
    engine = server.spawn(
        ["--port", str(free_port()), "--state-dir", str(tmp_path / "e")], env, tmp_path / "log"
    )
    with pytest.raises(TypeError):
        server.call({"op": "poll", "pid": object()})  # fails mid-call, before any answer is read
    assert server.broken and not server.serves(env, os.getcwd())
    assert server.proc.wait(30) == 0
    with pytest.raises(ProcessLookupError):
        os.kill(engine.pid, 0)
    with pytest.raises(RuntimeError, match="shut down"):
        engine.poll()
