"""`nexuskit produce` on a real stack (`nexuskit up --local`): records land in bronze exactly once.

The client channel gets its credentials from the token service over the HTTP API, the
internal channel uses the platform identity; `nexuskit produce verify` reads bronze back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from emulation.kinesisvideo import ebml
from nexuskit.producers import ProduceOptions, produce, verify_for_stack
from nexuskit.producers.sender import Backoff
from tests.e2e.conftest import Stack, nexuskit, start_stack
from tests.emulation.kinesisvideo.kvs_support import decoded_frames

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The AWS side of a stack (producers need the streams, Firehose and the auth API only)."""
    running = start_stack(tmp_path_factory.mktemp("produce"), "--no-control-plane")
    yield running
    nexuskit("down", *running.args)


def _json(result: Any) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr + result.stdout
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _verify(stack: Stack, run_id: str) -> dict[str, Any]:
    return _json(stack.cli("produce", "verify", run_id, "--wait", "30s", "--json"))


def test_client_run_lands_in_bronze_client_prefix_exactly_once(stack: Stack) -> None:
    """1,500 records through the token service's credentials: all in bronze client/, none twice."""
    args = ["--channel", "client", "--template", "telemetry", "--count", "1500", "--rate", "750/s"]
    report = _json(stack.cli("produce", *args, "--user", "e2e-producer", "--json"))
    assert report["stream"] == stack.spec.client_stream
    assert report["credentials"]["identity"] == "bearer"
    assert (report["sent"], report["failed"]) == (1500, 0)
    assert set(report) >= {"run_id", "sent", "throttled", "retried", "failed", "achieved_rate"}
    proof = _verify(stack, report["run_id"])
    assert (proof["sent"], proof["delivered"], proof["missing"], proof["duplicated"]) == (1500, 1500, 0, 0)
    assert proof["locations"] == {"client/": 1500}


def test_internal_run_lands_at_the_bronze_root(stack: Stack) -> None:
    """The internal channel writes ${prefix}-intake with the platform identity: bronze root."""
    report = _json(
        stack.cli(
            "produce",
            "--channel",
            "internal",
            "--template",
            "event",
            "--count",
            "1200",
            "--rate",
            "1200/s",
            "--json",
        )
    )
    assert report["stream"] == stack.spec.primary_stream
    assert report["credentials"]["identity"] == "platform"
    proof = _verify(stack, report["run_id"])
    assert (proof["delivered"], proof["missing"], proof["duplicated"]) == (1200, 0, 0)
    assert proof["locations"] == {"(root)": 1200}


def test_faster_than_the_shard_limit_is_throttled_and_still_delivered(stack: Stack) -> None:
    """2,500/s on the one-shard client stream (1,000/s): throttled, retried, every record lands."""
    report = produce(
        stack.settings,
        ProduceOptions(template="sensor", rate=2500, count=4000, seed=5, backoff=Backoff(0.05, 0.5)),
        channel="client",
    )
    assert report.throttled > 0 and report.retried >= report.throttled
    assert (report.sent, report.failed) == (4000, 0)
    assert report.achieved_rate < 2500 * 0.6  # held back by the shard (1,000/s), not the requested rate
    proof = verify_for_stack(stack.settings, report.run_id, wait=30)
    assert (proof.delivered, proof.missing, proof.duplicated) == (4000, 0, 0)


def test_anomalies_are_delivered_like_any_record(stack: Stack) -> None:
    """Malformed and out-of-range records still carry id and run_id: the proof finds them all."""
    report = produce(
        stack.settings, ProduceOptions(rate=None, count=600, seed=6, anomaly_rate=0.25), channel="internal"
    )
    assert 90 < report.anomalies < 210
    proof = verify_for_stack(stack.settings, report.run_id, wait=30)
    assert (proof.delivered, proof.missing, proof.duplicated) == (600, 0, 0)


def test_verify_reports_missing_records(stack: Stack) -> None:
    """A run record that claims more than was sent shows the difference as missing."""
    report = produce(stack.settings, ProduceOptions(rate=None, count=50, seed=7), channel="internal")
    run_file = stack.state_dir / "producers" / "runs" / f"{report.run_id}.json"
    record = json.loads(run_file.read_text())
    record["made"] = 60  # ten records that never existed
    run_file.write_text(json.dumps(record))
    proof = verify_for_stack(stack.settings, report.run_id, wait=2)
    assert (proof.sent, proof.delivered, proof.missing, proof.exactly_once) == (60, 50, 10, False)


def test_progress_jsonl_and_sigterm_still_give_the_report(stack: Stack) -> None:
    """`--progress jsonl` for a program: lines while it runs; SIGTERM stops it with a report, delivered."""
    args = ["produce", "--progress", "jsonl", "--channel", "internal", "--rate", "300/s", "--count", "100000"]
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    child = subprocess.Popen(
        [sys.executable, "-m", "nexuskit.cli", *args, *stack.args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    events = []
    try:
        for line in child.stdout:
            events.append(json.loads(line))
            if events[-1]["event"] == "progress" and events[-1]["sent"] > 0:
                child.send_signal(signal.SIGTERM)
                break
        events.extend(json.loads(line) for line in child.stdout)
    finally:
        child.stdout.close()
        code = child.wait(timeout=60)
    assert events[0]["event"] == "started"
    report = events[-1]
    assert report["event"] == "report" and report["status"] == "interrupted", child.stderr.read()  # type: ignore[union-attr]
    assert code == 0
    assert 0 < report["made"] < 100000 and (report["sent"], report["failed"]) == (report["made"], 0)
    proof = _verify(stack, report["run_id"])
    assert (proof["sent"], proof["delivered"], proof["missing"], proof["duplicated"]) == (
        report["made"],
        report["made"],
        0,
        0,
    )


def test_video_fragments_come_back_as_mkv(stack: Stack) -> None:
    """`produce --video` on the client video stream: fragments persisted, read back, decoded."""
    args = ["--video", "--stream", "client-telemetry", "--fps", "5", "--duration", "3s", "--json"]
    report = _json(stack.cli("produce", *args, timeout=120))
    assert report["stream"] == stack.spec.client_telemetry_video_stream
    assert report["credentials"]["identity"] == "bearer"
    assert (report["fragments_sent"], report["fragments_persisted"], report["frames"]) == (3, 3, 15)
    archive = stack.client("kinesis-video-archived-media")
    name = stack.spec.client_telemetry_video_stream
    listed = archive.list_fragments(StreamName=name)["Fragments"]
    numbers = sorted(f["FragmentNumber"] for f in listed if f["FragmentNumber"] in report["fragment_numbers"])
    assert numbers == sorted(report["fragment_numbers"])
    payload = archive.get_media_for_fragment_list(StreamName=name, Fragments=numbers)["Payload"].read()
    chunks = ebml.split_chunks(payload)
    assert [decoded_frames(chunk) for chunk in chunks] == [5, 5, 5]
