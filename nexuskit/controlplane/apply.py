"""Apply a folder of rendered manifests to the running cluster: server-side apply, then prune.

What a second ``nexuskit up`` does to a runtime that already runs (and what works the
same against kind): every document of ``**/k8s/*.yaml`` is applied with the field manager
``nexuskit`` (``PATCH`` ``application/apply-patch+yaml``, ``force``), namespaces first,
Deployments last, so references exist before what uses them. A field the manifest did
not change keeps its live value (a ``kubectl scale`` since survives); a field the
manifest dropped is removed. Objects nexuskit applied before that the folder no longer
has are deleted (Deployments first; namespaces are kept). Each object is accepted whole
or refused with the API server's message.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneError
from nexuskit.controlplane.kube import api_client, call
from nexuskit.errors import ConfigError

log = logging.getLogger(__name__)

MANAGER = "nexuskit"
GLOB = "**/k8s/*.yaml"
#: kind -> (API class, singular name in the method names, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("CoreV1Api", "namespace", False),
    "ServiceAccount": ("CoreV1Api", "service_account", True),
    "ClusterRole": ("RbacAuthorizationV1Api", "cluster_role", False),
    "ClusterRoleBinding": ("RbacAuthorizationV1Api", "cluster_role_binding", False),
    "Role": ("RbacAuthorizationV1Api", "role", True),
    "RoleBinding": ("RbacAuthorizationV1Api", "role_binding", True),
    "ConfigMap": ("CoreV1Api", "config_map", True),
    "Secret": ("CoreV1Api", "secret", True),
    "Service": ("CoreV1Api", "service", True),
    "Deployment": ("AppsV1Api", "deployment", True),
}


def read_documents(folder: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(folder.glob(GLOB)):
        try:
            found = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        for doc in found:
            if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
                raise ConfigError(
                    f"{path}: unsupported kind {doc.get('kind') if isinstance(doc, dict) else doc!r}"
                )
            docs.append(doc)
    order = list(KINDS)
    return sorted(docs, key=lambda d: order.index(d["kind"]))


def _api(settings: KitSettings, kind: str) -> Any:
    from kubernetes import client

    return getattr(client, KINDS[kind][0])(api_client(settings))


def _method(kind: str, verb: str) -> str:
    _, singular, namespaced = KINDS[kind]
    if verb == "list":
        return f"list_{singular}_for_all_namespaces" if namespaced else f"list_{singular}"
    return f"{verb}_namespaced_{singular}" if namespaced else f"{verb}_{singular}"


def _key(doc: dict[str, Any]) -> tuple[str, str, str]:
    meta = doc.get("metadata") or {}
    namespace = meta.get("namespace", "") if KINDS[doc["kind"]][2] else ""
    return doc["kind"], namespace, meta.get("name", "")


def apply_manifests(settings: KitSettings, folder: Path, prune: bool = True) -> dict[str, Any]:
    """Server-side apply every document of ``folder``; delete what nexuskit applied and no longer has."""
    docs = read_documents(folder)
    applied = []
    for doc in docs:
        kind, namespace, name = _key(doc)
        api = _api(settings, kind)
        args = [name, namespace] if namespace else [name]
        call(
            f"apply {kind} {namespace + '/' if namespace else ''}{name}",
            getattr(api, _method(kind, "patch")),
            *args,
            doc,
            field_manager=MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
            _preload_content=False,
        )
        applied.append((kind, namespace, name))
    pruned = prune_missing(settings, set(applied)) if prune else []
    return {"applied": len(applied), "pruned": [f"{k}/{ns + '/' if ns else ''}{n}" for k, ns, n in pruned]}


def prune_missing(settings: KitSettings, keep: set[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    import json

    gone = []
    for kind in reversed([k for k in KINDS if k != "Namespace"]):
        api = _api(settings, kind)
        body = json.loads(
            call(f"list {kind}", getattr(api, _method(kind, "list")), _preload_content=False).data
        )
        for item in body.get("items", []):
            meta = item["metadata"]
            managers = {m.get("manager") for m in meta.get("managedFields") or []}
            key = (kind, meta.get("namespace", "") if KINDS[kind][2] else "", meta["name"])
            if MANAGER not in managers or key in keep:
                continue
            args = [key[2], key[1]] if key[1] else [key[2]]
            try:
                call(f"delete {kind} {key[2]}", getattr(api, _method(kind, "delete")), *args)
            except ControlPlaneError as exc:
                log.warning("cannot prune %s: %s", key, exc)
                continue
            gone.append(key)
    return gone
