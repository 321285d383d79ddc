"""What a local pod process sees: its environment, its mounted files, cluster DNS names.

Environment, in order (later wins, as in Kubernetes):

1. a few host variables (``PATH``, locale, ``TMPDIR``, ``VIRTUAL_ENV``) and
   ``PYTHONPATH`` = the working directory; never the host's ``AWS_*`` variables;
2. ``HOSTNAME`` = the pod name, service links for the Services of the pod's namespace
   (``AGENT_CORE_SERVICE_HOST`` / ``_SERVICE_PORT``, as the kubelet injects them),
   ``HOME`` = the pod folder, ``PYTHONUNBUFFERED=1``, ``MALLOC_ARENA_MAX=2`` (glibc's
   malloc then keeps two heaps, not eight per core: a pod's worker threads share them,
   which keeps a local pod's RSS down; the pod's ``env`` may set another value),
   ``AWS_REGION`` and an isolated
   AWS config (``AWS_CONFIG_FILE``/``AWS_SHARED_CREDENTIALS_FILE`` point at empty files
   in the pod folder, ``AWS_EC2_METADATA_DISABLED=true``) so a pod without an IRSA role
   has no AWS credentials at all;
3. ``envFrom`` (ConfigMaps/Secrets, with ``prefix``) then ``env`` (values,
   ``configMapKeyRef``, ``secretKeyRef``, ``fieldRef``; ``$(VAR)`` references expanded);
4. set by the runtime last: ``PORT`` (the pod's own local port; more ports as
   ``PORT_<containerPort>``), ``AWS_ENDPOINT_URL`` (the engine), the IRSA variables and
   credentials, and ``NEXUSKIT_POD_NAME``, ``NEXUSKIT_NAMESPACE``, ``NEXUSKIT_POD_DIR``,
   ``NEXUSKIT_MOUNTS`` (JSON: mountPath -> local folder), ``NEXUSKIT_RUNTIME_API``.

Mounted volumes live in ``<pod folder>/volumes/<volume>`` (projected volumes and the
automounted ``/var/run/secrets/kubernetes.io/serviceaccount`` too: see ``tokens.py``).
A process cannot see ``/etc/nexus``, so every value that starts with a mountPath (in
``env``, ConfigMap values and mounted file contents) is rewritten to the local folder,
and ``NEXUSKIT_MOUNTS`` lists the mapping. Cluster DNS names of Services
(``aws-mcp.nexus-mcp.svc.cluster.local[:80]`` and ``aws-mcp.nexus-mcp.svc``) are rewritten
to ``127.0.0.1:<the Service's local port>`` the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from emulation.runtime import projected
from emulation.runtime.manifests import Deployment, Manifests
from emulation.runtime.tokens import (
    API_AUDIENCE,
    AUTOMOUNT_SECONDS,
    AUTOMOUNT_VOLUME,
    SERVICE_ACCOUNT_DIR,
    PodTokens,
    automount_enabled,
)

HOST_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "VIRTUAL_ENV", "SSL_CERT_FILE")
_DNS_RE = re.compile(
    r"(?<![\w.-])(?P<svc>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
    r"\.svc(?:\.cluster\.local)?(?::(?P<port>\d+))?(?![\w-])"
)
_VAR_REF_RE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class PodConfigError(Exception):
    """The pod cannot be configured (a missing ConfigMap key, an unknown fieldRef)."""


class DnsShim:
    """Rewrites Service DNS names to the Services' local ports."""

    def __init__(self, ports: Mapping[tuple[str, str], Mapping[int, int]]) -> None:
        self.ports = ports  # (namespace, service) -> {service port: local port}

    def rewrite(self, text: str) -> str:
        if ".svc" not in text:
            return text

        def swap(match: re.Match[str]) -> str:
            ports = self.ports.get((match["ns"], match["svc"]))
            if not ports:
                return match.group(0)
            wanted = int(match["port"]) if match["port"] else 80
            local = ports.get(wanted) or (None if match["port"] else next(iter(ports.values())))
            return f"127.0.0.1:{local}" if local else match.group(0)

        return _DNS_RE.sub(swap, text)


def service_links(ports: Mapping[tuple[str, str], Mapping[int, int]], namespace: str) -> dict[str, str]:
    """``NAME_SERVICE_HOST``/``NAME_SERVICE_PORT``/``NAME_PORT`` for the namespace's Services."""
    env: dict[str, str] = {}
    for (ns, name), mapping in sorted(ports.items()):
        if ns != namespace or not mapping:
            continue
        prefix = name.upper().replace("-", "_")
        local = next(iter(mapping.values()))
        env[f"{prefix}_SERVICE_HOST"] = "127.0.0.1"
        env[f"{prefix}_SERVICE_PORT"] = str(local)
        env[f"{prefix}_PORT"] = f"tcp://127.0.0.1:{local}"
    return env


