"""Run records: what a producer run sent, kept in the state dir for ``produce verify``.

``<state_dir>/producers/runs/<run_id>.json`` is written when a run starts (``running``)
and again when it ends (``finished``, ``interrupted`` or ``failed``) with its figures.
The ids a run sent follow from its run id and record count
(:func:`nexuskit.producers.records.record_id`); only the records given up are listed,
as ranges of sequence numbers.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from nexuskit.producers.errors import ProducerError, RunNotFoundError

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def new_run_id() -> str:
    return f"run-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(3)}"


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise ProducerError(
            f"run id {run_id!r} is not usable", "use 1-64 letters, digits, '.', '_' or '-' (starting alnum)"
        )
    return run_id


def to_ranges(seqs: Iterable[int]) -> list[list[int]]:
    """``[1, 2, 3, 7]`` -> ``[[1, 3], [7, 7]]`` (inclusive ranges)."""
    ranges: list[list[int]] = []
    for seq in sorted(set(seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1][1] = seq
        else:
            ranges.append([seq, seq])
    return ranges


def from_ranges(ranges: Iterable[Iterable[int]]) -> Iterator[int]:
    for start, end in ranges:
        yield from range(start, end + 1)


class RunStore:
    """The run records of one stack (one state dir)."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "producers" / "runs"

    def path(self, run_id: str) -> Path:
        return self.root / f"{check_run_id(run_id)}.json"

    def write(self, record: dict[str, Any]) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(str(record["run_id"]))
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(tmp, path)
        return path

    def read(self, run_id: str) -> dict[str, Any]:
        path = self.path(run_id)
        try:
            record: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            raise RunNotFoundError(
                f"no run record for {run_id} in {self.root}",
                "verify runs made against this stack (same --state-dir); dry runs keep no record",
            ) from None
        except ValueError:
            raise ProducerError(f"run record {path} is not valid JSON") from None
        return record

    def exists(self, run_id: str) -> bool:
        return self.path(run_id).exists()

    def list(self) -> list[dict[str, Any]]:
        records = []
        for path in sorted(self.root.glob("*.json")):
            try:
                records.append(json.loads(path.read_text()))
            except ValueError:
                continue
        return records
