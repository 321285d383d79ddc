"""Scenario-suite records: the proof that the suite was green for one exact commit.

The scenario runner writes one record per run of the whole suite with
:func:`write_scenario_record`; the promotion gate reads it with
:func:`read_scenario_record`. A record lives at
``<repo>/.nexus/scenario-results/<commit>.json`` (git-ignored) and holds::

    {
      "schema_version": 1,
      "commit": "<40 hex digits, the HEAD the suite ran on>",
      "dirty": false,                 # the working tree had uncommitted changes
      "passed": 10,                   # counted from "scenarios", never given
      "failed": 0,
      "skipped": 0,
      "scenarios": [{"name": "client-auth-to-bronze", "status": "passed",
                     "duration_s": 4.2, "message": ""}, ...],
      "finished_at": "2026-11-26T10:31:46+00:00"
    }

A record is green when it names the commit, ran on a clean tree, has at least one passed
scenario and none failed. Writing again for the same commit replaces the record.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from nexuskit.errors import ScenarioError

SCHEMA_VERSION = 1
RESULTS_DIR = Path(".nexus") / "scenario-results"
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
Status = Literal["passed", "failed", "skipped"]
_STATUSES = ("passed", "failed", "skipped")


@dataclass(frozen=True)
class ScenarioOutcome:
    """The result of one scenario in a suite run."""

    name: str
    status: Status
    duration_s: float = 0.0
    message: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ScenarioOutcome:
        status = str(data.get("status", ""))
        if status not in _STATUSES:
            raise ScenarioError(
                f"scenario {data.get('name')!r} has status {status!r}", f"use one of {', '.join(_STATUSES)}"
            )
        return cls(
            name=str(data["name"]),
            status=status,  # type: ignore[arg-type]
            duration_s=float(data.get("duration_s", 0.0)),
            message=str(data.get("message", "")),
        )


@dataclass(frozen=True)
class ScenarioRecord:
    """One run of the scenario suite on one commit."""

    commit: str
    scenarios: tuple[ScenarioOutcome, ...]
    finished_at: str
    dirty: bool = False
    schema_version: int = SCHEMA_VERSION
    path: Path | None = field(default=None, compare=False)

    def count(self, status: Status) -> int:
        return sum(1 for s in self.scenarios if s.status == status)

    @property
    def passed(self) -> int:
        return self.count("passed")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def green(self) -> bool:
        return not self.dirty and self.passed > 0 and self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "commit": self.commit,
            "dirty": self.dirty,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "scenarios": [asdict(s) for s in self.scenarios],
            "finished_at": self.finished_at,
        }


def record_path(commit: str, root: Path) -> Path:
    """Where the record of ``commit`` lives under the repository ``root``."""
    return root / RESULTS_DIR / f"{commit}.json"


def _check_commit(commit: str) -> str:
    commit = commit.strip().lower()
    if not _COMMIT_RE.match(commit):
        raise ScenarioError(
            f"{commit!r} is not a full commit id", "pass the 40-hex id from `git rev-parse HEAD`"
        )
    return commit


def _tree_is_dirty(root: Path) -> bool:
    result = subprocess.run(
        ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=False
    )
    return result.returncode != 0 or bool(result.stdout.strip())


def write_scenario_record(
    commit: str,
    scenarios: Iterable[ScenarioOutcome | Mapping[str, Any]],
    root: Path,
    *,
    finished_at: datetime | None = None,
    dirty: bool | None = None,
) -> Path:
    """Write the record of one suite run on ``commit`` (atomically) and return its path.

    ``scenarios`` are :class:`ScenarioOutcome` objects or mappings with ``name``,
    ``status`` (passed/failed/skipped), optional ``duration_s`` and ``message``. ``dirty``
    says whether the working tree had uncommitted changes during the run; when None it is
    asked from git (a record of a dirty tree never satisfies the promotion gate).
    """
    commit = _check_commit(commit)
    outcomes = tuple(
        s if isinstance(s, ScenarioOutcome) else ScenarioOutcome.from_mapping(s) for s in scenarios
    )
    record = ScenarioRecord(
        commit=commit,
        scenarios=outcomes,
        finished_at=(finished_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        dirty=_tree_is_dirty(root) if dirty is None else dirty,
    )
    path = record_path(commit, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record.as_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_scenario_record(commit: str, root: Path) -> ScenarioRecord | None:
    """The record of ``commit``, or None when the suite never ran on it.

    A file that is not a valid record raises :class:`ScenarioError` naming the file.
    """
    commit = _check_commit(commit)
    path = record_path(commit, root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    try:
        return ScenarioRecord(
            commit=str(data["commit"]),
            scenarios=tuple(ScenarioOutcome.from_mapping(s) for s in data["scenarios"]),
            finished_at=str(data["finished_at"]),
            dirty=bool(data.get("dirty", False)),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ScenarioError(f"{path}: not a scenario record ({exc})") from None
