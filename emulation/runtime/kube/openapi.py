"""OpenAPI v3 documents, generated from the fields the runtime understands (``schema.py``).

``/openapi/v3`` lists one document per group/version (``/openapi/v3/api/v1``,
``/openapi/v3/apis/apps/v1``...). Each has a path per resource, and its PATCH operations
carry ``x-kubernetes-group-version-kind`` and the ``fieldValidation`` query parameter:
that is how kubectl 1.32 learns that the server validates fields itself, so ``kubectl
apply`` sends ``fieldValidation=Strict`` and needs no client-side schema. The component
schemas are the runtime's field trees, with the list merge keys strategic merge patch
uses, so ``kubectl explain deployment.spec.template.spec.containers`` shows exactly the
fields the runtime honours.

``/openapi/v2`` (protobuf only, for older clients) is not served: 404, which kubectl
1.32 does not need.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from emulation.runtime.kube import errors
from emulation.runtime.kube.http import Request, send_bytes
from emulation.runtime.kube.patch import MERGE_KEYS
from emulation.runtime.kube.resources import RESOURCES, Resource
from emulation.runtime.schema import KINDS, OBJECT_META, POD_SPEC, ListOf, Obj, Spec, obj

DESCRIPTIONS = {
    "Namespace": "A namespace of the runtime: a scope for names.",
    "ConfigMap": "Configuration data as key-value pairs, given to pods as environment or files.",
    "Secret": "Secret data (base64 in data, plain text in stringData), given to pods like a ConfigMap.",
    "ServiceAccount": "An identity for pods: its tokens authenticate them here and, with IRSA, to AWS.",
    "Service": "A stable local port (127.0.0.1) that balances over the ready pods it selects.",
    "Deployment": "Pods run as local processes from one template; rolling updates through ReplicaSets.",
    "ReplicaSet": "The pods of one template of a Deployment (one per revision).",
    "Pod": "One local process run from a Deployment's template, with probes, restarts and logs.",
    "Endpoints": "The ready pods of a Service, each at 127.0.0.1 and its own port.",
    "EndpointSlice": "The pods of a Service (one slice per pod: their ports differ).",
    "Event": "Something that happened to an object (scheduling, starts, probes, scaling).",
    "Node": "A virtual node (one per EKS node group): labels and taints for scheduling.",
    "Role": "Rules of what may be done in one namespace.",
    "ClusterRole": "Rules of what may be done, cluster-wide or through RoleBindings.",
    "RoleBinding": "Grants a Role or ClusterRole to subjects in one namespace.",
    "ClusterRoleBinding": "Grants a ClusterRole to subjects in every namespace.",
}
OBSERVED: dict[str, Obj] = {
    "Pod": obj(apiVersion="str", kind="str", metadata=OBJECT_META, spec=POD_SPEC, status="map"),
    "ReplicaSet": obj(
        apiVersion="str",
        kind="str",
        metadata=OBJECT_META,
        status="map",
        spec=obj(
            replicas="int", selector=obj(matchLabels="map"), template=obj(metadata=OBJECT_META, spec=POD_SPEC)
        ),
    ),
}
GENERIC = obj(apiVersion="str", kind="str", metadata=OBJECT_META)
SCALARS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer", "format": "int32"},
    "bool": {"type": "boolean"},
    "int-or-str": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
    "quantity": {"type": "string", "format": "quantity"},
    "map": {"type": "object", "additionalProperties": {"type": "string"}},
}


def to_schema(spec: Spec, path: str = "") -> dict[str, Any]:
    """An OpenAPI v3 schema for a field tree of :mod:`~emulation.runtime.schema`."""
    if isinstance(spec, Obj):
        properties = {
            name: to_schema(item, f"{path}.{name}" if path else name) for name, item in spec.fields.items()
        }
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if spec.required:
            out["required"] = sorted(spec.required)
        return out
    if isinstance(spec, ListOf):
        out = {"type": "array", "items": to_schema(spec.item, path)}
        key = MERGE_KEYS.get(path)
        if key:
            out.update(
                {
                    "x-kubernetes-patch-merge-key": key,
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": [key],
                }
            )
        return out
    return dict(SCALARS[spec])


def _schema_name(res: Resource) -> str:
    group = res.group or "core"
    return f"io.nexuskit.{group}.{res.version}.{res.kind}"


def _operation(res: Resource, action: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{_schema_name(res)}"}
    return {
        "operationId": f"{action}{res.kind}",
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": res.group, "version": res.version, "kind": res.kind},
        "parameters": parameters,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}},
    }


def _query(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}


def build_document(group: str, version: str) -> dict[str, Any]:
    members = [r for r in RESOURCES if r.group == group and r.version == version and r.singular]
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    for res in members:
        tree: Obj = KINDS[res.kind][1] if res.kind in KINDS else OBSERVED.get(res.kind, GENERIC)
        schema = to_schema(tree)
        schema["description"] = DESCRIPTIONS.get(res.kind, res.kind)
        schema["x-kubernetes-group-version-kind"] = [
            {"group": res.group, "version": res.version, "kind": res.kind}
        ]
        schemas[_schema_name(res)] = schema
        base = (
            f"{prefix}/namespaces/{{namespace}}/{res.plural}" if res.namespaced else f"{prefix}/{res.plural}"
        )
        item: dict[str, Any] = {"get": _operation(res, "get", [])}
        collection: dict[str, Any] = {"get": _operation(res, "list", [_query("labelSelector")])}
        if "patch" in res.verbs:
            params = [_query("fieldValidation"), _query("fieldManager"), _query("dryRun")]
            item["patch"] = _operation(res, "patch", params)
            item["put"] = _operation(res, "put", params)
            collection["post"] = _operation(res, "post", params)
        if "delete" in res.verbs:
            item["delete"] = _operation(res, "delete", [])
        paths[f"{base}/{{name}}"] = item
        paths[base] = collection
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (nexuskit process runtime)", "version": "v1.32.0-nexuskit"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


class OpenApi:
    """``/openapi/v3`` and its per group/version documents (built on first use)."""

    def __init__(self) -> None:
        self._docs: dict[str, bytes] = {}
        for group, version in sorted({(r.group, r.version) for r in RESOURCES}):
            key = f"apis/{group}/{version}" if group else f"api/{version}"
            self._docs[key] = json.dumps(build_document(group, version), separators=(",", ":")).encode()
        self._root = json.dumps(
            {
                "paths": {
                    key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={_digest(body).upper()}"}
                    for key, body in self._docs.items()
                }
            }
        ).encode()

    async def handle(self, request: Request, writer: asyncio.StreamWriter) -> None:
        path = request.path
        if path == "/openapi/v3":
            await send_bytes(writer, 200, self._root)
            return
        body = self._docs.get(path.removeprefix("/openapi/v3/"))
        if body is None:
            raise errors.NotFoundError("the server could not find the requested resource")
        headers = {"Cache-Control": "public, immutable", "Etag": f'"{hashlib.sha256(body).hexdigest()[:32]}"'}
        await send_bytes(writer, 200, body, "application/json", headers)