def materialise_volumes(
    deploy: Deployment,
    manifests: Manifests,
    pod_dir: Path,
    rewrite: Callable[[str], str],
    pod: Mapping[str, str],
    tokens: PodTokens,
    ca_pem: str = "",
) -> dict[str, str]:
    """Write ConfigMap/Secret/projected volumes, create emptyDirs, automount the API token.

    The automounted folder holds ``token``, ``namespace`` and (with ``ca_pem``) ``ca.crt``,
    the Kubernetes API's CA, as on a cluster.

    Returns mountPath -> local path (the automounted token folder included).
    """
    volumes_dir = pod_dir / "volumes"
    by_name = {v.name: v for v in deploy.template.volumes}
    for volume in deploy.template.volumes:
        target = volumes_dir / volume.name
        if volume.kind == "emptyDir":
            target.mkdir(parents=True, exist_ok=True)  # survives container restarts
            continue
        if volume.kind == "projected":
            try:
                projected.materialise(
                    target,
                    volume.projections,
                    volume.default_mode,
                    deploy.namespace,
                    manifests,
                    tokens,
                    lambda path: field_value(path, pod, deploy.template.labels, deploy.template.annotations),
                    rewrite,
                )
            except projected.ProjectionError as exc:
                raise PodConfigError(str(exc)) from None
            continue
        source = manifests.config_data(volume.kind, deploy.namespace, volume.source)
        if source is None:
            if volume.optional:
                target.mkdir(parents=True, exist_ok=True)
                continue
            raise PodConfigError(f'{volume.kind.lower()} "{volume.source}" not found')
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        items = volume.items or tuple((key, key, None) for key in source.data)
        for key, rel, mode in items:
            if key not in source.data:
                raise PodConfigError(f'key "{key}" not found in {volume.kind.lower()} "{volume.source}"')
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rewrite(source.data[key]), encoding="utf-8")
            os.chmod(path, mode if mode is not None else volume.default_mode)
    mounts: dict[str, str] = {}
    for mount in deploy.template.container.mounts:
        local = volumes_dir / by_name[mount.name].name
        if mount.sub_path:
            local = local / mount.sub_path
        mounts[mount.mount_path.rstrip("/") or "/"] = str(local)
    account = manifests.service_account(deploy.namespace, deploy.template.service_account)
    automount = automount_enabled(deploy.template.automount_token, account.automount_token)
    if automount and SERVICE_ACCOUNT_DIR not in mounts:
        folder = volumes_dir / AUTOMOUNT_VOLUME
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        tokens.write(folder / "token", API_AUDIENCE, AUTOMOUNT_SECONDS)
        (folder / "namespace").write_text(deploy.namespace, encoding="utf-8")
        if ca_pem:
            (folder / "ca.crt").write_text(ca_pem, encoding="utf-8")
        mounts[SERVICE_ACCOUNT_DIR] = str(folder)
    return mounts


def rewrite_mount_paths(value: str, mounts: Mapping[str, str]) -> str:
    """``/etc/nexus/settings.yaml`` -> ``<pod>/volumes/config/settings.yaml``."""
    for mount_path in sorted(mounts, key=len, reverse=True):
        if value == mount_path or value.startswith(mount_path + "/"):
            return mounts[mount_path] + value[len(mount_path) :]
    return value


def expand_references(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: known variables are replaced, ``$$`` escapes."""

    def swap(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _VAR_REF_RE.sub(swap, value)


def field_value(
    path: str, pod: Mapping[str, str], labels: Mapping[str, str], annotations: Mapping[str, str]
) -> str:
    """A downward-API ``fieldRef`` for a local pod."""
    simple = {
        "metadata.name": pod["name"],
        "metadata.namespace": pod["namespace"],
        "metadata.uid": pod["uid"],
        "spec.nodeName": pod["node"],
        "spec.serviceAccountName": pod["service_account"],
        "status.podIP": "127.0.0.1",
        "status.hostIP": "127.0.0.1",
    }
    if path in simple:
        return simple[path]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if match:
        source = labels if match.group(1) == "labels" else annotations
        return source.get(match.group(2), "")
    raise PodConfigError(f"unsupported fieldRef {path!r}")


def container_env(
    deploy: Deployment,
    manifests: Manifests,
    pod: Mapping[str, str],
    mounts: Mapping[str, str],
    rewrite: Callable[[str], str],
) -> dict[str, str]:
    """Layer 3 of the module docstring: envFrom then env, rewritten for local paths."""
    env: dict[str, str] = {}
    container = deploy.template.container
    for source in container.env_from:
        data = manifests.config_data(source.kind, deploy.namespace, source.name)
        if data is None:
            if source.optional:
                continue
            raise PodConfigError(f'{source.kind.lower()} "{source.name}" not found')
        for key, value in data.data.items():
            env[source.prefix + key] = rewrite_mount_paths(rewrite(value), mounts)
    for var in container.env:
        ref = var.config_map or var.secret
        if ref is not None:
            kind = "ConfigMap" if var.config_map else "Secret"
            name, key, optional = ref
            data = manifests.config_data(kind, deploy.namespace, name)
            if data is None or key not in data.data:
                if optional:
                    continue
                raise PodConfigError(f"couldn't find key {key} in {kind} {deploy.namespace}/{name}")
            value = data.data[key]
        elif var.field_path:
            value = field_value(var.field_path, pod, deploy.template.labels, deploy.template.annotations)
        else:
            value = expand_references(var.value or "", env)
        env[var.name] = rewrite_mount_paths(rewrite(value), mounts)
    return env


def base_env(workdir: str, pod_dir: Path, region: str) -> dict[str, str]:
    """Layers 1 and 2 (without service links): host basics and an isolated AWS config."""
    env = {name: os.environ[name] for name in HOST_VARIABLES if name in os.environ}
    env.setdefault("PATH", os.defpath)
    existing = os.environ.get("PYTHONPATH")
    env["PYTHONPATH"] = workdir + (os.pathsep + existing if existing else "")
    aws_dir = pod_dir / "aws"
    aws_dir.mkdir(parents=True, exist_ok=True)
    for name in ("config", "credentials"):
        (aws_dir / name).touch()
    env.update(
        {
            "HOME": str(pod_dir),
            "PYTHONUNBUFFERED": "1",
            "MALLOC_ARENA_MAX": "2",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": str(aws_dir / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(aws_dir / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


def mounts_json(mounts: Mapping[str, str]) -> str:
    return json.dumps(dict(mounts), sort_keys=True)
