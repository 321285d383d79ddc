"""Writes: create, update, patch, delete of the manifest kinds; delete of pods; scale; TokenRequest.

A write becomes a new version of one manifest document (what ``kubectl apply -f`` of that
object would have put in the manifests folder) and goes through
:meth:`~emulation.runtime.controller.Cluster.commit`: validated with every other object
as a set, by the same rules as the manifests (fields, names, references, the runtime's
annotations), and run whole or not at all. So bad input is the API server's answer and
changes nothing:

* a body of another kind or apiVersion, a name or namespace other than the URL's: 400;
* fields the runtime does not know: 400 ``strict decoding error`` with
  ``fieldValidation=Strict`` (what kubectl sends), dropped with ``Ignore``, and otherwise
  a 422 like any invalid field (the runtime cannot honour them, so it does not drop them
  behind the client's back);
* an invalid object (a missing field, a wrong type, an invalid name, an immutable field
  changed, a reference to nothing): 422 ``Invalid`` with one ``details.causes`` entry
  per problem;
* an update or patch that carries a ``resourceVersion`` other than the live one: 409;
* create of an existing object: 409 ``AlreadyExists``; a missing one: 404.

Server-owned parts of an object (uid, resourceVersion, generation, creationTimestamp,
``status``, a Service's cluster IP, the runtime's ``nexuskit.dev/local-*`` annotations)
are taken from the server, never from the body. ``dryRun=All`` validates and stops.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
from typing import TYPE_CHECKING, Any

from emulation.runtime.exceptions import ManifestError, ObjectNotFoundError, ProcessRuntimeError
from emulation.runtime.kube import errors
from emulation.runtime.kube.http import Request
from emulation.runtime.kube.objects import SERVER_ANNOTATIONS, SYSTEM_METADATA, cluster_ip
from emulation.runtime.kube.patch import PatchError, json_patch, merge_patch, strategic_merge, three_way
from emulation.runtime.kube.validation import prune_unknown
from emulation.runtime.kube.workloads import scale_object
from emulation.runtime.manifests import BUILTIN_NAMESPACES, DocKey, parse_documents
from emulation.runtime.schema import KINDS
from emulation.runtime.tokenrequest import create_token

if TYPE_CHECKING:
    from emulation.runtime.kube.resources import Resource
    from emulation.runtime.kube.server import KubeApi, Target

PATCH_TYPES = {
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
}
INITIAL_MANAGER = "nexuskit"  # the manifests the runtime starts with count as applied by nexuskit


class Writes:
    def __init__(self, api: KubeApi) -> None:
        self.api = api
        self.cluster = api.cluster
        self.store = api.store
        #: (field manager, document) -> the configuration it applied last (server-side apply)
        self.applied: dict[tuple[str, DocKey], dict[str, Any]] = {
            (INITIAL_MANAGER, key): copy.deepcopy(doc)
            for key, doc in self.cluster.manifests.documents.items()
        }
        self.store.snapshot.managers = self.managers

    def managers(self, key: DocKey) -> list[str]:
        return sorted(manager for manager, doc_key in self.applied if doc_key == key)

    async def handle(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        res = target.resource
        if res.plural == "pods" and target.verb == "delete":
            await self._delete_pod(request, writer, target)
        elif target.sub == "scale":
            await self._scale(request, writer, target)
        elif target.sub == "status":
            await self.api.respond(request, writer, 200, self.api.reads.get(target))
        elif target.sub == "token":
            await self._token(request, writer, target)
        elif not res.stored or target.verb == "deletecollection" or target.sub:
            raise errors.MethodNotAllowedError(
                "the server does not allow this method on the requested resource"
            )
        elif target.verb == "create":
            await self._create(request, writer, target)
        elif target.verb == "update":
            await self._update(request, writer, target)
        elif target.verb == "patch":
            await self._patch(request, writer, target)
        else:
            await self._delete(request, writer, target)

    # -- documents --------------------------------------------------------------------------
    def _key(self, res: Resource, namespace: str, name: str) -> DocKey:
        return (res.kind, namespace if res.namespaced else "", name)

    def _current(self, res: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        return self.store.get(res.id, namespace if res.namespaced else "", name)

    def prepare(
        self,
        request: Request,
        res: Resource,
        body: Any,
        namespace: str,
        url_name: str,
        current: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """The manifest document for ``body`` (server fields dropped), checked as the API server does."""
        if not isinstance(body, dict):
            raise errors.BadRequestError("the body of the request must be a JSON object")
        if body.get("kind") not in (None, res.kind):
            raise errors.BadRequestError(
                f"the kind in the data ({body.get('kind')}) does not match {res.kind}"
            )
        if body.get("apiVersion") not in (None, res.group_version):
            raise errors.BadRequestError(
                f"the API version in the data ({body.get('apiVersion')}) does not match the expected "
                f"API version ({res.group_version})"
            )
        doc: dict[str, Any] = _without_nulls(body)
        doc["apiVersion"], doc["kind"] = res.group_version, res.kind
        meta = doc.get("metadata")
        if not isinstance(meta, dict):
            meta = doc["metadata"] = {}
        if not meta.get("name") and meta.get("generateName") and not url_name:
            meta["name"] = f"{meta['generateName']}{secrets.token_hex(3)[:5]}"
        if url_name and meta.get("name") not in (None, url_name):
            raise errors.BadRequestError(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({url_name})"
            )
        meta["name"] = meta.get("name") or url_name
        if res.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise errors.BadRequestError(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        for key in SYSTEM_METADATA:
            meta.pop(key, None)
        for field in ("labels", "annotations"):
            if meta.get(field) is None:
                meta.pop(field, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            for key in SERVER_ANNOTATIONS & set(annotations):
                del annotations[key]
        doc.pop("status", None)
        self._kind_rules(res, doc, current)
        self._unknown_fields(request, doc)
        return doc

    def _kind_rules(self, res: Resource, doc: dict[str, Any], current: dict[str, Any] | None) -> None:
        name = doc["metadata"]["name"]
        immutable: list[tuple[str, str]] = []
        if res.kind == "Namespace":
            doc.pop("spec", None)
        elif res.kind == "Service" and isinstance(doc.get("spec"), dict):
            spec = doc["spec"]
            ip = cluster_ip(doc["metadata"].get("namespace", ""), name)
            given = spec.pop("clusterIP", None)
            if given not in (None, "", ip):
                immutable.append(("spec.clusterIP", f"Invalid value: {given!r}: field is immutable"))
            for field in ("clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy"):
                spec.pop(field, None)
            if spec.get("sessionAffinity") == "None":
                spec.pop("sessionAffinity")
        if current is not None:
            if res.kind == "Deployment":
                before = ((current.get("spec") or {}).get("selector")) or {}
                after = ((doc.get("spec") or {}).get("selector")) or {}
                if before != after:
                    immutable.append(("spec.selector", f"Invalid value: {after!r}: field is immutable"))
            if res.kind in {"ConfigMap", "Secret"} and current.get("immutable"):
                for field in ("data", "stringData", "binaryData"):
                    if field in doc and doc.get(field) != current.get(field):
                        immutable.append((field, "Forbidden: field is immutable when `immutable` is set"))
            if res.kind == "Secret" and doc.get("type", "Opaque") != current.get("type", "Opaque"):
                immutable.append(("type", f"Invalid value: {doc.get('type')!r}: field is immutable"))
        if immutable:
            raise errors.invalid(res.kind, res.group, name, immutable)

    def _unknown_fields(self, request: Request, doc: dict[str, Any]) -> None:
        """``Ignore``: drop them; ``Strict``: 400; otherwise they fail validation (422).

        The runtime cannot honour a field it does not know (the manifests refuse them too),
        so ``Warn`` refuses them rather than dropping them behind the client's back.
        """
        mode = request.query.get("fieldValidation", "Warn")
        if mode not in {"Ignore", "Strict"}:
            return
        unknown = prune_unknown(doc, KINDS[doc["kind"]][1])
        if unknown and mode == "Strict":
            texts = ", ".join(f'unknown field "{path}"' for path in unknown)
            raise errors.BadRequestError(f"strict decoding error: {texts}")

    async def commit(
        self, request: Request, res: Resource, name: str, changes: dict[DocKey, dict[str, Any] | None]
    ) -> None:
        dry_run = request.query.get("dryRun") == "All"
        try:
            if dry_run:
                documents = {**self.cluster.manifests.documents, **changes}
                items = [
                    (self.cluster.manifests.origins.get(k, None) or _origin(), d)
                    for k, d in documents.items()
                    if d is not None
                ]
                parse_documents(self.cluster.manifests.root, items, self.cluster.settings.min_token_seconds)
            else:
                self.cluster.commit(changes)
        except ManifestError as exc:
            raise errors.invalid(res.kind, res.group, name, _causes(exc, res.kind, name)) from None
        if not dry_run:
            await self.cluster.settled()
            self.store.sync()

    def _served(self, res: Resource, namespace: str, name: str) -> dict[str, Any]:
        obj = self._current(res, namespace, name)
        if obj is None:
            raise errors.not_found(res.plural, res.group, name)
        return obj

    def _check_namespace(self, res: Resource, namespace: str) -> None:
        if res.namespaced and self.store.get("namespaces", "", namespace) is None:
            raise errors.not_found("namespaces", "", namespace)

    # -- verbs ------------------------------------------------------------------------------
    async def _create(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        res = target.resource
        self._check_namespace(res, target.namespace)
        doc = self.prepare(request, res, request.json(), target.namespace, "", None)
        name = doc["metadata"]["name"]
        if self._current(res, target.namespace, name) is not None:
            raise errors.already_exists(res.plural, res.group, name)
        await self.commit(request, res, name, {self._key(res, target.namespace, name): doc})
        await self.api.respond(request, writer, 201, self._result(request, res, target.namespace, name, doc))

    async def _update(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        res = target.resource
        current = self._served(res, target.namespace, target.name)
        body = request.json()
        self._check_version(res, target.name, body, current)
        doc = self.prepare(request, res, body, target.namespace, target.name, current)
        await self.commit(request, res, target.name, {self._key(res, target.namespace, target.name): doc})
        await self.api.respond(
            request, writer, 200, self._result(request, res, target.namespace, target.name, doc)
        )

    async def _patch(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        res = target.resource
        media = request.media_type
        if media not in PATCH_TYPES:
            raise errors.UnsupportedMediaTypeError(f"the media type {media!r} is not a patch type")
        body = request.json()
        key = self._key(res, target.namespace, target.name)
        current = self._current(res, target.namespace, target.name)
        if media == "application/apply-patch+yaml":
            manager = request.query.get("fieldManager")
            if not manager:
                raise errors.BadRequestError(
                    "PATCH, application/apply-patch+yaml requires fieldManager parameter"
                )
            if current is None:
                self._check_namespace(res, target.namespace)
            new = self.prepare(request, res, body, target.namespace, target.name, None)
            live = self.cluster.manifests.documents.get(key, {})
            doc = three_way(live, self.applied.get((manager, key), {}), new) if current is not None else new
            doc = self.prepare(request, res, doc, target.namespace, target.name, current)
            await self.commit(request, res, target.name, {key: doc})
            if request.query.get("dryRun") != "All":
                self.applied[(manager, key)] = new
            code = 200 if current is not None else 201
            await self.api.respond(
                request, writer, code, self._result(request, res, target.namespace, target.name, doc)
            )
            return
        if current is None:
            raise errors.not_found(res.plural, res.group, target.name)
        patched = self._apply_patch(media, current, body, res, target.name)
        self._check_version(res, target.name, patched, current)
        doc = self.prepare(request, res, patched, target.namespace, target.name, current)
        await self.commit(request, res, target.name, {key: doc})
        await self.api.respond(
            request, writer, 200, self._result(request, res, target.namespace, target.name, doc)
        )

    @staticmethod
    def _apply_patch(media: str, current: dict[str, Any], body: Any, res: Resource, name: str) -> Any:
        try:
            if media == "application/json-patch+json":
                return json_patch(current, body)
            if not isinstance(body, dict):
                raise PatchError("a merge patch must be a JSON object")
            if media == "application/merge-patch+json":
                return merge_patch(copy.deepcopy(current), body)
            return strategic_merge(copy.deepcopy(current), body)
        except PatchError as exc:
            raise errors.invalid(res.kind, res.group, name, [("", str(exc))]) from None

    @staticmethod
    def _check_version(res: Resource, name: str, body: Any, current: dict[str, Any]) -> None:
        wanted = (
            ((body or {}).get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
        )
        if wanted and wanted != current["metadata"].get("resourceVersion"):
            raise errors.conflict(res.plural, res.group, name)

    async def _delete(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        res = target.resource
        current = self._served(res, target.namespace, target.name)
        if res.kind == "Namespace" and target.name in BUILTIN_NAMESPACES:
            raise errors.ForbiddenError(
                f'namespaces "{target.name}" is forbidden: this namespace may not be deleted'
            )
        changes: dict[DocKey, dict[str, Any] | None] = {self._key(res, target.namespace, target.name): None}
        if res.kind == "Namespace":
            changes |= {k: None for k in self.cluster.manifests.documents if k[1] == target.name}
        if self._key(res, target.namespace, target.name) not in self.cluster.manifests.documents:
            raise errors.MethodNotAllowedError(
                f"{res.plural} {target.name!r} is built in and cannot be deleted"
            )
        await self.commit(request, res, target.name, changes)
        for key in list(self.applied):
            if key[1] in changes:
                del self.applied[key]
        meta = current["metadata"]
        await self.api.respond(
            request,
            writer,
            200,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {
                    "name": target.name,
                    "group": res.group,
                    "kind": res.plural,
                    "uid": meta.get("uid"),
                },
            },
        )

    def _result(self, request: Request, res: Resource, namespace: str, name: str, doc: dict[str, Any]) -> Any:
        if request.query.get("dryRun") == "All":
            return doc
        return self._served(res, namespace, name)

    # -- pods, scale, tokens ----------------------------------------------------------------
    async def _delete_pod(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        body = request.json() if request.body else {}
        grace = request.int_param("gracePeriodSeconds")
        if grace is None and isinstance(body, dict) and isinstance(body.get("gracePeriodSeconds"), int):
            grace = body["gracePeriodSeconds"]
        try:
            self.cluster.delete_pod(target.namespace, target.name, None if grace is None else float(grace))
        except ObjectNotFoundError:
            raise errors.not_found("pods", "", target.name) from None
        self.store.sync()
        await self.api.respond(
            request, writer, 200, self._served(target.resource, target.namespace, target.name)
        )

    async def _scale(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        res = target.resource
        deployment = self._served(res, target.namespace, target.name)
        current = scale_object(deployment)
        body = request.json()
        if target.verb == "patch":
            media = request.media_type
            if media not in PATCH_TYPES - {"application/apply-patch+yaml"}:
                raise errors.UnsupportedMediaTypeError(f"the media type {media!r} is not a patch type here")
            body = self._apply_patch(media, current, body, res, target.name)
        self._check_version(res, target.name, body, deployment)
        replicas = ((body or {}).get("spec") or {}).get("replicas") if isinstance(body, dict) else None
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.invalid(
                "Scale",
                "autoscaling",
                target.name,
                [("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0")],
            )
        if request.query.get("dryRun") != "All":
            try:
                self.cluster.scale(target.namespace, target.name, replicas)
            except ManifestError as exc:
                raise errors.invalid(
                    "Scale", "autoscaling", target.name, _causes(exc, "Deployment", target.name)
                ) from None
            self.store.sync()
        await self.api.respond(
            request, writer, 200, scale_object(self._served(res, target.namespace, target.name))
        )

    async def _token(self, request: Request, writer: asyncio.StreamWriter, target: Target) -> None:
        try:
            answer = create_token(
                self.cluster.manifests,
                self.cluster.issuer,
                target.namespace,
                target.name,
                request.json() or {},
            )
        except ObjectNotFoundError:
            raise errors.not_found("serviceaccounts", "", target.name) from None
        except ProcessRuntimeError as exc:
            if exc.status == 400:
                raise errors.BadRequestError(exc.message) from None
            raise errors.invalid(
                "TokenRequest", "authentication.k8s.io", target.name, [("", exc.message)]
            ) from None
        await self.api.respond(request, writer, 201, answer)


def _without_nulls(value: Any) -> Any:
    """A copy without ``null`` values (in a whole object, null means unset)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _origin() -> Any:
    from emulation.runtime.controller import API_ORIGIN

    return API_ORIGIN


def _causes(exc: ManifestError, kind: str, name: str) -> list[tuple[str, str]]:
    """The problems of a refused change; those of another object name it."""
    mine = exc.label.startswith(f"{kind} ") and exc.label.endswith((f"/{name}", f" {name}"))
    causes = exc.causes
    if exc.label and not mine:
        causes = [(field, f"{problem} ({exc.label})") for field, problem in causes]
    return causes
