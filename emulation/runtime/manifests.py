"""Kubernetes manifests as typed objects: load a folder, validate every field, cross-check.

The runtime reads ``**/k8s/*.yaml`` under one folder (the same glob the Terraform
workloads stack applies), every YAML document one object. Supported kinds and fields are
in :mod:`emulation.runtime.schema`; anything else is an error that names the file, the
object and the field. The process runtime's own settings are annotations on a
Deployment's metadata:

``nexuskit.dev/local-command`` (required)
    The command that runs the container as a local process, e.g.
    ``python -m services.placeholder`` (``python`` means the runtime's interpreter).
``nexuskit.dev/local-workdir``
    Working directory of the process, relative to the runtime's ``--workdir``.
``nexuskit.dev/depends-on``
    Comma-separated ``namespace/deployment`` list; pods are created only once each of
    them has all its replicas ready.

and on a Service: ``nexuskit.dev/local-port`` pins the Service's local port. A first
line ``# nexuskit.dev/source: PATH`` names the template a rendered file came from, so
errors point at the file to edit.
"""

from __future__ import annotations

import copy
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulation.runtime.exceptions import ManifestError
from emulation.runtime.projected import Projection, parse_projected
from emulation.runtime.rbac import Rbac
from emulation.runtime.schema import KINDS, FieldProblem, parse_quantity, validate
from emulation.runtime.tokens import MIN_SECONDS

ANNOTATION_PREFIX = "nexuskit.dev/"
LOCAL_COMMAND = "nexuskit.dev/local-command"
LOCAL_WORKDIR = "nexuskit.dev/local-workdir"
DEPENDS_ON = "nexuskit.dev/depends-on"
LOCAL_PORT = "nexuskit.dev/local-port"
SOURCE_MARK = "# nexuskit.dev/source:"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
DEPLOYMENT_ANNOTATIONS = {LOCAL_COMMAND, LOCAL_WORKDIR, DEPENDS_ON}
SERVICE_ANNOTATIONS = {LOCAL_PORT}
MANIFEST_GLOB = "**/k8s/*.yaml"
MAX_REPLICAS = 50  # local processes: more would only exhaust the machine
#: namespaces every cluster has; objects may live there without declaring them
BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_LABEL_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_RBAC_NAME = re.compile(r"^[^/%]+$")
#: kinds whose names are RFC 1123 labels (the rest: subdomains; RBAC objects: path segments)
LABEL_NAMED = {"Namespace", "Service"}
DocKey = tuple[str, str, str]  # (kind, namespace or "", name)


@dataclass(frozen=True)
class Origin:
    """Where an object was declared: the file (and the template it was rendered from)."""

    file: Path
    document: int
    source: str | None = None

    def __str__(self) -> str:
        where = str(self.file)
        if self.source:
            where += f" (from {self.source})"
        return where


@dataclass(frozen=True)
class Probe:
    handler: str  # http | tcp | exec
    port: int | str | None = None
    path: str = "/"
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()
    initial_delay: float = 0
    period: float = 10
    timeout: float = 1
    success_threshold: int = 1
    failure_threshold: int = 3


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = None
    config_map: tuple[str, str, bool] | None = None  # (name, key, optional)
    secret: tuple[str, str, bool] | None = None
    field_path: str | None = None


@dataclass(frozen=True)
class EnvFrom:
    kind: str  # ConfigMap | Secret
    name: str
    optional: bool = False
    prefix: str = ""


@dataclass(frozen=True)
class VolumeMount:
    name: str
    mount_path: str
    read_only: bool = False
    sub_path: str = ""


@dataclass(frozen=True)
class Volume:
    name: str
    kind: str  # ConfigMap | Secret | emptyDir | projected
    source: str = ""
    items: tuple[tuple[str, str, int | None], ...] = ()
    default_mode: int = 0o644
    optional: bool = False
    projections: tuple[Projection, ...] = ()


