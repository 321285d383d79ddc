"""Snapshot files: ``<scenario folder>/snapshots/<scenario name>.json``, one per scenario.

A file maps each snapshot step's id to its recorded, normalised value::

    {
      "schema_version": 1,
      "scenario": "client-auth-to-bronze",
      "snapshots": {"caller": {...}, "token_shape": {...}}
    }

Written with sorted keys, two-space indent and a final newline, only when the content
changed, so recording the same behaviour twice leaves the file byte-for-byte the same.
In replay a missing file or entry is a failure that says to record it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nexuskit.errors import ScenarioError

FOLDER = "snapshots"
FORMAT_VERSION = 1


def snapshot_path(scenario_file: Path, name: str) -> Path:
    return scenario_file.parent / FOLDER / f"{name}.json"


def dump(value: Any) -> str:
    """The canonical text of a snapshot value (what is compared and stored)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


class SnapshotFile:
    """The recorded snapshots of one scenario."""

    def __init__(self, path: Path, scenario: str) -> None:
        self.path = path
        self.scenario = scenario
        self._entries: dict[str, Any] | None = None
        self.recorded: dict[str, Any] = {}

    @property
    def entries(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = self._read()
        return self._entries

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as exc:
            raise ScenarioError(
                f"{self.path}: not valid JSON (line {exc.lineno}: {exc.msg})",
                "re-record it with `nexuskit scenario run --record`",
            ) from None
        snapshots = doc.get("snapshots") if isinstance(doc, dict) else None
        if not isinstance(snapshots, dict):
            raise ScenarioError(f"{self.path}: has no 'snapshots' mapping", "re-record it with --record")
        return snapshots

    def exists(self) -> bool:
        return self.path.exists()

    def get(self, key: str) -> tuple[bool, Any]:
        """(found, value) of one recorded snapshot."""
        entries = self.entries
        return (key in entries, entries.get(key))

    def record(self, key: str, value: Any) -> None:
        """Keep a value to write with :meth:`save` (record mode)."""
        self.recorded[key] = json.loads(dump(value))

    def save(self) -> bool:
        """Write the recorded values (dropping entries of steps no longer recorded); True if changed."""
        doc = {"schema_version": FORMAT_VERSION, "scenario": self.scenario, "snapshots": self.recorded}
        text = dump(doc) + "\n"
        try:
            if self.path.read_text(encoding="utf-8") == text:
                return False
        except FileNotFoundError:
            pass
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)
        self._entries = dict(self.recorded)
        return True
