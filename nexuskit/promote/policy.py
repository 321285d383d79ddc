"""Policy checks on a plan (the output of ``terraform show -json PLAN``).

Two rules, each reporting the offending resource addresses:

* **No destroy or replace of data-bearing resources**: ``aws_s3_bucket*``,
  ``aws_kinesis_stream``, ``aws_kinesis_video_stream``,
  ``aws_kinesis_firehose_delivery_stream`` and ``aws_lakeformation_*``.
* **No IAM wildcard admin**: no ``Allow`` statement in an IAM identity policy
  (``aws_iam_policy``, ``aws_iam_role_policy``, ``aws_iam_user_policy``,
  ``aws_iam_group_policy``, ``aws_iam_role`` inline policies) whose ``Action`` is ``*``
  or ``service:*``, and no ``Allow`` with ``NotAction``. A policy that is only known after
  apply (it embeds ARNs created by the same plan) is checked through the
  ``aws_iam_policy_document`` data source its configuration references; one that cannot
  be checked either way fails the check (fail closed).

Resource and bucket policies (KMS key policies, S3 bucket policies, SQS queue policies)
are not identity policies and are not checked here; checkov covers them statically.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PROTECTED_TYPES = (
    "aws_s3_bucket*",
    "aws_kinesis_stream",
    "aws_kinesis_video_stream",
    "aws_kinesis_firehose_delivery_stream",
    "aws_lakeformation_*",
)
IAM_POLICY_TYPES = frozenset(
    {"aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"}
)
_SERVICE_WILDCARD = re.compile(r"^[A-Za-z0-9-]+:\*$")
_INDEX = re.compile(r"\[[^\]]*\]")


@dataclass(frozen=True)
class Violation:
    """One broken rule: the resource address and what is wrong with it."""

    rule: str  # "destroy" or "iam-wildcard"
    address: str
    detail: str

    def __str__(self) -> str:
        return f"{self.address}: {self.detail}"


@dataclass
class PlanSummary:
    """How many resources the plan creates, updates, replaces and deletes."""

    create: int = 0
    update: int = 0
    replace: int = 0
    delete: int = 0
    addresses: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.replace or self.delete)

    def __str__(self) -> str:
        return (
            f"{self.create} to add, {self.update} to change, {self.replace} to replace, "
            f"{self.delete} to destroy"
        )

    def as_dict(self) -> dict[str, int]:
        return {"create": self.create, "update": self.update, "replace": self.replace, "delete": self.delete}


def _matches(resource_type: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return resource_type.startswith(pattern[:-1])
    return resource_type == pattern


def is_protected(resource_type: str) -> bool:
    return any(_matches(resource_type, p) for p in PROTECTED_TYPES)


def _changes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for change in plan.get("resource_changes") or []:
        if isinstance(change, dict):
            yield change


def _action(change: dict[str, Any]) -> str:
    actions = list((change.get("change") or {}).get("actions") or [])
    if "delete" in actions and "create" in actions:
        return "replace"
    if "delete" in actions:
        return "delete"
    if "create" in actions:
        return "create"
    if "update" in actions:
        return "update"
    return "no-op"


def summarize(plan: dict[str, Any]) -> PlanSummary:
    """Counts of managed resource changes by kind."""
    summary = PlanSummary()
    for change in _changes(plan):
        if change.get("mode", "managed") != "managed":
            continue
        action = _action(change)
        if action == "no-op":
            continue
        setattr(summary, action, getattr(summary, action) + 1)
        summary.addresses.setdefault(action, []).append(str(change.get("address")))
    return summary


def destructive_changes(plan: dict[str, Any]) -> list[Violation]:
    """Deletes and replacements of protected (data-bearing) resources."""
    found = []
    for change in _changes(plan):
        if change.get("mode", "managed") != "managed" or not is_protected(str(change.get("type", ""))):
            continue
        action = _action(change)
        if action in {"delete", "replace"}:
            verb = (
                "would be destroyed" if action == "delete" else "would be replaced (destroyed and recreated)"
            )
            found.append(Violation("destroy", str(change.get("address")), verb))
    return found


# -- IAM wildcard actions -----------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wildcards_in_document(document: dict[str, Any]) -> list[str]:
    """Wildcard admin grants in an IAM policy document (JSON form)."""
    problems = []
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect", "Allow") != "Allow":
            continue
        if "NotAction" in statement:
            problems.append("Allow with NotAction (grants every action but the listed ones)")
        for action in _as_list(statement.get("Action")):
            if action == "*" or (isinstance(action, str) and _SERVICE_WILDCARD.match(action)):
                problems.append(f"allows Action {action!r}")
    return problems


def _wildcards_in_data_document(values: dict[str, Any]) -> list[str] | None:
    """Wildcards in an ``aws_iam_policy_document`` data source's values (None: unknown)."""
    text = values.get("json")
    if isinstance(text, str) and text:
        return _wildcards_in_policy_text(text)
    statements = values.get("statement")
    if not isinstance(statements, list):
        return None
    problems = []
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("effect", "Allow") not in {"Allow", None}:
            continue
        if statement.get("not_actions"):
            problems.append("Allow with NotAction (grants every action but the listed ones)")
        for action in _as_list(statement.get("actions")):
            if action == "*" or (isinstance(action, str) and _SERVICE_WILDCARD.match(action)):
                problems.append(f"allows Action {action!r}")
    return problems


