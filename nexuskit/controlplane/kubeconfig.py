"""The kubeconfig of a local stack: ``<state>/kubeconfig``, context ``nexus-local``.

``nexuskit up`` writes it once the runtime's Kubernetes API listens (:func:`write_kubeconfig`):
the server ``https://127.0.0.1:PORT``, the runtime's CA inline
(``certificate-authority-data``) and the admin credential as ``tokenFile`` pointing at
``<state>/runtime/admin-token`` (0600), so the file never holds a secret and keeps working
when the runtime restarts with a new token. ``KUBECONFIG=<state>/kubeconfig kubectl ...``
(``nexuskit env`` exports it) and the official Python client read it.

``~/.kube/config`` is never touched unless asked: :func:`merge_kubeconfig`
(``nexuskit kubeconfig --merge``) replaces the ``nexus-local`` cluster, user and context
there and leaves everything else, the current context included (unless there was none).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneError
from nexuskit.errors import ConfigError

CONTEXT = "nexus-local"
USER = "nexus-local-admin"


def kubeconfig_path(settings: KitSettings) -> Path:
    return settings.resolved_state_dir() / "kubeconfig"


def kubeconfig_document(
    server: str, ca_pem: str, token_file: Path, namespace: str = "default"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(),
                },
            }
        ],
        "users": [{"name": USER, "user": {"tokenFile": str(token_file)}}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": USER, "namespace": namespace}}
        ],
        "current-context": CONTEXT,
    }


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(document, fh, sort_keys=False)
    os.replace(tmp, path)


def write_kubeconfig(settings: KitSettings, info: dict[str, Any]) -> Path:
    """``<state>/kubeconfig`` for the runtime described by ``api.json`` (``info``); its path."""
    server, ca_file = info.get("kube_url"), info.get("kube_ca")
    if not server or not ca_file:
        raise ControlPlaneError(
            "the running control plane serves no Kubernetes API",
            "run `nexuskit down`, then `nexuskit up --local` (it predates the API)",
        )
    token_file = settings.resolved_state_dir() / "runtime" / "admin-token"
    document = kubeconfig_document(str(server), Path(ca_file).read_text(encoding="ascii"), token_file)
    path = kubeconfig_path(settings)
    _write(path, document)
    return path


def _replace(entries: Any, entry: dict[str, Any]) -> list[dict[str, Any]]:
    kept = [e for e in entries or [] if isinstance(e, dict) and e.get("name") != entry["name"]]
    return [*kept, entry]


def merge_kubeconfig(settings: KitSettings, target: Path | None = None) -> Path:
    """Put the stack's cluster, user and context into ``target`` (default ``~/.kube/config``)."""
    source = kubeconfig_path(settings)
    try:
        ours = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ControlPlaneError(
            f"no kubeconfig at {source}", "start the stack with `nexuskit up --local`"
        ) from None
    target = target or Path(os.path.expanduser("~/.kube/config"))
    try:
        theirs = yaml.safe_load(target.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        theirs = {}
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{target} is not valid YAML: {exc}", "fix it, or merge into another file"
        ) from None
    if not isinstance(theirs, dict):
        raise ConfigError(f"{target} is not a kubeconfig (not a mapping)")
    merged = dict(theirs)
    merged.setdefault("apiVersion", "v1")
    merged.setdefault("kind", "Config")
    for key in ("clusters", "users", "contexts"):
        merged[key] = _replace(theirs.get(key), ours[key][0])
    if not merged.get("current-context"):
        merged["current-context"] = CONTEXT
    _write(target, merged)
    return target
