"""What a run produces: step and scenario outcomes, failures with expected vs actual, events.

Everything here is plain data with ``as_dict()`` for ``--json``; :func:`render_failure`
makes the readable text the CLI and the pytest suite show for a failed scenario.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nexuskit.errors import ScenarioError

Status = Literal["passed", "failed", "skipped"]


class _Missing:
    def __repr__(self) -> str:
        return "<not given>"


MISSING: Any = _Missing()


def pretty(value: Any) -> str:
    """A value as the failure output shows it (JSON, indented, keys sorted)."""
    if isinstance(value, str):
        return value if "\n" in value else json.dumps(value)
    try:
        return json.dumps(value, indent=2, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def readable_diff(expected: Any, actual: Any, labels: tuple[str, str] = ("expected", "actual")) -> str:
    """A unified diff of two values' pretty forms ("" when both fit on one line each)."""
    left, right = pretty(expected).splitlines(), pretty(actual).splitlines()
    if len(left) <= 1 and len(right) <= 1:
        return ""
    return "\n".join(difflib.unified_diff(left, right, labels[0], labels[1], lineterm="", n=3))


class StepFailedError(ScenarioError):
    """A step did not do what the scenario says: message, and expected vs actual when known."""

    def __init__(
        self,
        message: str,
        *,
        expected: Any = MISSING,
        actual: Any = MISSING,
        diff: str | None = "",
        hint: str | None = None,
    ) -> None:
        """``diff``: "" computes one from expected and actual, None means none."""
        super().__init__(message, hint)
        self.expected = expected
        self.actual = actual
        if diff is None:
            self.diff = ""
        else:
            both = expected is not MISSING and actual is not MISSING
            self.diff = diff or (readable_diff(expected, actual) if both else "")


class CallError(ScenarioError):
    """A call (AWS, token service, MCP tool, workflow, lake) failed with an error code."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        call: str = "",
        aliases: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"{call + ': ' if call else ''}{code}: {message}")
        self.code = code
        self.detail = message
        self.status = status
        self.call = call
        self.aliases = aliases  # broader codes that match too (TokenExpired is also a TokenError)

    def matches(self, codes: list[str]) -> bool:
        return self.code in codes or bool(set(self.aliases) & set(codes))

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.detail, "status": self.status}


@dataclass
class Failure:
    """Why a scenario failed: the step, what was expected and seen, and log tails."""

    message: str
    step_index: int | None = None
    step_label: str = ""
    line: int | None = None
    expected: Any = MISSING
    actual: Any = MISSING
    diff: str = ""
    hint: str | None = None
    logs: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "message": self.message,
            "step": self.step_index,
            "step_label": self.step_label,
            "line": self.line,
            "hint": self.hint,
            "diff": self.diff,
            "logs": self.logs,
        }
        if self.expected is not MISSING:
            doc["expected"] = self.expected
        if self.actual is not MISSING:
            doc["actual"] = self.actual
        return doc


@dataclass
class StepOutcome:
    """One step as it ran."""

    index: int
    kind: str
    id: str | None
    title: str
    status: Status
    duration_s: float = 0.0
    summary: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "type": self.kind,
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "summary": self.summary,
        }


@dataclass
class ScenarioResult:
    """One scenario as it ran (or why it was skipped)."""

    name: str
    file: Path
    status: Status
    duration_s: float = 0.0
    steps: list[StepOutcome] = field(default_factory=list)
    message: str = ""
    failure: Failure | None = None
    stack: str = ""
    snapshots_written: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": str(self.file),
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "message": self.message,
            "stack": self.stack,
            "steps": [s.as_dict() for s in self.steps],
            "failure": self.failure.as_dict() if self.failure else None,
            "snapshots_written": self.snapshots_written,
        }

    def outcome(self) -> dict[str, Any]:
        """The entry of the promotion gate's scenario record."""
        return {
            "name": self.name,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "message": self.message,
        }


@dataclass
class SuiteResult:
    """A run of one or more scenarios."""

    scenarios: list[ScenarioResult] = field(default_factory=list)
    duration_s: float = 0.0
    stacks: list[dict[str, Any]] = field(default_factory=list)
    record_path: Path | None = None
    junit_path: Path | None = None

    def count(self, status: Status) -> int:
        return sum(1 for s in self.scenarios if s.status == status)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "passed": self.count("passed"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "duration_s": round(self.duration_s, 3),
            "scenarios": [s.as_dict() for s in self.scenarios],
            "stacks": self.stacks,
            "record": str(self.record_path) if self.record_path else None,
            "junit": str(self.junit_path) if self.junit_path else None,
        }


EventKind = Literal["stack", "scenario_start", "step_start", "step_end", "scenario_end"]


@dataclass(frozen=True)
class RunEvent:
    """What the runner tells its callback as it goes (the CLI prints these live)."""

    kind: EventKind
    scenario: str = ""
    step: StepOutcome | None = None
    result: ScenarioResult | None = None
    message: str = ""


def render_failure(result: ScenarioResult, log_lines: int = 20) -> str:
    """The readable account of a failed scenario: the step, expected vs actual, logs."""
    failure = result.failure
    if failure is None:
        return f"{result.name}: {result.status} {result.message}".rstrip()
    where = f"{result.file}:{failure.line}" if failure.line else str(result.file)
    lines = [
        f"scenario {result.name} failed at {failure.step_label or 'setup'} ({where})",
        f"  {failure.message}",
    ]
    if failure.expected is not MISSING or failure.actual is not MISSING:
        if failure.diff:
            lines += ["  expected vs actual:", *("    " + line for line in failure.diff.splitlines())]
        else:
            if failure.expected is not MISSING:
                lines.append(f"  expected: {pretty(failure.expected)}")
            if failure.actual is not MISSING:
                lines.append(f"  actual:   {pretty(failure.actual)}")
    elif failure.diff:
        lines += ["  diff:", *("    " + line for line in failure.diff.splitlines())]
    if failure.hint:
        lines.append(f"  hint: {failure.hint}")
    for name, tail in failure.logs.items():
        if tail:
            lines.append(f"  last {min(len(tail), log_lines)} lines of {name}:")
            lines += ["    " + line for line in tail[-log_lines:]]
    return "\n".join(lines)
