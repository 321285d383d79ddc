"""The resources the API serves, and the discovery documents built from them.

One table (:data:`RESOURCES`) says, per resource: its group/version, kind, scope, verbs,
short names and subresources, and whether it is **stored** (a manifest kind: written
through the API and validated with the manifests) or **observed** (pods, ReplicaSets,
endpoints, events and nodes: what the runtime makes; read-only, pods may be deleted).

Discovery, as kubectl 1.32 asks for it: ``/api`` and ``/apis`` answer the aggregated
document (``apidiscovery.k8s.io/v2`` ``APIGroupDiscoveryList``) when the ``Accept``
header asks for it, else the legacy ``APIVersions``/``APIGroupList``; ``/api/v1`` and
``/apis/GROUP/VERSION`` answer the legacy ``APIResourceList``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

READ = ("get", "list", "watch")
WRITE = ("create", "delete", "get", "list", "patch", "update", "watch")
REVIEW = ("create",)
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-nexuskit",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}


@dataclass(frozen=True)
class Subresource:
    name: str
    verbs: tuple[str, ...]
    kind: tuple[str, str, str] | None = None  # (group, version, kind) when not the parent's


@dataclass(frozen=True)
class Resource:
    plural: str
    singular: str
    kind: str
    group: str
    version: str
    namespaced: bool
    verbs: tuple[str, ...]
    short: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    stored: bool = False  # a manifest kind, written through the documents

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def id(self) -> str:
        """``apps/deployments``, ``pods`` (the key of the object store)."""
        return f"{self.group}/{self.plural}" if self.group else self.plural

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)


RBAC = "rbac.authorization.k8s.io"
RESOURCES: tuple[Resource, ...] = (
    Resource("namespaces", "namespace", "Namespace", "", "v1", False, WRITE, ("ns",), stored=True),
    Resource(
        "pods",
        "pod",
        "Pod",
        "",
        "v1",
        True,
        ("delete", "get", "list", "watch"),
        ("po",),
        ("all",),
        (Subresource("log", ("get",)), Subresource("status", ("get",))),
    ),
    Resource("services", "service", "Service", "", "v1", True, WRITE, ("svc",), ("all",), stored=True),
    Resource("endpoints", "endpoints", "Endpoints", "", "v1", True, READ, ("ep",)),
    Resource("configmaps", "configmap", "ConfigMap", "", "v1", True, WRITE, ("cm",), stored=True),
    Resource("secrets", "secret", "Secret", "", "v1", True, WRITE, stored=True),
    Resource(
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        "",
        "v1",
        True,
        WRITE,
        ("sa",),
        subresources=(Subresource("token", ("create",), ("authentication.k8s.io", "v1", "TokenRequest")),),
        stored=True,
    ),
    Resource("events", "event", "Event", "", "v1", True, READ, ("ev",)),
    Resource("nodes", "node", "Node", "", "v1", False, READ, ("no",)),
    Resource(
        "deployments",
        "deployment",
        "Deployment",
        "apps",
        "v1",
        True,
        WRITE,
        ("deploy",),
        ("all",),
        (
            Subresource("scale", ("get", "patch", "update"), ("autoscaling", "v1", "Scale")),
            Subresource("status", ("get", "patch", "update")),
        ),
        stored=True,
    ),
    Resource("replicasets", "replicaset", "ReplicaSet", "apps", "v1", True, READ, ("rs",), ("all",)),
    Resource("endpointslices", "endpointslice", "EndpointSlice", "discovery.k8s.io", "v1", True, READ),
    Resource("roles", "role", "Role", RBAC, "v1", True, WRITE, stored=True),
    Resource("clusterroles", "clusterrole", "ClusterRole", RBAC, "v1", False, WRITE, stored=True),
    Resource("rolebindings", "rolebinding", "RoleBinding", RBAC, "v1", True, WRITE, stored=True),
    Resource(
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        RBAC,
        "v1",
        False,
        WRITE,
        stored=True,
    ),
    Resource(
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        "SelfSubjectAccessReview",
        "authorization.k8s.io",
        "v1",
        False,
        REVIEW,
    ),
    Resource(
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        "SelfSubjectRulesReview",
        "authorization.k8s.io",
        "v1",
        False,
        REVIEW,
    ),
    Resource(
        "selfsubjectreviews",
        "selfsubjectreview",
        "SelfSubjectReview",
        "authentication.k8s.io",
        "v1",
        False,
        REVIEW,
    ),
)

BY_PATH: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND: dict[str, Resource] = {r.kind: r for r in RESOURCES}
GROUP_ORDER = ("", "apps", "discovery.k8s.io", RBAC, "authorization.k8s.io", "authentication.k8s.io")


@dataclass
class Discovery:
    """The discovery documents (built once: the table does not change)."""

    address: str  # host:port, for serverAddressByClientCIDRs
    _cache: dict[str, Any] = field(default_factory=dict)

    def api_versions(self) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": self.address}],
        }

    def api_groups(self) -> dict[str, Any]:
        groups = []
        for group in GROUP_ORDER[1:]:
            gv = {"groupVersion": f"{group}/v1", "version": "v1"}
            groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        members = [r for r in RESOURCES if r.group == group and r.version == version]
        if not members:
            return None
        resources: list[dict[str, Any]] = []
        for res in members:
            entry: dict[str, Any] = {
                "name": res.plural,
                "singularName": res.singular,
                "namespaced": res.namespaced,
                "kind": res.kind,
                "verbs": list(res.verbs),
            }
            if res.short:
                entry["shortNames"] = list(res.short)
            if res.categories:
                entry["categories"] = list(res.categories)
            resources.append(entry)
            for sub in res.subresources:
                item: dict[str, Any] = {
                    "name": f"{res.plural}/{sub.name}",
                    "singularName": "",
                    "namespaced": res.namespaced,
                    "kind": sub.kind[2] if sub.kind else res.kind,
                    "verbs": list(sub.verbs),
                }
                if sub.kind:
                    item["group"], item["version"] = sub.kind[0], sub.kind[1]
                resources.append(item)
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def aggregated(self, legacy: bool) -> dict[str, Any]:
        """``/api`` (legacy: the core group) or ``/apis`` as an ``APIGroupDiscoveryList``."""
        key = "api" if legacy else "apis"
        if key not in self._cache:
            groups = [""] if legacy else list(GROUP_ORDER[1:])
            items = [self._group(group) for group in groups]
            self._cache[key] = {
                "kind": "APIGroupDiscoveryList",
                "apiVersion": "apidiscovery.k8s.io/v2",
                "metadata": {},
                "items": items,
            }
        return dict(self._cache[key])

    @staticmethod
    def _group(group: str) -> dict[str, Any]:
        resources = []
        for res in (r for r in RESOURCES if r.group == group):
            entry: dict[str, Any] = {
                "resource": res.plural,
                "responseKind": {"group": res.group, "version": res.version, "kind": res.kind},
                "scope": "Namespaced" if res.namespaced else "Cluster",
                "singularResource": res.singular,
                "verbs": list(res.verbs),
            }
            if res.short:
                entry["shortNames"] = list(res.short)
            if res.categories:
                entry["categories"] = list(res.categories)
            if res.subresources:
                entry["subresources"] = [
                    {
                        "subresource": sub.name,
                        "responseKind": dict(
                            zip(
                                ("group", "version", "kind"),
                                sub.kind or (res.group, res.version, res.kind),
                                strict=True,
                            )
                        ),
                        "verbs": list(sub.verbs),
                    }
                    for sub in res.subresources
                ]
            resources.append(entry)
        return {
            "metadata": {"name": group},
            "versions": [{"version": "v1", "resources": resources, "freshness": "Current"}],
        }
