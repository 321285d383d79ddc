"""Projected volumes: several sources (tokens, ConfigMap and Secret keys, pod fields) in one folder.

``volumes[].projected.sources[]`` takes, as on Kubernetes, one of:

``serviceAccountToken {path, audience, expirationSeconds}``
    a JWT of the pod's ServiceAccount (see :mod:`~emulation.runtime.tokens`), rotated at
    80 % of its life;
``configMap {name, items, optional}`` / ``secret {name, items, optional}``
    keys of a ConfigMap or Secret of the pod's namespace (all keys without ``items``);
``downwardAPI {items: [{path, fieldRef}]}``
    pod fields (``metadata.name``, ``metadata.namespace``, ``metadata.uid``, labels...).

Paths are relative, without ``..``, and no two sources may write the same one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from emulation.runtime.exceptions import ManifestError
from emulation.runtime.tokens import API_AUDIENCE, DEFAULT_SECONDS, MAX_SECONDS, PodTokens

if TYPE_CHECKING:
    from emulation.runtime.manifests import Manifests


class ProjectionError(Exception):
    """A projected source cannot be written (a missing ConfigMap or key)."""


@dataclass(frozen=True)
class Projection:
    kind: str  # serviceAccountToken | ConfigMap | Secret | downwardAPI
    path: str = ""  # serviceAccountToken: the file
    audience: str = API_AUDIENCE
    seconds: int = DEFAULT_SECONDS
    source: str = ""  # ConfigMap/Secret name
    items: tuple[tuple[str, str, int | None], ...] = ()  # (key or fieldPath, path, mode)
    optional: bool = False


_KINDS = {"serviceAccountToken": "serviceAccountToken", "configMap": "ConfigMap", "secret": "Secret"}
_KINDS["downwardAPI"] = "downwardAPI"


def _relative(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(path) and not path.startswith("/") and ".." not in parts


def parse_projected(
    body: dict[str, Any], where: str, origin: Any, label: str, min_seconds: int
) -> tuple[Projection, ...]:
    """The sources of one projected volume (already checked against the schema)."""
    out: list[Projection] = []
    paths: set[str] = set()
    for index, raw in enumerate(body.get("sources") or []):
        here = f"{where}.sources[{index}]"
        kinds = [k for k in _KINDS if k in raw]
        if len(kinds) != 1:
            raise ManifestError(origin, here, "needs exactly one of " + ", ".join(_KINDS), label)
        kind = kinds[0]
        spec = raw[kind] or {}
        if kind == "serviceAccountToken":
            seconds = int(spec.get("expirationSeconds", DEFAULT_SECONDS))
            if not min_seconds <= seconds <= MAX_SECONDS:
                raise ManifestError(
                    origin,
                    f"{here}.serviceAccountToken.expirationSeconds",
                    f"must be from {min_seconds} to {MAX_SECONDS} seconds, got {seconds}",
                    label,
                )
            projection = Projection(kind, spec["path"], spec.get("audience") or API_AUDIENCE, seconds)
            written = [(f"{here}.serviceAccountToken.path", projection.path)]
        elif kind == "downwardAPI":
            items = tuple((i["fieldRef"]["fieldPath"], i["path"], i.get("mode")) for i in spec["items"])
            projection = Projection(kind, items=items)
            written = [(f"{here}.downwardAPI.items[{n}].path", i[1]) for n, i in enumerate(items)]
        else:
            items = tuple((i["key"], i["path"], i.get("mode")) for i in spec.get("items", []))
            projection = Projection(
                _KINDS[kind], source=spec["name"], items=items, optional=bool(spec.get("optional", False))
            )
            written = [(f"{here}.{kind}.items[{n}].path", i[1]) for n, i in enumerate(items)]
        for field, path in written:
            if not _relative(path):
                raise ManifestError(
                    origin, field, f"must be a relative path without '..', got {path!r}", label
                )
            if path in paths:
                raise ManifestError(origin, field, f"{path!r} is written by another source too", label)
            paths.add(path)
        out.append(projection)
    return tuple(out)


def materialise(
    target: Path,
    projections: tuple[Projection, ...],
    default_mode: int,
    namespace: str,
    manifests: Manifests,
    tokens: PodTokens,
    field_value: Callable[[str], str],
    rewrite: Callable[[str], str],
) -> None:
    """Write every source of one projected volume into ``target`` (tokens through ``tokens``)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    if any(p.kind == "serviceAccountToken" for p in projections):
        target.chmod(0o700)
    for projection in projections:
        if projection.kind == "serviceAccountToken":
            tokens.write(target / projection.path, projection.audience, projection.seconds)
            continue
        if projection.kind == "downwardAPI":
            files: Mapping[str, tuple[str, int | None]] = {
                path: (field_value(field), mode) for field, path, mode in projection.items
            }
        else:
            data = manifests.config_data(projection.kind, namespace, projection.source)
            if data is None:
                if projection.optional:
                    continue
                raise ProjectionError(f'{projection.kind.lower()} "{projection.source}" not found')
            items = projection.items or tuple((key, key, None) for key in data.data)
            files = {}
            for key, path, mode in items:
                if key not in data.data:
                    if projection.optional:
                        continue
                    raise ProjectionError(
                        f'key "{key}" not found in {projection.kind.lower()} "{projection.source}"'
                    )
                files[path] = (rewrite(data.data[key]), mode)
        for path, (text, mode) in files.items():
            file = target / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(text, encoding="utf-8")
            file.chmod(mode if mode is not None else default_mode)
