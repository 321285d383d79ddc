"""Recording is stable (normalisation works) and replay catches drift with a readable diff."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nexuskit.scenarios.loader import load_scenario
from nexuskit.scenarios.results import render_failure
from nexuskit.scenarios.runner import run_scenario
from nexuskit.scenarios.stacks import FreshStacks
from tests.scenarios.conftest import SHIPPED

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RECORDED = ("bearer-denied-internal", "expired-token-refused", "volatile-values")

# Every kind of volatile value at once: a token payload (JWT, jti, session name, STS keys,
# times), an assumed-role identity (unique id), Kinesis sequence numbers, S3 ETag/version.
VOLATILE = """\
schema_version: 1
name: volatile-values
stack: {iam: enforce}
steps:
  - id: tok
    token: {user: volatile}
  - id: who
    aws: {service: sts, operation: get_caller_identity, as: tok}
  - id: put
    aws:
      service: kinesis
      operation: put_records
      as: tok
      params:
        StreamName: "{{ stack.streams.client }}"
        Records:
          $repeat:
            count: 3
            item: {PartitionKey: "p{{ i }}", Data: {$jsonl: {id: "{{ scenario.run_id }}-{{ i }}"}}}
  - id: obj
    aws:
      service: s3
      operation: put_object
      params: {Bucket: "{{ stack.buckets.gold }}", Key: "scratch/{{ scenario.run_id }}.json", Body: "{}"}
  - id: everything
    snapshot:
      of:
        token: "{{ steps.tok }}"
        caller: "{{ steps.who }}"
        put: "{{ steps.put }}"
        object: "{{ steps.obj }}"
"""


def _copy(name: str, folder: Path) -> Path:
    target = folder / f"{name}.yaml"
    if name == "volatile-values":
        target.write_text(VOLATILE)
    else:
        shutil.copy(SHIPPED / f"{name}.yaml", target)
    return target


@pytest.mark.parametrize("name", RECORDED)
def test_recording_twice_gives_identical_snapshot_files(
    name: str, tmp_path: Path, scenario_stacks: FreshStacks
) -> None:
    """Two recordings in a row (new token, new ids, new sequence numbers) write the same bytes."""
    path = _copy(name, tmp_path)
    first = run_scenario(load_scenario(path), scenario_stacks, record=True)
    if first.status == "skipped":
        pytest.skip(first.message)
    assert first.status == "passed", render_failure(first)
    snapshot = tmp_path / "snapshots" / f"{name}.json"
    assert first.snapshots_written == [str(snapshot)]
    recorded = snapshot.read_bytes()

    second = run_scenario(load_scenario(path), scenario_stacks, record=True)
    assert second.status == "passed", render_failure(second)
    assert second.snapshots_written == []  # nothing changed, nothing written
    assert snapshot.read_bytes() == recorded
    if name == "volatile-values":  # the volatile values were replaced, not merely equal by luck
        text = recorded.decode()
        for placeholder in (
            "<tok.jwt>",
            "<tok.session>",
            "<tok.access-key>",
            "<sequence-number:3>",
            "<etag:1>",
        ):
            assert placeholder in text, placeholder


def test_recording_matches_the_shipped_snapshots(tmp_path: Path, scenario_stacks: FreshStacks) -> None:
    """A recording on a fresh stack equals the snapshot file committed next to the scenario."""
    path = _copy("bearer-denied-internal", tmp_path)
    result = run_scenario(load_scenario(path), scenario_stacks, record=True)
    assert result.status == "passed", render_failure(result)
    shipped = SHIPPED / "snapshots" / "bearer-denied-internal.json"
    assert (tmp_path / "snapshots" / "bearer-denied-internal.json").read_text() == shipped.read_text()


def test_replay_fails_on_drift_with_a_readable_diff(tmp_path: Path, scenario_stacks: FreshStacks) -> None:
    """An edited recording makes replay fail at the snapshot step with a unified diff."""
    path = _copy("bearer-denied-internal", tmp_path)
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    doc = json.loads((SHIPPED / "snapshots" / "bearer-denied-internal.json").read_text())
    doc["snapshots"]["denial"]["code"] = "SomethingElse"
    (snapshots / "bearer-denied-internal.json").write_text(json.dumps(doc, indent=2))

    result = run_scenario(load_scenario(path), scenario_stacks)
    assert result.status == "failed"
    text = render_failure(result)
    assert "snapshot 'denial' drifted from the recording" in text
    assert '-  "code": "SomethingElse",' in text
    assert '+  "code": "AccessDeniedException",' in text
    assert "--record" in text


def test_replay_without_a_recording_says_how_to_record(tmp_path: Path, scenario_stacks: FreshStacks) -> None:
    """No snapshot file: the snapshot step fails and names the command that records it."""
    path = _copy("bearer-denied-internal", tmp_path)
    result = run_scenario(load_scenario(path), scenario_stacks)
    assert result.status == "failed"
    assert result.failure is not None
    assert "no recorded snapshot 'denial'" in result.failure.message
    assert result.failure.hint == f"record it: nexuskit scenario run {path} --record"
