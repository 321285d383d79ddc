"""``kubectl auth can-i`` and ``kubectl auth whoami``: access and subject reviews.

* ``SelfSubjectAccessReview`` (``authorization.k8s.io/v1``): may the caller (after
  impersonation: whom ``--as`` names) do ``spec.resourceAttributes`` (verb, group,
  resource, subresource, namespace, name) or ``spec.nonResourceAttributes`` (path, verb)?
  RBAC from the manifests answers; the runtime admin may do everything; discovery paths
  are open to every authenticated user.
* ``SelfSubjectRulesReview``: the rules that apply in ``spec.namespace`` (``can-i --list``).
* ``SelfSubjectReview`` (``authentication.k8s.io/v1``): who the caller is.
"""

from __future__ import annotations

import asyncio
import fnmatch
from typing import TYPE_CHECKING, Any

from emulation.runtime.kube import errors
from emulation.runtime.kube.http import Request
from emulation.runtime.rbac import Attributes

if TYPE_CHECKING:
    from emulation.runtime.kube.server import KubeApi, Target

DISCOVERY_PATHS = (
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/readyz",
    "/version",
    "/version/",
    "/openapi",
    "/openapi/*",
)


class Reviews:
    def __init__(self, api: KubeApi) -> None:
        self.api = api

    async def handle(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        if target.verb != "create":
            raise errors.MethodNotAllowedError(f"{target.resource.plural} can only be created")
        body = request.json()
        if not isinstance(body, dict):
            raise errors.BadRequestError("the body of the request must be a JSON object")
        kind = target.resource.kind
        spec = body.get("spec") or {}
        if kind == "SelfSubjectAccessReview":
            status = self._access(request, spec)
        elif kind == "SelfSubjectRulesReview":
            status = self._rules(request, str(spec.get("namespace") or ""))
        else:
            user = request.user
            assert user is not None
            status = {"userInfo": {"username": user.name, "groups": list(user.groups)}}
        answer = {
            "kind": kind,
            "apiVersion": target.resource.group_version,
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }
        await self.api.respond(request, writer, 201, answer)

    def _access(self, request: Request, spec: dict[str, Any]) -> dict[str, Any]:
        principal = request.principal
        assert principal is not None
        if principal.admin:
            return {"allowed": True, "reason": "the runtime admin (system:masters) may do everything"}
        resource = spec.get("resourceAttributes")
        if isinstance(resource, dict):
            attrs = Attributes(
                str(resource.get("verb") or ""),
                str(resource.get("resource") or ""),
                str(resource.get("group") or ""),
                str(resource.get("subresource") or ""),
                str(resource.get("namespace") or ""),
                str(resource.get("name") or ""),
            )
            if not attrs.verb or not attrs.resource:
                raise errors.invalid(
                    "SelfSubjectAccessReview",
                    "authorization.k8s.io",
                    "",
                    [("spec.resourceAttributes", "Required value: verb and resource")],
                )
            if self.api.cluster.manifests.rbac.allows(principal.user, attrs):
                return {"allowed": True, "reason": "RBAC: allowed by a role bound to the user"}
            return {"allowed": False}
        other = spec.get("nonResourceAttributes")
        if isinstance(other, dict):
            path, verb = str(other.get("path") or ""), str(other.get("verb") or "")
            allowed = verb == "get" and any(fnmatch.fnmatch(path, p) for p in DISCOVERY_PATHS)
            return {"allowed": allowed} | ({"reason": "system:discovery"} if allowed else {})
        raise errors.invalid(
            "SelfSubjectAccessReview",
            "authorization.k8s.io",
            "",
            [("spec", "Required value: resourceAttributes or nonResourceAttributes")],
        )

    def _rules(self, request: Request, namespace: str) -> dict[str, Any]:
        principal = request.principal
        assert principal is not None
        non_resource = [{"verbs": ["get"], "nonResourceURLs": list(DISCOVERY_PATHS)}]
        if principal.admin:
            resource_rules = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
            non_resource = [{"verbs": ["*"], "nonResourceURLs": ["*"]}]
        else:
            resource_rules = []
            for rule in self.api.cluster.manifests.rbac.rules_for(principal.user, namespace):
                entry: dict[str, Any] = {
                    "verbs": sorted(rule.verbs),
                    "apiGroups": sorted(rule.api_groups),
                    "resources": sorted(rule.resources),
                }
                if rule.resource_names:
                    entry["resourceNames"] = sorted(rule.resource_names)
                resource_rules.append(entry)
            resource_rules.append(
                {
                    "verbs": ["create"],
                    "apiGroups": ["authorization.k8s.io"],
                    "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                }
            )
        return {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}
