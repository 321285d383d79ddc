"""RBAC from the manifests: Roles, ClusterRoles and their bindings, enforced as Kubernetes does.

A request is described by :class:`Attributes` (verb, API group, resource, subresource,
namespace, name: what the Kubernetes authorizer sees) and made by a :class:`User`
(``system:serviceaccount:NS:NAME`` with the groups ``system:serviceaccounts``,
``system:serviceaccounts:NS`` and ``system:authenticated``). It is allowed when a rule
of a Role or ClusterRole bound to the user allows it:

* a **ClusterRoleBinding** grants its ClusterRole's rules everywhere (every namespace and
  cluster-scoped resources);
* a **RoleBinding** grants its Role's, or a ClusterRole's, rules in its own namespace only;
* a rule matches when the verb, the API group and the resource are listed (or ``*``):
  ``pods/log`` and ``deployments/scale`` name subresources, ``*`` matches every resource
  and subresource, ``*/scale`` every ``scale`` subresource; ``resourceNames`` limits a
  rule to the objects named (so never to ``list`` or ``create``).

Subjects: ``ServiceAccount`` (its namespace defaults to a RoleBinding's own), ``User``
and ``Group``. There is no deny and no default grant: what no rule allows is forbidden.
A binding may name a role that does not exist (as on Kubernetes it then grants nothing;
the runtime logs a warning).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from emulation.runtime.exceptions import ManifestError

log = logging.getLogger(__name__)

RBAC_GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = {"ServiceAccount", "User", "Group"}
AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class User:
    """Who makes a request: a name and its groups."""

    name: str
    groups: tuple[str, ...] = ()

    @classmethod
    def service_account(cls, namespace: str, name: str) -> User:
        return cls(
            f"system:serviceaccount:{namespace}:{name}",
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED),
        )


@dataclass(frozen=True)
class Attributes:
    """What a request does, as the Kubernetes authorizer sees it (namespace "" = cluster scope)."""

    verb: str
    resource: str
    api_group: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def full_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


@dataclass(frozen=True)
class Rule:
    verbs: frozenset[str]
    api_groups: frozenset[str]
    resources: frozenset[str]
    resource_names: frozenset[str] = frozenset()

    def allows(self, attrs: Attributes) -> bool:
        if "*" not in self.verbs and attrs.verb not in self.verbs:
            return False
        if "*" not in self.api_groups and attrs.api_group not in self.api_groups:
            return False
        wanted = attrs.full_resource
        if not (
            "*" in self.resources
            or wanted in self.resources
            or (attrs.subresource and f"*/{attrs.subresource}" in self.resources)
        ):
            return False
        return not self.resource_names or attrs.name in self.resource_names


@dataclass(frozen=True)
class Subject:
    kind: str
    name: str
    namespace: str = ""

    def matches(self, user: User) -> bool:
        if self.kind == "ServiceAccount":
            return user.name == f"system:serviceaccount:{self.namespace}:{self.name}"
        if self.kind == "User":
            return user.name == self.name
        return self.name in user.groups


@dataclass(frozen=True)
class Binding:
    kind: str  # RoleBinding | ClusterRoleBinding
    namespace: str  # "" for a ClusterRoleBinding
    name: str
    role_kind: str  # Role | ClusterRole
    role_name: str
    subjects: tuple[Subject, ...]
    origin: Any = None
    label: str = ""


@dataclass
class Rbac:
    """Every Role, ClusterRole and binding of the manifests."""

    roles: dict[tuple[str, str, str], tuple[Rule, ...]] = field(default_factory=dict)  # (kind, ns, name)
    bindings: list[Binding] = field(default_factory=list)

    def add(self, kind: str, namespace: str, name: str, doc: dict[str, Any], origin: Any, label: str) -> None:
        """One RBAC object (already checked against the schema); ManifestError when it is invalid."""
        if kind in {"Role", "ClusterRole"}:
            self.roles[(kind, namespace, name)] = tuple(_rules(doc, origin, label))
            return
        ref = doc["roleRef"]
        if ref["apiGroup"] != RBAC_GROUP:
            raise ManifestError(origin, "roleRef.apiGroup", f"must be {RBAC_GROUP}", label)
        allowed_kinds = {"ClusterRole"} if kind == "ClusterRoleBinding" else {"Role", "ClusterRole"}
        if ref["kind"] not in allowed_kinds:
            raise ManifestError(
                origin, "roleRef.kind", f"must be {' or '.join(sorted(allowed_kinds))} in a {kind}", label
            )
        subjects = []
        for index, raw in enumerate(doc.get("subjects") or []):
            where = f"subjects[{index}]"
            if raw["kind"] not in SUBJECT_KINDS:
                known = ", ".join(sorted(SUBJECT_KINDS))
                raise ManifestError(origin, f"{where}.kind", f"must be one of {known}", label)
            subject_ns = raw.get("namespace") or (namespace if raw["kind"] == "ServiceAccount" else "")
            if raw["kind"] == "ServiceAccount" and not subject_ns:
                raise ManifestError(origin, f"{where}.namespace", "a ServiceAccount subject needs one", label)
            subjects.append(Subject(raw["kind"], raw["name"], subject_ns))
        self.bindings.append(
            Binding(kind, namespace, name, ref["kind"], ref["name"], tuple(subjects), origin, label)
        )

    def check(self, namespaces: set[str]) -> list[ManifestError]:
        """Namespaced objects in undeclared namespaces; bindings to missing roles are logged."""
        problems = []
        for binding in self.bindings:
            if binding.namespace and binding.namespace not in namespaces:
                problems.append(
                    ManifestError(
                        binding.origin,
                        "metadata.namespace",
                        f"namespace {binding.namespace!r} is not declared",
                        binding.label,
                    )
                )
            role_ns = binding.namespace if binding.role_kind == "Role" else ""
            if (binding.role_kind, role_ns, binding.role_name) not in self.roles:
                log.warning("%s names %s %r, which is not declared: it grants nothing", binding.label,
                            binding.role_kind, binding.role_name)  # fmt: skip
        return problems

    def rules_for(self, user: User, namespace: str) -> list[Rule]:
        """Every rule that applies to ``user`` in ``namespace`` ("" = cluster scope only)."""
        rules: list[Rule] = []
        for binding in self.bindings:
            if binding.kind == "RoleBinding" and binding.namespace != namespace:
                continue
            if not any(subject.matches(user) for subject in binding.subjects):
                continue
            role_ns = binding.namespace if binding.role_kind == "Role" else ""
            rules += self.roles.get((binding.role_kind, role_ns, binding.role_name), ())
        return rules

    def allows(self, user: User, attrs: Attributes) -> bool:
        """Whether a rule bound to ``user`` allows ``attrs``."""
        for binding in self.bindings:
            if binding.kind == "RoleBinding" and binding.namespace != attrs.namespace:
                continue  # a RoleBinding grants nothing outside its namespace, nor cluster-wide
            if not any(subject.matches(user) for subject in binding.subjects):
                continue
            role_ns = binding.namespace if binding.role_kind == "Role" else ""
            rules = self.roles.get((binding.role_kind, role_ns, binding.role_name), ())
            if any(rule.allows(attrs) for rule in rules):
                return True
        return False


def _rules(doc: dict[str, Any], origin: Any, label: str) -> list[Rule]:
    rules = []
    for index, raw in enumerate(doc.get("rules") or []):
        where = f"rules[{index}]"
        if not raw.get("verbs"):
            raise ManifestError(origin, f"{where}.verbs", "must list at least one verb", label)
        if not raw.get("apiGroups"):
            raise ManifestError(
                origin, f"{where}.apiGroups", "resource rules must supply an API group", label
            )
        if not raw.get("resources"):
            raise ManifestError(origin, f"{where}.resources", "resource rules must supply a resource", label)
        rules.append(
            Rule(
                frozenset(raw["verbs"]),
                frozenset(raw["apiGroups"]),
                frozenset(raw["resources"]),
                frozenset(raw.get("resourceNames") or ()),
            )
        )
    return rules


def forbidden_message(user: User, attrs: Attributes) -> str:
    """What the Kubernetes API server says when RBAC refuses."""
    what = attrs.resource + (f".{attrs.api_group}" if attrs.api_group else "")
    if attrs.name:
        what += f' "{attrs.name}"'
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return (
        f'{what} is forbidden: User "{user.name}" cannot {attrs.verb} resource "{attrs.full_resource}" '
        f'in API group "{attrs.api_group}" {scope}'
    )
