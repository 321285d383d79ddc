"""The four ways to change an object in place: JSON merge, JSON patch, strategic merge, apply.

``application/merge-patch+json`` (RFC 7386): objects merge, ``null`` deletes, anything
else replaces. ``application/json-patch+json`` (RFC 6902): ``add``, ``remove``,
``replace``, ``move``, ``copy``, ``test`` at JSON pointers (``kubectl rollout undo`` uses
it). ``application/strategic-merge-patch+json``: like a merge patch, but lists of named
things merge by their key (:data:`MERGE_KEYS`: containers by ``name``, ports by
``containerPort``, volumes by ``name``...), with the directives kubectl sends:
``$patch: replace|delete``, ``$setElementOrder/<list>``, ``$retainKeys`` and
``$deleteFromPrimitiveList/<list>``. Other lists are replaced whole.

Apply (``application/apply-patch+yaml``, :func:`three_way`): the applied configuration
against the one the same field manager applied last and the live object, as kubectl's
client-side apply computes it: fields the manager dropped are removed, fields it changed
are set, fields it left as they were keep their live value (so a ``kubectl scale`` made
since survives a re-apply of an unchanged manifest).

Every function returns a new object and raises :class:`PatchError` for a patch that
cannot apply.
"""

from __future__ import annotations

import copy
from typing import Any

#: dotted paths (no indices) of lists that merge by a key, and the key
MERGE_KEYS = {
    "metadata.ownerReferences": "uid",
    "spec.ports": "port",
    "spec.containers": "name",
    "spec.initContainers": "name",
    "spec.volumes": "name",
    "spec.imagePullSecrets": "name",
    "spec.containers.env": "name",
    "spec.containers.ports": "containerPort",
    "spec.containers.volumeMounts": "mountPath",
    "spec.initContainers.env": "name",
    "spec.initContainers.ports": "containerPort",
    "spec.initContainers.volumeMounts": "mountPath",
}
MERGE_KEYS |= {
    f"spec.template.{k}": v for k, v in MERGE_KEYS.items() if k.startswith("spec.") and k != "spec.ports"
}
PRIMITIVE_MERGE = {"metadata.finalizers"}
_MISSING = object()


class PatchError(ValueError):
    """A patch that does not apply (the message says where and why)."""


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# -- JSON merge patch ------------------------------------------------------------------------
def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# -- JSON patch ------------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"the path {path!r} does not exist")
    return node


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, path), parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise PatchError(f"the path {path!r} does not exist")


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent, last = _parent(doc, parts, path), parts[-1] if parts else ""
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise PatchError(f"the path {path!r} does not exist")


def _add(doc: Any, path: str, value: Any, replace: bool) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, path), parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"the path {path!r} does not exist")
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and not replace:
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent) - (1 if replace else 0):
            if replace:
                parent[int(last)] = value
            else:
                parent.insert(int(last), value)
        else:
            raise PatchError(f"the index in {path!r} is out of range")
    else:
        raise PatchError(f"the path {path!r} does not exist")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("a JSON patch is a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"not a JSON patch operation: {op!r}")
        kind, path = op["op"], op["path"]
        if kind in {"add", "replace"}:
            if "value" not in op:
                raise PatchError(f"{kind} at {path!r} has no value")
            doc = _add(doc, path, copy.deepcopy(op["value"]), kind == "replace")
        elif kind == "remove":
            _remove(doc, path)
        elif kind in {"move", "copy"}:
            value = _get(doc, op.get("from", ""))
            if kind == "move":
                _remove(doc, op["from"])
            doc = _add(doc, path, copy.deepcopy(value), replace=False)
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError(f"testing value {path!r} failed")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


# -- strategic merge patch -------------------------------------------------------------------
def _strip(value: Any) -> Any:
    """A patch value without directives (what lands in the object)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value if not (isinstance(v, dict) and "$patch" in v)]
    return value


def strategic_merge(target: Any, patch: Any, path: str = "") -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return _strip(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        here = _join(path, key)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                out.pop(key, None)
            else:
                out[key] = strategic_merge(out.get(key), value, here)
        elif isinstance(value, list):
            out[key] = _merge_list(out.get(key), value, here)
        else:
            out[key] = value
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            out[name] = [v for v in out.get(name) or [] if v not in value]
    for key, order in patch.items():
        if key.startswith("$setElementOrder/"):
            name = key.split("/", 1)[1]
            out[name] = _ordered(out.get(name) or [], order, MERGE_KEYS.get(_join(path, name)))
    if isinstance(patch.get("$retainKeys"), list):
        keep = set(patch["$retainKeys"])
        out = {k: v for k, v in out.items() if k in keep}
    return out


def _merge_list(current: Any, items: list[Any], path: str) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in items):
        return _strip(items)  # type: ignore[no-any-return]
    key = MERGE_KEYS.get(path)
    if path in PRIMITIVE_MERGE and isinstance(current, list):
        return current + [v for v in items if v not in current]
    if key is None or not isinstance(current, list):
        return _strip(items)  # type: ignore[no-any-return]
    result = list(current)
    for item in items:
        if not isinstance(item, dict) or key not in item:
            raise PatchError(f"{path}: every item of the patch needs its merge key {key!r}")
        index = next(
            (i for i, c in enumerate(result) if isinstance(c, dict) and c.get(key) == item[key]), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append(strategic_merge({}, item, path))
        else:
            result[index] = strategic_merge(result[index], item, path)
    return result


def _ordered(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    def ident(value: Any) -> Any:
        return value.get(key) if key and isinstance(value, dict) else value

    wanted = [ident(o) for o in order]
    placed = sorted(
        (i for i in items if ident(i) in wanted),
        key=lambda i: wanted.index(ident(i)),
    )
    return placed + [i for i in items if ident(i) not in wanted]


# -- apply: three-way merge ------------------------------------------------------------------
def three_way(live: Any, last: Any, new: Any, path: str = "") -> Any:
    """``new`` applied over ``live``, given what the same manager applied ``last``."""
    if not isinstance(new, dict) or not isinstance(live, dict):
        return copy.deepcopy(new)
    last = last if isinstance(last, dict) else {}
    out = dict(live)
    for key in last:
        if key not in new:
            out.pop(key, None)
    for key, value in new.items():
        here = _join(path, key)
        before, current = last.get(key, _MISSING), live.get(key, _MISSING)
        if isinstance(value, dict) and isinstance(current, dict):
            out[key] = three_way(current, before, value, here)
        elif isinstance(value, list) and isinstance(current, list) and here in MERGE_KEYS:
            out[key] = _three_way_list(current, before if isinstance(before, list) else [], value, here)
        elif before is not _MISSING and before == value and current is not _MISSING:
            continue  # unchanged in the applied configuration: the live value stays
        else:
            out[key] = copy.deepcopy(value)
    return out


def _three_way_list(live: list[Any], last: list[Any], new: list[Any], path: str) -> list[Any]:
    key = MERGE_KEYS[path]

    def find(items: list[Any], value: Any) -> Any:
        return next((i for i in items if isinstance(i, dict) and i.get(key) == value), None)

    result = []
    for item in new:
        ident = item.get(key) if isinstance(item, dict) else None
        current = find(live, ident)
        result.append(three_way(current, find(last, ident), item, path) if current is not None else item)
    applied = {i.get(key) for i in last if isinstance(i, dict)}
    wanted = {i.get(key) for i in new if isinstance(i, dict)}
    for item in live:
        ident = item.get(key) if isinstance(item, dict) else None
        if ident not in wanted and ident not in applied:
            result.append(item)  # someone else's entry
    return copy.deepcopy(result)