@dataclass(frozen=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    ports: tuple[tuple[str, int], ...] = ()  # (name or "", containerPort)
    env: tuple[EnvVar, ...] = ()
    env_from: tuple[EnvFrom, ...] = ()
    mounts: tuple[VolumeMount, ...] = ()
    readiness: Probe | None = None
    liveness: Probe | None = None
    startup: Probe | None = None
    memory_limit: float | None = None


@dataclass(frozen=True)
class PodTemplate:
    labels: dict[str, str]
    annotations: dict[str, str]
    service_account: str
    node_selector: dict[str, str]
    tolerations: tuple[Toleration, ...]
    grace_seconds: float
    container: Container
    volumes: tuple[Volume, ...]
    service_links: bool = True
    automount_token: bool | None = None  # automountServiceAccountToken of the pod spec


@dataclass(frozen=True)
class Deployment:
    namespace: str
    name: str
    labels: dict[str, str]
    replicas: int
    selector: dict[str, str]
    template: PodTemplate
    raw_template: dict[str, Any]
    command: tuple[str, ...]
    workdir: str | None
    depends_on: tuple[str, ...]
    max_surge: int | str = "25%"
    max_unavailable: int | str = "25%"
    recreate: bool = False
    min_ready_seconds: float = 0
    origin: Origin | None = None
    revision_history_limit: int = 10

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ServicePort:
    name: str
    port: int
    target: int | str


@dataclass(frozen=True)
class Service:
    namespace: str
    name: str
    selector: dict[str, str]
    ports: tuple[ServicePort, ...]
    local_port: int | None = None
    origin: Origin | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ConfigData:
    """A ConfigMap or a Secret (its ``data`` already base64-decoded)."""

    kind: str
    namespace: str
    name: str
    data: dict[str, str]


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str
    annotations: dict[str, str]
    automount_token: bool | None = None

    @property
    def role_arn(self) -> str | None:
        return self.annotations.get(IRSA_ANNOTATION)


@dataclass
class Manifests:
    """Every object of one folder, by kind and ``namespace/name``."""

    root: Path
    files: list[Path] = field(default_factory=list)
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    config: dict[tuple[str, str, str], ConfigData] = field(default_factory=dict)  # (kind, ns, name)
    service_accounts: dict[str, ServiceAccount] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    rbac: Rbac = field(default_factory=Rbac)
    #: every object as written (YAML decoded), by (kind, namespace, name): what the API serves
    documents: dict[DocKey, dict[str, Any]] = field(default_factory=dict)
    origins: dict[DocKey, Origin] = field(default_factory=dict)

    def has_namespace(self, name: str) -> bool:
        return name in self.namespaces or name in BUILTIN_NAMESPACES

    def has_service_account(self, namespace: str, name: str) -> bool:
        """Declared, or the ``default`` account every declared namespace has."""
        if f"{namespace}/{name}" in self.service_accounts:
            return True
        return name == "default" and self.has_namespace(namespace)

    def config_data(self, kind: str, namespace: str, name: str) -> ConfigData | None:
        return self.config.get((kind, namespace, name))

    def service_account(self, namespace: str, name: str) -> ServiceAccount:
        found = self.service_accounts.get(f"{namespace}/{name}")
        return found or ServiceAccount(namespace, name, {})


# -- loading ----------------------------------------------------------------------------------
def load_manifests(root: Path, min_token_seconds: int = MIN_SECONDS) -> Manifests:
    """Load and validate every ``**/k8s/*.yaml`` under ``root``; raise ManifestError.

    ``min_token_seconds``: the shortest projected token accepted (Kubernetes: 600).
    """
    root = Path(root)
    if not root.is_dir():
        raise ManifestError(root, "", "manifest folder not found")
    files = sorted(root.glob(MANIFEST_GLOB))
    if not files:
        raise ManifestError(root, "", f"no manifests ({MANIFEST_GLOB}) in this folder")
    documents = [item for path in files for item in _documents(path)]
    result = parse_documents(root, documents, min_token_seconds)
    result.files = files
    return result


def parse_documents(
    root: Path, documents: list[tuple[Origin, dict[str, Any]]], min_token_seconds: int = MIN_SECONDS
) -> Manifests:
    """Validate decoded objects as one set (fields, names, references); raise ManifestError.

    What the loader does for a folder, and the API for a change: the set is accepted whole
    or not at all.
    """
    result = Manifests(root=root)
    problems: list[ManifestError] = []
    seen: dict[str, Origin] = {}
    for origin, doc in documents:
        try:
            _add(result, doc, origin, seen, min_token_seconds)
        except ManifestError as exc:
            problems.append(exc)
    if not problems:
        problems += _cross_check(result)
    if problems:
        raise ManifestError.combine(problems)
    return result


def name_problem(kind: str, name: Any) -> str | None:
    """Why ``name`` is not a valid name for ``kind`` (Kubernetes' rules), or None."""
    if not isinstance(name, str) or not name:
        return "Required value: name or generateName is required"
    if kind in {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}:
        ok, limit = bool(_RBAC_NAME.match(name)) and name not in {".", ".."}, 253
        rule = "may not contain '/' or '%'"
    elif kind in LABEL_NAMED:
        ok, limit = bool(_LABEL_NAME.match(name)), 63
        rule = (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
            "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc')"
        )
    else:
        ok, limit = bool(_SUBDOMAIN_NAME.match(name)), 253
        rule = (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
            "or '.', and must start and end with an alphanumeric character (e.g. 'example.com')"
        )
    if len(name) > limit:
        return f"Invalid value: {name!r}: must be no more than {limit} characters"
    return None if ok else f"Invalid value: {name!r}: {rule}"


def _documents(path: Path) -> list[tuple[Origin, dict[str, Any]]]:
    text = path.read_text(encoding="utf-8")
    source = None
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if first.startswith(SOURCE_MARK):
        source = first[len(SOURCE_MARK) :].strip()
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(Origin(path, 0, source), "", f"not valid YAML: {where}{problem}") from None
    out = []
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        origin = Origin(path, index, source)
        if not isinstance(doc, dict):
            raise ManifestError(origin, "", "a manifest document must be a mapping")
        out.append((origin, doc))
    return out


def _add(
    result: Manifests, doc: dict[str, Any], origin: Origin, seen: dict[str, Origin], min_token_seconds: int
) -> None:
    kind = doc.get("kind")
    if kind not in KINDS:
        supported = ", ".join(sorted(KINDS))
        raise ManifestError(origin, "kind", f"unsupported kind {kind!r} (supported: {supported})")
    api_version, tree, namespaced = KINDS[str(kind)]
    raw_meta = doc.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    name = str(meta.get("name", "?"))
    namespace = str(meta.get("namespace", "")) if namespaced else ""
    label = f"{kind} {namespace}/{name}" if namespaced else f"{kind} {name}"
    problems = validate(doc, tree)
    if doc.get("apiVersion") != api_version and doc.get("apiVersion") is not None:
        problems.append(FieldProblem("apiVersion", f"must be {api_version} for {kind}"))
    if namespaced and not namespace:
        problems.append(FieldProblem("metadata.namespace", "required field is missing"))
    bad_name = name_problem(str(kind), meta.get("name"))
    if bad_name and not any(p.path == "metadata.name" for p in problems):
        problems.append(FieldProblem("metadata.name", bad_name))
    if problems:
        raise ManifestError(origin, problems[0].path, problems[0].message, label, problems[1:])
    key = f"{kind}/{namespace}/{name}"
    if key in seen:
        raise ManifestError(origin, "metadata.name", f"also declared in {seen[key]}", label)
    seen[key] = origin
    result.documents[(str(kind), namespace, name)] = copy.deepcopy(doc)
    result.origins[(str(kind), namespace, name)] = origin
    annotations = dict(meta.get("annotations") or {})
    if kind == "Namespace":
        result.namespaces[name] = dict(meta.get("labels") or {})
    elif kind in {"ConfigMap", "Secret"}:
        result.config[(kind, namespace, name)] = _config_data(doc, kind, namespace, name, origin, label)
    elif kind == "ServiceAccount":
        automount = doc.get("automountServiceAccountToken")
        result.service_accounts[f"{namespace}/{name}"] = ServiceAccount(
            namespace, name, annotations, automount
        )
    elif kind == "Service":
        result.services[f"{namespace}/{name}"] = _service(doc, namespace, name, annotations, origin, label)
    elif kind == "Deployment":
        result.deployments[f"{namespace}/{name}"] = _deployment(
            doc, namespace, name, annotations, origin, label, min_token_seconds
        )
    else:
        result.rbac.add(str(kind), namespace, name, doc, origin, label)


def _config_data(
    doc: dict[str, Any], kind: str, namespace: str, name: str, origin: Origin, label: str
) -> ConfigData:
    import base64
    import binascii

    data: dict[str, str] = {}
    if kind == "Secret":
        for key, value in (doc.get("data") or {}).items():
            try:
                data[key] = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise ManifestError(origin, f"data.{key}", "must be base64 of UTF-8 text", label) from None
        data.update(doc.get("stringData") or {})
    else:
        data.update(doc.get("data") or {})
    return ConfigData(kind, namespace, name, data)


def _service(
    doc: dict[str, Any], namespace: str, name: str, annotations: dict[str, str], origin: Origin, label: str
) -> Service:
    spec = doc["spec"]
    _check_annotations(annotations, SERVICE_ANNOTATIONS, origin, label)
    if spec.get("type", "ClusterIP") != "ClusterIP":
        raise ManifestError(
            origin, "spec.type", "the process runtime supports ClusterIP Services only", label
        )
    ports = []
    for index, port in enumerate(spec["ports"]):
        if port.get("protocol", "TCP") != "TCP":
            raise ManifestError(origin, f"spec.ports[{index}].protocol", "only TCP is supported", label)
        ports.append(ServicePort(port.get("name", ""), port["port"], port.get("targetPort", port["port"])))
    local_port = None
    if LOCAL_PORT in annotations:
        try:
            local_port = int(annotations[LOCAL_PORT])
        except ValueError:
            raise ManifestError(
                origin, f"metadata.annotations.{LOCAL_PORT}", "must be a port number", label
            ) from None
    return Service(namespace, name, dict(spec.get("selector") or {}), tuple(ports), local_port, origin)


def _check_annotations(annotations: dict[str, str], allowed: set[str], origin: Origin, label: str) -> None:
    for key in annotations:
        if key.startswith(ANNOTATION_PREFIX) and key not in allowed:
            known = ", ".join(sorted(allowed))
            raise ManifestError(
                origin, f"metadata.annotations.{key}", f"unknown nexuskit annotation (known: {known})", label
            )


def _probe(raw: dict[str, Any] | None, path: str, origin: Origin, label: str) -> Probe | None:
    if raw is None:
        return None
    handlers = [h for h in ("httpGet", "tcpSocket", "exec") if h in raw]
    if len(handlers) != 1:
        raise ManifestError(origin, path, "needs exactly one of httpGet, tcpSocket, exec", label)
    timing = {
        "initial_delay": float(raw.get("initialDelaySeconds", 0)),
        "period": float(raw.get("periodSeconds", 10)),
        "timeout": float(raw.get("timeoutSeconds", 1)),
        "success_threshold": int(raw.get("successThreshold", 1)),
        "failure_threshold": int(raw.get("failureThreshold", 3)),
    }
    if timing["period"] < 1 or timing["failure_threshold"] < 1:
        raise ManifestError(origin, path, "periodSeconds and failureThreshold must be >= 1", label)
    if "httpGet" in raw:
        http = raw["httpGet"]
        headers = tuple((h["name"], h["value"]) for h in http.get("httpHeaders", []))
        return Probe(
            "http",
            http["port"],
            http.get("path", "/"),
            http.get("scheme", "HTTP"),
            headers,
            **timing,  # type: ignore[arg-type]
        )
    if "tcpSocket" in raw:
        return Probe("tcp", raw["tcpSocket"]["port"], **timing)  # type: ignore[arg-type]
    return Probe("exec", command=tuple(raw["exec"]["command"]), **timing)  # type: ignore[arg-type]


def _container(raw: dict[str, Any], path: str, origin: Origin, label: str) -> Container:
    ports = tuple((p.get("name", ""), int(p["containerPort"])) for p in raw.get("ports", []))
    port_names = {name for name, _ in ports if name}
    probes: dict[str, Probe | None] = {}
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = _probe(raw.get(kind), f"{path}.{kind}", origin, label)
        if probe and isinstance(probe.port, str) and probe.port not in port_names:
            where = f"{path}.{kind}.{'httpGet' if probe.handler == 'http' else 'tcpSocket'}.port"
            raise ManifestError(origin, where, f"names no container port ({probe.port!r})", label)
        probes[kind] = probe
    env = []
    for item in raw.get("env", []):
        source = item.get("valueFrom") or {}
        cm, sec = source.get("configMapKeyRef"), source.get("secretKeyRef")
        env.append(
            EnvVar(
                item["name"],
                item.get("value", "" if not source else None),
                (cm["name"], cm["key"], bool(cm.get("optional", False))) if cm else None,
                (sec["name"], sec["key"], bool(sec.get("optional", False))) if sec else None,
                (source.get("fieldRef") or {}).get("fieldPath"),
            )
        )
    env_from = []
    for index, item in enumerate(raw.get("envFrom", [])):
        ref_kind = "ConfigMap" if "configMapRef" in item else "Secret" if "secretRef" in item else None
        if ref_kind is None:
            raise ManifestError(origin, f"{path}.envFrom[{index}]", "needs configMapRef or secretRef", label)
        ref = item["configMapRef" if ref_kind == "ConfigMap" else "secretRef"]
        env_from.append(
            EnvFrom(ref_kind, ref["name"], bool(ref.get("optional", False)), item.get("prefix", ""))
        )
    limits = (raw.get("resources") or {}).get("limits") or {}
    requests = (raw.get("resources") or {}).get("requests") or {}
    for group, values in (("limits", limits), ("requests", requests)):
        for resource, quantity in values.items():
            try:
                parse_quantity(quantity)
            except ValueError:
                where = f"{path}.resources.{group}.{resource}"
                raise ManifestError(origin, where, f"not a quantity: {quantity!r}", label) from None
    mounts = tuple(
        VolumeMount(m["name"], m["mountPath"], bool(m.get("readOnly", False)), m.get("subPath", ""))
        for m in raw.get("volumeMounts", [])
    )
    return Container(
        raw["name"],
        raw["image"],
        ports,
        tuple(env),
        tuple(env_from),
        mounts,
        probes["readinessProbe"],
        probes["livenessProbe"],
        probes["startupProbe"],
        parse_quantity(limits["memory"]) if "memory" in limits else None,
    )


def _volumes(
    raw: list[dict[str, Any]], path: str, origin: Origin, label: str, min_token_seconds: int
) -> tuple[Volume, ...]:
    volumes = []
    for index, vol in enumerate(raw):
        sources = [k for k in ("configMap", "secret", "emptyDir", "projected") if k in vol]
        if len(sources) != 1:
            raise ManifestError(
                origin,
                f"{path}[{index}]",
                "needs exactly one of configMap, secret, emptyDir, projected",
                label,
            )
        kind = sources[0]
        body = vol[kind] or {}
        if kind == "projected":
            where = f"{path}[{index}].projected"
            projections = parse_projected(body, where, origin, label, min_token_seconds)
            mode = int(body.get("defaultMode", 0o644))
            volumes.append(Volume(vol["name"], "projected", default_mode=mode, projections=projections))
            continue
        items = tuple((i["key"], i["path"], i.get("mode")) for i in body.get("items", []))
        name = body.get("name") or body.get("secretName") or ""
        volume_kind = {"configMap": "ConfigMap", "secret": "Secret", "emptyDir": "emptyDir"}[kind]
        mode = int(body.get("defaultMode", 0o644))
        volumes.append(Volume(vol["name"], volume_kind, name, items, mode, bool(body.get("optional", False))))
    return tuple(volumes)


def _deployment(
    doc: dict[str, Any],
    namespace: str,
    name: str,
    annotations: dict[str, str],
    origin: Origin,
    label: str,
    min_token_seconds: int = MIN_SECONDS,
) -> Deployment:
    spec = doc["spec"]
    meta = doc["metadata"]
    _check_annotations(annotations, DEPLOYMENT_ANNOTATIONS, origin, label)
    if LOCAL_COMMAND not in annotations:
        raise ManifestError(
            origin,
            f"metadata.annotations.{LOCAL_COMMAND}",
            "required annotation is missing (the command that runs this container as a local process, "
            "e.g. 'python -m services.placeholder')",
            label,
        )
    try:
        command = tuple(shlex.split(annotations[LOCAL_COMMAND]))
    except ValueError as exc:
        raise ManifestError(origin, f"metadata.annotations.{LOCAL_COMMAND}", str(exc), label) from None
    if not command:
        raise ManifestError(origin, f"metadata.annotations.{LOCAL_COMMAND}", "must not be empty", label)
    template = spec["template"]
    pod = template["spec"]
    tpath = "spec.template.spec"
    if len(pod["containers"]) != 1:
        raise ManifestError(
            origin,
            f"{tpath}.containers",
            f"the process runtime runs one container per pod (got {len(pod['containers'])})",
            label,
        )
    labels = dict(template["metadata"].get("labels") or {})
    selector = dict(spec["selector"]["matchLabels"])
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        raise ManifestError(
            origin, "spec.selector.matchLabels", "must match spec.template.metadata.labels", label
        )
    if pod.get("restartPolicy", "Always") != "Always":
        raise ManifestError(origin, f"{tpath}.restartPolicy", "a Deployment's pods restart Always", label)
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") not in {"RollingUpdate", "Recreate"}:
        raise ManifestError(origin, "spec.strategy.type", "must be RollingUpdate or Recreate", label)
    rolling = strategy.get("rollingUpdate") or {}
    tolerations = []
    for index, tol in enumerate(pod.get("tolerations", [])):
        operator = tol.get("operator", "Equal")
        effect = tol.get("effect", "")
        if operator not in {"Equal", "Exists"} or effect not in {
            "",
            "NoSchedule",
            "PreferNoSchedule",
            "NoExecute",
        }:
            raise ManifestError(origin, f"{tpath}.tolerations[{index}]", "invalid operator or effect", label)
        tolerations.append(Toleration(tol.get("key", ""), operator, tol.get("value", ""), effect))
    container = _container(pod["containers"][0], f"{tpath}.containers[0]", origin, label)
    volumes = _volumes(pod.get("volumes", []), f"{tpath}.volumes", origin, label, min_token_seconds)
    names = {v.name for v in volumes}
    for index, mount in enumerate(container.mounts):
        if mount.name not in names:
            where = f"{tpath}.containers[0].volumeMounts[{index}].name"
            raise ManifestError(origin, where, f"no volume named {mount.name!r}", label)
    depends = tuple(d.strip() for d in annotations.get(DEPENDS_ON, "").split(",") if d.strip())
    for dep in depends:
        if dep.count("/") != 1:
            where = f"metadata.annotations.{DEPENDS_ON}"
            raise ManifestError(origin, where, f"{dep!r} is not namespace/deployment", label)
    replicas = int(spec.get("replicas", 1))
    if not 0 <= replicas <= MAX_REPLICAS:
        raise ManifestError(origin, "spec.replicas", f"must be from 0 to {MAX_REPLICAS}", label)
    return Deployment(
        namespace=namespace,
        name=name,
        labels=dict(meta.get("labels") or {}),
        replicas=replicas,
        selector=selector,
        template=PodTemplate(
            labels=labels,
            annotations=dict(template["metadata"].get("annotations") or {}),
            service_account=pod.get("serviceAccountName", "default"),
            node_selector=dict(pod.get("nodeSelector") or {}),
            tolerations=tuple(tolerations),
            grace_seconds=float(pod.get("terminationGracePeriodSeconds", 30)),
            container=container,
            volumes=volumes,
            service_links=bool(pod.get("enableServiceLinks", True)),
            automount_token=pod.get("automountServiceAccountToken"),
        ),
        raw_template=template,
        command=command,
        workdir=annotations.get(LOCAL_WORKDIR),
        depends_on=depends,
        max_surge=rolling.get("maxSurge", "25%"),
        max_unavailable=rolling.get("maxUnavailable", "25%"),
        recreate=strategy.get("type") == "Recreate",
        min_ready_seconds=float(spec.get("minReadySeconds", 0)),
        origin=origin,
        revision_history_limit=max(0, int(spec.get("revisionHistoryLimit", 10))),
    )


def _cross_check(result: Manifests) -> list[ManifestError]:
    """References between objects: namespaces, service accounts, config, dependencies."""
    problems: list[ManifestError] = []
    for deploy in result.deployments.values():
        origin = deploy.origin or Origin(result.root, 0)
        label = f"Deployment {deploy.key}"
        tpath = "spec.template.spec"
        if not result.has_namespace(deploy.namespace):
            problems.append(
                ManifestError(
                    origin, "metadata.namespace", f"namespace {deploy.namespace!r} is not declared", label
                )
            )
        sa = deploy.template.service_account
        if sa != "default" and f"{deploy.namespace}/{sa}" not in result.service_accounts:
            problems.append(
                ManifestError(origin, f"{tpath}.serviceAccountName", f"no ServiceAccount {sa!r} here", label)
            )
        refs = [(f"{tpath}.volumes", v.kind, v.source, v.optional) for v in deploy.template.volumes]
        refs += [
            (f"{tpath}.volumes.{v.name}.projected", p.kind, p.source, p.optional)
            for v in deploy.template.volumes
            for p in v.projections
        ]
        refs += [
            (f"{tpath}.containers[0].envFrom", e.kind, e.name, e.optional)
            for e in deploy.template.container.env_from
        ]
        for env in deploy.template.container.env:
            for kind, ref in (("ConfigMap", env.config_map), ("Secret", env.secret)):
                if ref is not None:
                    refs.append((f"{tpath}.containers[0].env.{env.name}", kind, ref[0], ref[2]))
        for where, kind, name, optional in refs:
            if (
                kind in {"ConfigMap", "Secret"}
                and not optional
                and result.config_data(kind, deploy.namespace, name) is None
            ):
                problems.append(
                    ManifestError(origin, where, f"no {kind} {name!r} in {deploy.namespace}", label)
                )
        for dep in deploy.depends_on:
            if dep not in result.deployments:
                where = f"metadata.annotations.{DEPENDS_ON}"
                problems.append(ManifestError(origin, where, f"no Deployment {dep!r}", label))
    problems += _dependency_cycles(result)
    problems += result.rbac.check({*result.namespaces, *BUILTIN_NAMESPACES})
    for kind, namespace, name in result.config:
        if not result.has_namespace(namespace):
            problems.append(
                ManifestError(
                    Origin(result.root, 0), "metadata.namespace", f"namespace {namespace!r} is not declared",
                    f"{kind} {namespace}/{name}",
                )
            )  # fmt: skip
    for account in result.service_accounts.values():
        if not result.has_namespace(account.namespace):
            problems.append(
                ManifestError(
                    Origin(result.root, 0), "metadata.namespace",
                    f"namespace {account.namespace!r} is not declared",
                    f"ServiceAccount {account.namespace}/{account.name}",
                )
            )  # fmt: skip
    for service in result.services.values():
        if not result.has_namespace(service.namespace):
            origin = service.origin or Origin(result.root, 0)
            problems.append(
                ManifestError(
                    origin,
                    "metadata.namespace",
                    f"namespace {service.namespace!r} is not declared",
                    f"Service {service.key}",
                )
            )
    return problems


def _dependency_cycles(result: Manifests) -> list[ManifestError]:
    """Deployments that wait for each other would wait forever."""
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(key: str, path: list[str]) -> list[str] | None:
        if state.get(key) == 2:
            return None
        if state.get(key) == 1:
            return [*path[path.index(key) :], key]
        state[key] = 1
        for dep in result.deployments[key].depends_on:
            if dep in result.deployments:
                cycle = visit(dep, [*path, key])
                if cycle:
                    return cycle
        state[key] = 2
        return None

    for key in sorted(result.deployments):
        cycle = visit(key, [])
        if cycle:
            deploy = result.deployments[key]
            origin = deploy.origin or Origin(result.root, 0)
            where = f"metadata.annotations.{DEPENDS_ON}"
            return [
                ManifestError(origin, where, "dependency cycle " + " -> ".join(cycle), f"Deployment {key}")
            ]
    return []