def _wildcards_in_policy_text(text: str) -> list[str] | None:
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        return None
    return _wildcards_in_document(document) if isinstance(document, dict) else None


def _module_resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources") or []
    for child in module.get("child_modules") or []:
        yield from _module_resources(child)


def _known_values(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Address -> attribute values, from the prior state, planned values and changes."""
    values: dict[str, dict[str, Any]] = {}
    prior_root = ((plan.get("prior_state") or {}).get("values") or {}).get("root_module") or {}
    planned_root = (plan.get("planned_values") or {}).get("root_module") or {}
    for root in (prior_root, planned_root):
        for resource in _module_resources(root):
            if isinstance(resource.get("values"), dict):
                values[str(resource.get("address"))] = resource["values"]
    for change in _changes(plan):
        after = (change.get("change") or {}).get("after")
        if isinstance(after, dict):
            values[str(change.get("address"))] = after
    return values


def _split_address(address: str) -> tuple[str, list[str], str]:
    """``module.a[0].module.b.aws_x.y["k"]`` -> (``module.a[0].module.b.``, [a, b], ``aws_x.y``)."""
    parts = address.split(".")
    prefix_parts: list[str] = []
    names: list[str] = []
    i = 0
    while i + 1 < len(parts) and parts[i] == "module":
        prefix_parts += parts[i : i + 2]
        names.append(_INDEX.sub("", parts[i + 1]))
        i += 2
    prefix = ".".join(prefix_parts) + ("." if prefix_parts else "")
    local = _INDEX.sub("", ".".join(parts[i:]))
    return prefix, names, local


def _config_module(plan: dict[str, Any], names: list[str]) -> dict[str, Any]:
    module: dict[str, Any] = (plan.get("configuration") or {}).get("root_module") or {}
    for name in names:
        module = ((module.get("module_calls") or {}).get(name) or {}).get("module") or {}
    return module


def _policy_references(plan: dict[str, Any], address: str, attribute: str) -> list[str]:
    """Addresses of the policy-document data sources an attribute's expression refers to."""
    prefix, names, local = _split_address(address)
    for resource in _config_module(plan, names).get("resources") or []:
        if resource.get("address") != local:
            continue
        expression = (resource.get("expressions") or {}).get(attribute) or {}
        refs = [str(r) for r in expression.get("references") or []]
        docs = {
            r.removesuffix(".json")
            for r in refs
            if r.startswith("data.aws_iam_policy_document.") and r.count(".") >= 2
        }
        return sorted(prefix + d for d in docs)
    return []


def _resolve_document(values: dict[str, dict[str, Any]], reference: str) -> list[str] | None:
    """Wildcards in the data source at ``reference`` (all its instances), None when unknown."""
    matches = [
        v
        for addr, v in values.items()
        if addr == reference or addr.startswith((reference + "[", reference + "."))
    ]
    if not matches:
        return None
    problems: list[str] = []
    for doc in matches:
        found = _wildcards_in_data_document(doc)
        if found is None:
            return None
        problems += found
    return problems


def iam_wildcards(plan: dict[str, Any]) -> list[Violation]:
    """IAM identity policies that grant ``*`` or ``service:*``, or that cannot be checked."""
    values = _known_values(plan)
    violations: list[Violation] = []
    for change in _changes(plan):
        rtype = str(change.get("type", ""))
        address = str(change.get("address"))
        if change.get("mode", "managed") != "managed" or _action(change) == "delete":
            continue
        after = values.get(address) or {}
        policies: list[tuple[str, Any]] = []
        if rtype in IAM_POLICY_TYPES:
            policies.append(("policy", after.get("policy")))
        elif rtype == "aws_iam_role":
            for block in _as_list(after.get("inline_policy")):
                if isinstance(block, dict):
                    policies.append(("inline_policy", block.get("policy")))
        for attribute, text in policies:
            problems = _wildcards_in_policy_text(text) if isinstance(text, str) and text else None
            if problems is None:
                refs = _policy_references(plan, address, attribute)
                resolved = [_resolve_document(values, ref) for ref in refs]
                if refs and all(r is not None for r in resolved):
                    problems = [p for r in resolved for p in (r or [])]
            if problems is None:
                violations.append(
                    Violation(
                        "iam-unverifiable",
                        address,
                        "policy is only known after apply and is not built from an "
                        "aws_iam_policy_document, so its actions cannot be checked",
                    )
                )
                continue
            violations += [Violation("iam-wildcard", address, p) for p in dict.fromkeys(problems)]
    return violations


@dataclass
class PolicyReport:
    """The outcome of every policy check on one plan."""

    summary: PlanSummary
    violations: list[Violation]

    @property
    def ok(self) -> bool:
        return not self.violations


def check_plan(plan: dict[str, Any]) -> PolicyReport:
    """Run every policy check on a ``terraform show -json`` document."""
    return PolicyReport(summarize(plan), destructive_changes(plan) + iam_wildcards(plan))
