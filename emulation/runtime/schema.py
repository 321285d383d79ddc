"""The Kubernetes fields the process runtime understands, and a validator for them.

Each supported kind has a field tree below. :func:`validate` walks a decoded YAML
document against it and reports every unknown field, wrong type or missing required
field with its path (``spec.template.spec.containers[0].readinessProbe.httpGet.port``),
so a typo in a manifest fails loudly instead of being silently ignored.

A field spec is one of: a scalar type name (``"str"``, ``"int"``, ``"bool"``,
``"int-or-str"``, ``"quantity"``), ``"map"`` (string keys to string values), a
:class:`Obj` (named fields) or a :class:`ListOf` (items of one spec).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Union

Spec = Union[str, "Obj", "ListOf"]

_QUANTITY_RE = re.compile(r"^\d+(\.\d+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|E|Ei)?$")


@dataclass(frozen=True)
class Obj:
    """An object with named fields; ``required`` names the ones that must be present."""

    fields: dict[str, Spec]
    required: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ListOf:
    item: Spec


def obj(required: tuple[str, ...] = (), **fields: Spec) -> Obj:
    return Obj(fields, frozenset(required))


STR_LIST = ListOf("str")

OBJECT_META = obj(("name",), name="str", namespace="str", labels="map", annotations="map")
CLUSTER_META = obj(("name",), name="str", labels="map", annotations="map")

KEY_TO_PATH = ListOf(obj(("key", "path"), key="str", path="str", mode="int"))
HTTP_GET = obj(
    ("port",),
    path="str",
    port="int-or-str",
    host="str",
    scheme="str",
    httpHeaders=ListOf(obj(("name", "value"), name="str", value="str")),
)
PROBE = obj(
    httpGet=HTTP_GET,
    tcpSocket=obj(("port",), port="int-or-str", host="str"),
    exec=obj(("command",), command=STR_LIST),
    initialDelaySeconds="int",
    periodSeconds="int",
    timeoutSeconds="int",
    successThreshold="int",
    failureThreshold="int",
    terminationGracePeriodSeconds="int",
)
FIELD_REF = obj(("fieldPath",), fieldPath="str", apiVersion="str")
KEY_SELECTOR = obj(("name", "key"), name="str", key="str", optional="bool")
ENV_VAR = obj(
    ("name",),
    name="str",
    value="str",
    valueFrom=obj(
        configMapKeyRef=KEY_SELECTOR,
        secretKeyRef=KEY_SELECTOR,
        fieldRef=FIELD_REF,
    ),
)
ENV_FROM = obj(
    prefix="str",
    configMapRef=obj(("name",), name="str", optional="bool"),
    secretRef=obj(("name",), name="str", optional="bool"),
)
CONTAINER_SECURITY = obj(
    allowPrivilegeEscalation="bool",
    readOnlyRootFilesystem="bool",
    runAsNonRoot="bool",
    runAsUser="int",
    runAsGroup="int",
    privileged="bool",
    capabilities=obj(add=STR_LIST, drop=STR_LIST),
    seccompProfile=obj(("type",), type="str"),
)
CONTAINER = obj(
    ("name", "image"),
    name="str",
    image="str",
    imagePullPolicy="str",
    command=STR_LIST,
    args=STR_LIST,
    workingDir="str",
    ports=ListOf(obj(("containerPort",), name="str", containerPort="int", protocol="str")),
    env=ListOf(ENV_VAR),
    envFrom=ListOf(ENV_FROM),
    resources=obj(requests="map", limits="map"),
    volumeMounts=ListOf(
        obj(("name", "mountPath"), name="str", mountPath="str", readOnly="bool", subPath="str")
    ),
    readinessProbe=PROBE,
    livenessProbe=PROBE,
    startupProbe=PROBE,
    securityContext=CONTAINER_SECURITY,
)
DOWNWARD_ITEMS = ListOf(obj(("path", "fieldRef"), path="str", fieldRef=FIELD_REF, mode="int"))
PROJECTION = obj(
    serviceAccountToken=obj(("path",), path="str", audience="str", expirationSeconds="int"),
    configMap=obj(("name",), name="str", items=KEY_TO_PATH, optional="bool"),
    secret=obj(("name",), name="str", items=KEY_TO_PATH, optional="bool"),
    downwardAPI=obj(("items",), items=DOWNWARD_ITEMS),
)
VOLUME = obj(
    ("name",),
    name="str",
    configMap=obj(("name",), name="str", items=KEY_TO_PATH, defaultMode="int", optional="bool"),
    secret=obj(("secretName",), secretName="str", items=KEY_TO_PATH, defaultMode="int", optional="bool"),
    emptyDir=obj(medium="str", sizeLimit="quantity"),
    projected=obj(("sources",), sources=ListOf(PROJECTION), defaultMode="int"),
)
POD_SPEC = obj(
    ("containers",),
    serviceAccountName="str",
    automountServiceAccountToken="bool",
    enableServiceLinks="bool",
    nodeSelector="map",
    tolerations=ListOf(obj(key="str", operator="str", value="str", effect="str", tolerationSeconds="int")),
    terminationGracePeriodSeconds="int",
    restartPolicy="str",
    securityContext=obj(
        runAsNonRoot="bool",
        runAsUser="int",
        runAsGroup="int",
        fsGroup="int",
        seccompProfile=obj(("type",), type="str"),
    ),
    containers=ListOf(CONTAINER),
    volumes=ListOf(VOLUME),
)
DEPLOYMENT_SPEC = obj(
    ("selector", "template"),
    replicas="int",
    selector=obj(("matchLabels",), matchLabels="map"),
    strategy=obj(
        type="str",
        rollingUpdate=obj(maxSurge="int-or-str", maxUnavailable="int-or-str"),
    ),
    minReadySeconds="int",
    revisionHistoryLimit="int",
    progressDeadlineSeconds="int",
    template=obj(("metadata", "spec"), metadata=obj(labels="map", annotations="map"), spec=POD_SPEC),
)
SERVICE_SPEC = obj(
    ("ports",),
    type="str",
    selector="map",
    ports=ListOf(obj(("port",), name="str", port="int", targetPort="int-or-str", protocol="str")),
)
POLICY_RULE = obj(("verbs",), apiGroups=STR_LIST, resources=STR_LIST, resourceNames=STR_LIST, verbs=STR_LIST)
ROLE_REF = obj(("apiGroup", "kind", "name"), apiGroup="str", kind="str", name="str")
SUBJECT = obj(("kind", "name"), kind="str", name="str", namespace="str", apiGroup="str")


def _top(meta: Obj, required: tuple[str, ...] = (), **fields: Spec) -> Obj:
    return obj(
        ("apiVersion", "kind", "metadata", *required), apiVersion="str", kind="str", metadata=meta, **fields
    )


#: kind -> (apiVersion, field tree, namespaced)
KINDS: dict[str, tuple[str, Obj, bool]] = {
    "Namespace": ("v1", _top(CLUSTER_META), False),
    "ConfigMap": ("v1", _top(OBJECT_META, data="map", immutable="bool"), True),
    "Secret": (
        "v1",
        _top(OBJECT_META, type="str", data="map", stringData="map", immutable="bool"),
        True,
    ),
    "ServiceAccount": ("v1", _top(OBJECT_META, automountServiceAccountToken="bool"), True),
    "Service": ("v1", _top(OBJECT_META, ("spec",), spec=SERVICE_SPEC), True),
    "Deployment": ("apps/v1", _top(OBJECT_META, ("spec",), spec=DEPLOYMENT_SPEC), True),
    "ClusterRole": (
        "rbac.authorization.k8s.io/v1",
        _top(CLUSTER_META, rules=ListOf(POLICY_RULE)),
        False,
    ),
    "ClusterRoleBinding": (
        "rbac.authorization.k8s.io/v1",
        _top(CLUSTER_META, ("roleRef",), roleRef=ROLE_REF, subjects=ListOf(SUBJECT)),
        False,
    ),
    "Role": ("rbac.authorization.k8s.io/v1", _top(OBJECT_META, rules=ListOf(POLICY_RULE)), True),
    "RoleBinding": (
        "rbac.authorization.k8s.io/v1",
        _top(OBJECT_META, ("roleRef",), roleRef=ROLE_REF, subjects=ListOf(SUBJECT)),
        True,
    ),
}


@dataclass(frozen=True)
class FieldProblem:
    """One problem at one field path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "object",
        list: "list",
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
    }.get(type(value), type(value).__name__)


