"""The scenario record that the scenario runner writes and the promotion gate reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nexuskit.errors import ScenarioError
from nexuskit.promote import ScenarioOutcome, read_scenario_record, record_path, write_scenario_record

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_record_file_holds_the_documented_fields(tmp_path: Path) -> None:
    """The file at .nexus/scenario-results/<commit>.json has commit, counts, scenarios, finished_at."""
    path = write_scenario_record(
        COMMIT,
        [ScenarioOutcome("a", "passed", 1.25), {"name": "b", "status": "failed", "message": "no token"}],
        root=tmp_path,
        finished_at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        dirty=False,
    )
    assert (
        path == tmp_path / ".nexus" / "scenario-results" / f"{COMMIT}.json" == record_path(COMMIT, tmp_path)
    )
    doc = json.loads(path.read_text())
    assert doc == {
        "schema_version": 1,
        "commit": COMMIT,
        "dirty": False,
        "passed": 1,
        "failed": 1,
        "skipped": 0,
        "scenarios": [
            {"name": "a", "status": "passed", "duration_s": 1.25, "message": ""},
            {"name": "b", "status": "failed", "duration_s": 0.0, "message": "no token"},
        ],
        "finished_at": "2026-11-26T10:00:00+00:00",
    }


def test_record_reads_back_and_judges_green(tmp_path: Path) -> None:
    """A record with passes and no failures from a clean tree is green; a dirty one is not."""
    write_scenario_record(COMMIT, [{"name": "a", "status": "passed"}], root=tmp_path, dirty=False)
    record = read_scenario_record(COMMIT, tmp_path)
    assert record is not None and record.green and record.passed == 1
    write_scenario_record(COMMIT, [{"name": "a", "status": "passed"}], root=tmp_path, dirty=True)
    record = read_scenario_record(COMMIT, tmp_path)
    assert record is not None and not record.green


def test_no_record_reads_as_none(tmp_path: Path) -> None:
    """A commit the suite never ran on has no record."""
    assert read_scenario_record(COMMIT, tmp_path) is None


def test_bad_status_and_short_commit_are_refused(tmp_path: Path) -> None:
    """Statuses other than passed/failed/skipped and abbreviated commits raise ScenarioError."""
    with pytest.raises(ScenarioError, match="status 'ok'"):
        write_scenario_record(COMMIT, [{"name": "a", "status": "ok"}], root=tmp_path, dirty=False)
    with pytest.raises(ScenarioError, match="not a full commit id"):
        write_scenario_record("0123abc", [], root=tmp_path, dirty=False)
