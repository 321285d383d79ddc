"""IAM policy documents: parsing, matching and evaluation (no moto state in here).

A document is compiled once into :class:`Policy` (a tuple of :class:`Statement`) and
evaluated for one (action, resource, context, caller) at a time:

* ``Action``/``NotAction`` match case-insensitively with ``*`` and ``?``.
* ``Resource``/``NotResource`` match case-sensitively; an ARN pattern is matched per
  colon-separated segment (as AWS does), the sixth segment may span colons. Policy
  variables (``${aws:username}``, ``${aws:PrincipalTag/team}``, ``${*}``, ...) are
  substituted from the request context; a pattern whose variable is missing matches nothing.
* A request resource that could not be resolved (services without a resource mapper)
  matches ``*`` and any pattern of its own service: only action-level scoping is enforced
  there, never a false denial of a resource we cannot name.
* ``Principal``/``NotPrincipal`` (trust and resource policies): ``*``, account ids and
  ``:root`` ARNs (any identity of that account), user ARNs, role ARNs (any session of the
  role), assumed-role session ARNs, ``Service`` (admits the engine's bootstrap admin,
  which acts for every service) and ``Federated`` (the web-identity/SAML provider).
* ``Condition``: String*, Arn*, Bool, Null, Numeric*, Date*, IpAddress/NotIpAddress, each
  with ``...IfExists`` and the ``ForAnyValue:``/``ForAllValues:`` set prefixes, with AWS's
  missing-key rules (negated operators are true when the key is absent). Any other
  operator is treated conservatively: an Allow statement using it does not apply, a Deny
  statement using it does.

Evaluation: an explicit Deny anywhere wins; otherwise something must Allow.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

Context = Mapping[str, Sequence[str]]
"""Condition context: lower-cased key -> values (one value for single-valued keys)."""


class Effect(Enum):
    ALLOW = "Allow"
    DENY = "Deny"


# -- wildcard matching -------------------------------------------------------------------
@lru_cache(maxsize=16384)
def _glob(pattern: str, ignore_case: bool) -> Callable[[str], re.Match[str] | None]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags).fullmatch


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return pattern == "*" or _glob(pattern, ignore_case)(value) is not None


def arn_match(pattern: str, value: str) -> bool:
    """ARN wildcard match, segment by segment (``*`` never spans the first five colons)."""
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    value_parts = value.split(":", len(pattern_parts) - 1)
    if len(value_parts) != len(pattern_parts):
        return False
    # Segment by segment; a shorter pattern's last segment spans the rest of the ARN.
    return all(_glob(p, False)(v) is not None for p, v in zip(pattern_parts, value_parts, strict=True))


@dataclass(frozen=True)
class Resource:
    """The resource a request acts on: a real ARN, ``*`` (unscoped action), or unresolved."""

    arn: str
    service: str
    resolved: bool = True

    def matches(self, pattern: str) -> bool:
        if self.resolved:
            return arn_match(pattern, self.arn)
        if pattern == "*":
            return True
        parts = pattern.split(":", 5)
        return len(parts) >= 3 and glob_match(parts[2], self.service, ignore_case=True)

    def __str__(self) -> str:
        return self.arn


# -- policy variables --------------------------------------------------------------------
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def substitute(value: str, context: Context) -> str | None:
    """Replace ``${...}`` variables; None when a variable has no value (and no default)."""
    if "${" not in value:
        return value
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        body = match.group(1).strip()
        if body in _SPECIAL:
            return _SPECIAL[body]
        name, _, default = body.partition(",")
        values = context.get(name.strip().lower())
        if values:
            return values[0]
        default = default.strip()
        if len(default) >= 2 and default[0] == default[-1] == "'":
            return default[1:-1]
        missing = True
        return ""

    result = _VARIABLE.sub(replace, value)
    return None if missing else result


# -- principals --------------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    """Who makes a request, as trust and resource policies see it."""

    account_id: str | None
    arns: frozenset[str] = frozenset()
    is_admin: bool = False
    federated: frozenset[str] = frozenset()

    @property
    def anonymous(self) -> bool:
        return self.account_id is None and not self.federated


_ACCOUNT_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def principal_matches(spec: Any, caller: Caller) -> bool:
    """Whether a ``Principal`` element names the caller."""
    if spec == "*":
        return True
    if not isinstance(spec, dict):
        return False
    for kind, values in spec.items():
        for value in _as_list(values):
            if not isinstance(value, str):
                continue
            if kind == "AWS":
                if value == "*":
                    return True
                if caller.account_id is None:
                    continue
                root = _ACCOUNT_ROOT.match(value)
                if (root and root.group(1) == caller.account_id) or value == caller.account_id:
                    return True
                if value in caller.arns:
                    return True
            elif kind == "Service":
                if caller.is_admin:
                    return True  # the bootstrap admin acts for every AWS service
            elif kind == "Federated" and value in caller.federated:
                return True
    return False


# -- conditions --------------------------------------------------------------------------
_NEGATED = {
    "stringnotequals",
    "stringnotequalsignorecase",
    "stringnotlike",
    "arnnotequals",
    "arnnotlike",
    "numericnotequals",
    "datenotequals",
    "notipaddress",
}


def _parse_date(value: str) -> datetime | None:
    text = value.strip()
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ip_in(network: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def check(actual: str, expected: str) -> bool:
        try:
            return compare(float(actual), float(expected))
        except ValueError:
            return False

    return check


def _dated(compare: Callable[[datetime, datetime], bool]) -> Callable[[str, str], bool]:
    def check(actual: str, expected: str) -> bool:
        left, right = _parse_date(actual), _parse_date(expected)
        return left is not None and right is not None and compare(left, right)

    return check


# base operator (lower-case, without Not) -> (actual, expected) -> bool
_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "stringequals": lambda a, e: a == e,
    "stringequalsignorecase": lambda a, e: a.lower() == e.lower(),
    "stringlike": lambda a, e: glob_match(e, a),
    "arnequals": lambda a, e: arn_match(e, a),
    "arnlike": lambda a, e: arn_match(e, a),
    "bool": lambda a, e: a.lower() == e.lower(),
    "numericequals": _numeric(lambda a, e: a == e),
    "numericlessthan": _numeric(lambda a, e: a < e),
    "numericlessthanequals": _numeric(lambda a, e: a <= e),
    "numericgreaterthan": _numeric(lambda a, e: a > e),
    "numericgreaterthanequals": _numeric(lambda a, e: a >= e),
    "dateequals": _dated(lambda a, e: a == e),
    "datelessthan": _dated(lambda a, e: a < e),
    "datelessthanequals": _dated(lambda a, e: a <= e),
    "dategreaterthan": _dated(lambda a, e: a > e),
    "dategreaterthanequals": _dated(lambda a, e: a >= e),
    "ipaddress": lambda a, e: _ip_in(e, a),
}
_POSITIVE_OF = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
    "numericnotequals": "numericequals",
    "datenotequals": "dateequals",
    "notipaddress": "ipaddress",
}


@dataclass(frozen=True)
class Condition:
    operator: str
    key: str
    values: tuple[str, ...]

    def evaluate(self, context: Context) -> bool | None:
        """True/False, or None when the operator is not supported."""
        op = self.operator.lower()
        set_mode = ""
        for prefix in ("foranyvalue:", "forallvalues:"):
            if op.startswith(prefix):
                set_mode, op = prefix[:-1], op[len(prefix) :]
        if_exists = op.endswith("ifexists")
        if if_exists:
            op = op[: -len("ifexists")]
        actual = list(context.get(self.key.lower(), ()))
        if op == "null":
            present = bool(actual)
            return any((v.lower() == "true") != present for v in self.values)
        negated = op in _NEGATED
        base = _POSITIVE_OF.get(op, op)
        matcher = _MATCHERS.get(base)
        if matcher is None:
            return None
        if not actual:
            if set_mode == "forallvalues":
                return True
            if set_mode == "foranyvalue":
                return False
            return if_exists or negated
        expected = [substitute(v, context) for v in self.values]
        wanted = [v for v in expected if v is not None]

        def hit(value: str) -> bool:
            matched = any(matcher(value, e) for e in wanted)
            return not matched if negated else matched

        if set_mode == "forallvalues":
            return all(hit(v) for v in actual)
        if set_mode == "foranyvalue" or not negated:
            return any(hit(v) for v in actual)
        return all(hit(v) for v in actual)


# -- statements and policies -------------------------------------------------------------
@dataclass(frozen=True)
class Statement:
    effect: Effect
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None
    not_resource: bool
    principal: Any = None
    not_principal: bool = False
    conditions: tuple[Condition, ...] = ()

    def action_applies(self, action: str) -> bool:
        hit = any(glob_match(p, action, ignore_case=True) for p in self.actions)
        return not hit if self.not_action else hit

    def resource_applies(self, resource: Resource, context: Context) -> bool:
        if self.resources is None:
            return True  # trust policies name no resource
        hit = False
        for pattern in self.resources:
            concrete = substitute(pattern, context)
            if concrete is not None and resource.matches(concrete):
                hit = True
                break
        return not hit if self.not_resource else hit

    def principal_applies(self, caller: Caller | None) -> bool:
        if self.principal is None:
            return True  # identity policies: the principal is whoever holds them
        if caller is None:
            return False
        hit = principal_matches(self.principal, caller)
        return not hit if self.not_principal else hit

    def conditions_apply(self, context: Context) -> bool:
        for condition in self.conditions:
            result = condition.evaluate(context)
            if result is None:
                _warn_unsupported(condition.operator)
                return self.effect is Effect.DENY  # conservative either way
            if not result:
                return False
        return True


_warned: set[str] = set()


def _warn_unsupported(operator: str) -> None:
    if operator not in _warned:
        _warned.add(operator)
        log.warning(
            "IAM condition operator %s is not supported: Allow statements using it do not "
            "apply, Deny statements using it do",
            operator,
        )


@dataclass(frozen=True)
class Policy:
    """One compiled policy document, with where it came from (for messages and logs)."""

    statements: tuple[Statement, ...]
    source: str = ""

    def decide(
        self,
        action: str,
        resource: Resource,
        context: Context,
        caller: Caller | None = None,
    ) -> Effect | None:
        """DENY if a Deny statement applies, else ALLOW if an Allow does, else None."""
        allowed = False
        for statement in self.statements:
            if not statement.action_applies(action):
                continue
            if not statement.principal_applies(caller):
                continue
            if not statement.resource_applies(resource, context):
                continue
            if not statement.conditions_apply(context):
                continue
            if statement.effect is Effect.DENY:
                return Effect.DENY
            allowed = True
        return Effect.ALLOW if allowed else None


class PolicyDocumentError(ValueError):
    """A policy document that cannot be understood (it then grants nothing)."""


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in _as_list(value))


def compile_policy(document: str | Mapping[str, Any], source: str = "") -> Policy:
    """Parse a policy document (JSON text or dict) into a :class:`Policy`."""
    if isinstance(document, str):
        try:
            data = json.loads(document)
        except ValueError as exc:
            raise PolicyDocumentError(f"policy {source or ''} is not JSON: {exc}") from exc
    else:
        data = document
    if not isinstance(data, Mapping):
        raise PolicyDocumentError(f"policy {source} is not a JSON object")
    raw_statements = _as_list(data.get("Statement"))
    statements: list[Statement] = []
    for raw in raw_statements:
        if not isinstance(raw, Mapping):
            raise PolicyDocumentError(f"policy {source} has a statement that is not an object")
        effect = Effect.DENY if raw.get("Effect") == "Deny" else Effect.ALLOW
        if raw.get("Effect") not in ("Allow", "Deny"):
            raise PolicyDocumentError(f"policy {source} has an Effect that is not Allow/Deny")
        not_action = "NotAction" in raw
        not_resource = "NotResource" in raw
        resources: tuple[str, ...] | None = None
        if "Resource" in raw or not_resource:
            resources = _strings(raw.get("NotResource" if not_resource else "Resource"))
        conditions: list[Condition] = []
        for operator, keys in (raw.get("Condition") or {}).items():
            if not isinstance(keys, Mapping):
                continue
            for key, values in keys.items():
                conditions.append(
                    Condition(
                        str(operator),
                        str(key),
                        tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(values)),
                    )
                )
        not_principal = "NotPrincipal" in raw
        statements.append(
            Statement(
                effect=effect,
                actions=_strings(raw.get("NotAction" if not_action else "Action")),
                not_action=not_action,
                resources=resources,
                not_resource=not_resource,
                principal=raw.get("NotPrincipal" if not_principal else "Principal"),
                not_principal=not_principal,
                conditions=tuple(conditions),
            )
        )
    return Policy(tuple(statements), source)


def compile_policies(documents: Iterable[tuple[str, Any]]) -> list[Policy]:
    """Compile (source, document) pairs; unreadable documents are logged and skipped."""
    compiled: list[Policy] = []
    for source, document in documents:
        if document is None:
            continue
        try:
            compiled.append(compile_policy(document, source))
        except PolicyDocumentError as exc:
            log.warning("ignoring %s", exc)
    return compiled


# -- evaluation --------------------------------------------------------------------------
@dataclass
class PolicySet:
    """Everything that decides what one identity may do."""

    identity: list[Policy] = field(default_factory=list)
    #: permissions boundary (None: the identity has none)
    boundary: list[Policy] | None = None
    #: session policies (inline + managed ARNs passed to AssumeRole); None: none passed
    session: list[Policy] | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    #: the tail of AWS's message ("because no identity-based policy allows the X action")
    reason: str = ""


def _decide_all(
    policies: Iterable[Policy],
    action: str,
    resource: Resource,
    context: Context,
    caller: Caller | None = None,
) -> Effect | None:
    result: Effect | None = None
    for policy in policies:
        effect = policy.decide(action, resource, context, caller)
        if effect is Effect.DENY:
            return Effect.DENY
        if effect is Effect.ALLOW:
            result = Effect.ALLOW
    return result


def evaluate(
    policies: PolicySet,
    action: str,
    resource: Resource,
    context: Context,
    *,
    resource_policies: Sequence[Policy] = (),
    caller: Caller | None = None,
) -> Verdict:
    """AWS's same-account evaluation: explicit deny, then resource or identity allow,
    then the permissions boundary and session policies must allow too."""
    identity = _decide_all(policies.identity, action, resource, context)
    if identity is Effect.DENY:
        return Verdict(False, "with an explicit deny in an identity-based policy")
    by_resource = (
        _decide_all(resource_policies, action, resource, context, caller) if resource_policies else None
    )
    if by_resource is Effect.DENY:
        return Verdict(False, "with an explicit deny in a resource-based policy")
    boundary = (
        _decide_all(policies.boundary, action, resource, context)
        if policies.boundary is not None
        else Effect.ALLOW
    )
    if boundary is Effect.DENY:
        return Verdict(False, "with an explicit deny in a permissions boundary")
    session = (
        _decide_all(policies.session, action, resource, context)
        if policies.session is not None
        else Effect.ALLOW
    )
    if session is Effect.DENY:
        return Verdict(False, "with an explicit deny in a session policy")
    if by_resource is Effect.ALLOW:
        return Verdict(True)  # a same-account resource policy grant suffices
    if identity is not Effect.ALLOW:
        return Verdict(False, f"because no identity-based policy allows the {action} action")
    if boundary is not Effect.ALLOW:
        return Verdict(False, f"because no permissions boundary allows the {action} action")
    if session is not Effect.ALLOW:
        return Verdict(False, f"because no session policy allows the {action} action")
    return Verdict(True)


@lru_cache(maxsize=256)
def compile_cached(document: str, source: str) -> Policy | None:
    """``document`` compiled (remembered for the last 256 documents), None when it is invalid."""
    try:
        return compile_policy(document, source)
    except PolicyDocumentError:
        return None