def validate(value: Any, spec: Spec, path: str = "") -> list[FieldProblem]:
    """Every problem of ``value`` against ``spec`` (empty when it is valid)."""
    if isinstance(spec, Obj):
        if not isinstance(value, dict):
            return [FieldProblem(path, f"must be an object, got {_type_name(value)}")]
        problems: list[FieldProblem] = []
        for key, item in value.items():
            if key not in spec.fields:
                allowed = ", ".join(sorted(spec.fields))
                problems.append(
                    FieldProblem(_join(path, str(key)), f"unknown field (allowed here: {allowed})")
                )
                continue
            problems += validate(item, spec.fields[key], _join(path, str(key)))
        for key in sorted(spec.required - set(value)):
            problems.append(FieldProblem(_join(path, key), "required field is missing"))
        return problems
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            return [FieldProblem(path, f"must be a list, got {_type_name(value)}")]
        out: list[FieldProblem] = []
        for index, item in enumerate(value):
            out += validate(item, spec.item, f"{path}[{index}]")
        return out
    return _scalar(value, spec, path)


def _scalar(value: Any, kind: str, path: str) -> list[FieldProblem]:
    ok: bool
    if kind == "str":
        ok = isinstance(value, str)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "int-or-str":
        ok = isinstance(value, str | int) and not isinstance(value, bool)
    elif kind == "quantity":
        ok = (
            isinstance(value, str | int)
            and not isinstance(value, bool)
            and bool(_QUANTITY_RE.match(str(value)))
        )
    elif kind == "map":
        if not isinstance(value, dict):
            return [FieldProblem(path, f"must be a map of strings, got {_type_name(value)}")]
        return [
            FieldProblem(_join(path, str(k)), f"must be a string, got {_type_name(v)} (quote it in YAML)")
            for k, v in value.items()
            if not isinstance(v, str)
        ]
    else:  # pragma: no cover - a bug in the schema above
        raise ValueError(f"unknown scalar spec {kind!r}")
    if ok:
        return []
    wanted = {"int-or-str": "an integer or a string", "quantity": "a quantity such as 128Mi or 100m"}
    return [FieldProblem(path, f"must be {wanted.get(kind, 'a ' + kind)}, got {_type_name(value)} {value!r}")]


_BINARY_SUFFIX = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Ei": 2**60,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "E": 10**18,
    "m": 10**-3,
}


def parse_quantity(value: str | int) -> float:
    """``128Mi`` -> 134217728, ``500m`` -> 0.5, ``2`` -> 2."""
    text = str(value)
    match = _QUANTITY_RE.match(text)
    if not match:
        raise ValueError(f"not a quantity: {value!r}")
    suffix = match.group(2) or ""
    number = float(text[: len(text) - len(suffix)] if suffix else text)
    return number * _BINARY_SUFFIX.get(suffix, 1)
