"""``assert`` (JSONPath over the run, a value, or SQL over the lake) and ``snapshot``.

JSONPath expressions (jsonpath-ng's extended syntax, filters included) are evaluated over
``{steps, vars, scenario, stack}``; one match is the value, several are a list, none is
"missing" (only ``exists: false`` accepts that).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from nexuskit.scenarios.model import AssertStep, Check, SnapshotStep
from nexuskit.scenarios.normalise import Normaliser, compile_rules
from nexuskit.scenarios.results import MISSING, CallError, StepFailedError, readable_diff
from nexuskit.scenarios.snapshots import dump
from nexuskit.scenarios.steps.base import StepContext, StepReturn


def _parse_path(path: str) -> Any:
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext.parser import parse

    try:
        return parse(path)
    except (JsonPathLexerError, JsonPathParserError, ValueError) as exc:
        raise StepFailedError(f"{path!r} is not a JSONPath expression ({exc})") from None


def find(data: Any, path: str) -> Any:
    """The value(s) at ``path``: one match -> value, several -> list, none -> MISSING."""
    matches = [m.value for m in _parse_path(path).find(data)]
    if not matches:
        return MISSING
    return matches[0] if len(matches) == 1 else matches


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StepFailedError(f"{what} is {value!r}, not a number")
    return float(value)


def _subset(actual: Any, expected: Any) -> bool:
    """``expected`` is in ``actual``: mappings key by key (recursively), the rest equal."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(k in actual and _subset(actual[k], v) for k, v in expected.items())
    return _equal(actual, expected)


def _contains(actual: Any, expected: Any) -> bool:
    """A substring, a list item (a mapping matches an item that has its keys), or sub-mapping."""
    if isinstance(actual, str):
        return str(expected) in actual
    if isinstance(actual, dict):
        return _subset(actual, expected) if isinstance(expected, dict) else expected in actual
    if isinstance(actual, list):
        return any(_subset(item, expected) for item in actual)
    return False


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected if isinstance(actual, bool) and isinstance(expected, bool) else False
    return bool(actual == expected)


def evaluate_check(check: Check, actual: Any, label: str) -> list[tuple[str, Any]]:
    """The failed operators of one check as (operator, expected) pairs."""
    failed: list[tuple[str, Any]] = []
    ops = check.operators()
    if actual is MISSING:
        if "exists" in ops and check.exists is False:
            return []
        return [("exists", True)]
    for op in ops:
        expected = getattr(check, op)
        ok: bool
        if op == "equals":
            ok = _equal(actual, expected)
        elif op == "not_equals":
            ok = not _equal(actual, expected)
        elif op == "at_least":
            ok = _number(actual, label) >= _number(float(expected), "at_least")
        elif op == "at_most":
            ok = _number(actual, label) <= _number(float(expected), "at_most")
        elif op == "length":
            ok = hasattr(actual, "__len__") and len(actual) == int(expected)
        elif op == "contains":
            ok = _contains(actual, expected)
        elif op == "matches":
            ok = re.search(str(expected), actual if isinstance(actual, str) else dump(actual)) is not None
        else:  # exists
            ok = bool(expected)
        if not ok:
            failed.append((op, expected))
    return failed


def _subject(ctx: StepContext, check: Check) -> tuple[Any, str]:
    if check.path is not None:
        return find(ctx.values, check.path), check.path
    if check.sql is not None:
        from nexuskit.scenarios.steps.lake import sql_rows

        try:
            return sql_rows(ctx, check.sql, check.as_), f"SQL {check.sql!r}"
        except CallError as exc:
            raise StepFailedError(f"{exc.call}: {exc.code}: {exc.detail}") from None
    return check.value, "value"


def _shown(actual: Any, op: str) -> Any:
    if op == "length" and hasattr(actual, "__len__"):
        return {"length": len(actual), "value": actual}
    return actual


def run_assert(ctx: StepContext, step: AssertStep) -> StepReturn:
    seen: list[Any] = []
    checks = step.checks
    for number, check in enumerate(checks, start=1):
        actual, label = _subject(ctx, check)
        failed = evaluate_check(check, actual, label)
        if failed:
            op, expected = failed[0]
            which = f"check {number} of {len(checks)} " if len(checks) > 1 else ""
            said = f" - {check.message}" if check.message else ""
            shown = "(nothing matched)" if actual is MISSING else _shown(actual, op)
            raise StepFailedError(
                f"{which}({label}) failed: {op} {expected!r}{said}",
                expected={op: expected},
                actual=shown,
                diff=(readable_diff(expected, actual) or None)
                if op == "equals" and actual is not MISSING
                else None,
            )
        seen.append(None if actual is MISSING else actual)
    summary = f"{len(checks)} check{'s' if len(checks) != 1 else ''} passed"
    return StepReturn(seen if len(seen) > 1 else seen[0], summary)


# -- snapshot -------------------------------------------------------------------------------
def _blank(value: Any, paths: list[str]) -> Any:
    data = copy.deepcopy(value)
    for path in paths:
        data = _parse_path(path).update(data, "<ignored>")
    return data


def run_snapshot(ctx: StepContext, step: SnapshotStep) -> StepReturn:
    body = step.snapshot
    value = find(ctx.values, body.path) if body.path is not None else body.of
    if value is MISSING:
        raise StepFailedError(f"snapshot: {body.path} matched nothing")
    value = _blank(value, body.ignore)
    normaliser = Normaliser(ctx.known, compile_rules(body.replace))
    actual = normaliser(value)
    key = ctx.step_key
    where = f"{ctx.snapshots.path}#{key}"
    if ctx.record:
        ctx.snapshots.record(key, actual)
        return StepReturn(actual, f"recorded {key}")
    found, recorded = ctx.snapshots.get(key)
    if not found:
        raise StepFailedError(
            f"no recorded snapshot {key!r} in {ctx.snapshots.path}",
            hint=f"record it: nexuskit scenario run {ctx.loaded.path} --record",
        )
    if dump(actual) != dump(recorded):
        diff = readable_diff(recorded, actual, (f"recorded ({where})", "this run"))
        raise StepFailedError(
            f"snapshot {key!r} drifted from the recording",
            expected=recorded,
            actual=actual,
            diff=diff,
            hint="if the change is intended, re-record with --record and review the diff",
        )
    return StepReturn(actual, f"matches {key}")
