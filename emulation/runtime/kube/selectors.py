"""Label and field selectors, as ``?labelSelector=`` and ``?fieldSelector=`` give them.

Label selectors: ``key``, ``!key``, ``key=value``, ``key==value``, ``key!=value``,
``key in (a,b)``, ``key notin (a,b)``, separated by commas. Field selectors: ``field=value``,
``field==value``, ``field!=value``; each resource accepts ``metadata.name`` and
``metadata.namespace`` and the fields the API server indexes for it (pods:
``spec.nodeName``, ``status.phase``...; events: ``involvedObject.*``, ``reason``, ``type``).
A malformed selector or an unknown field is ``400 BadRequest`` with the server's message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from emulation.runtime.kube.errors import BadRequestError

Matcher = Callable[[dict[str, Any]], bool]

FIELDS: dict[str, tuple[str, ...]] = {
    "pods": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "secrets": ("type",),
    "namespaces": ("status.phase",),
    "nodes": ("spec.unschedulable",),
    "apps/replicasets": ("status.replicas",),
}
_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9._/-]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[A-Za-z0-9._-]*)|\s+(?P<set>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def label_matcher(text: str | None) -> Matcher:
    """A predicate on objects for a label selector (everything for an empty one)."""
    if not text or not text.strip():
        return lambda obj: True
    checks: list[tuple[str, str, frozenset[str]]] = []  # (operator, key, values)
    for part in _split(text):
        match = _REQUIREMENT.match(part)
        if match is None or (match["neg"] and (match["op"] or match["set"])):
            raise BadRequestError(f"unable to parse requirement: {part.strip()!r}: found invalid selector")
        if match["neg"]:
            checks.append(("!exists", match["key"], frozenset()))
        elif match["op"]:
            checks.append(("!=" if match["op"] == "!=" else "=", match["key"], frozenset({match["value"]})))
        elif match["set"]:
            values = frozenset(v.strip() for v in match["values"].split(",") if v.strip())
            checks.append((match["set"], match["key"], values))
        else:
            checks.append(("exists", match["key"], frozenset()))

    def check(labels: dict[str, str], op: str, key: str, values: frozenset[str]) -> bool:
        if op == "exists":
            return key in labels
        if op == "!exists":
            return key not in labels
        if op in {"=", "in"}:
            return labels.get(key) in values
        return labels.get(key) not in values  # != and notin

    def matches(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(check(labels, *c) for c in checks)

    return matches


def field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, dict) and path == "source":
        value = value.get("component")
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def field_matcher(text: str | None, rid: str) -> Matcher:
    """A predicate on objects of resource ``rid`` for a field selector."""
    if not text or not text.strip():
        return lambda obj: True
    allowed = ("metadata.name", "metadata.namespace", *FIELDS.get(rid, ()))
    checks: list[tuple[str, str, bool]] = []
    for part in _split(text):
        match = re.match(r"^\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if match is None:
            raise BadRequestError(f"invalid selector: {text!r}; can't understand {part.strip()!r}")
        field, op, value = match.groups()
        if field not in allowed:
            known = ", ".join(f'"{f}"' for f in allowed)
            raise BadRequestError(f'"{field}" is not a known field selector: only {known}')
        checks.append((field, value, op == "!="))

    def matches(obj: dict[str, Any]) -> bool:
        return all((field_value(obj, f) == v) != negated for f, v, negated in checks)

    return matches
