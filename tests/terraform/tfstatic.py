"""Static reading of the Terraform code with python-hcl2: load a folder, resolve names.

There is no terraform binary on the machines that run the tests, so the invariants of the
spec are checked on the parsed HCL. python-hcl2 8 returns block labels and string literals
with their quotes (``'"aws_s3_bucket"'``, ``'"nexus"'``) and expressions wrapped in
``${...}`` (``'${var.region}'``); :func:`load_config` strips the label quotes, and
:class:`Scope` evaluates the small subset of expressions that names and sizes are written
in: string templates and references to ``var.*``, ``local.*``, ``each.key`` and
``each.value`` (with ``.attr`` and ``["key"]`` traversal), plus ``tostring(...)`` and
``toset(...)``. Anything else raises :class:`UnresolvableError`, which keeps the naming
expressions of the HCL simple on purpose.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

REPO_ROOT = Path(__file__).resolve().parents[2]
TF_ROOT = REPO_ROOT / "terraform"

_META_KEYS = {"__is_block__", "__start_line__", "__end_line__"}
_INTERPOLATION = re.compile(r"\$\{([^{}]+)\}")
_REFERENCE = re.compile(r"^(?P<head>var|local|each)(?P<path>(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\"[^\"]*\"\])+)$")
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[\"([^\"]*)\"\]")
_CALL = re.compile(r"^(?P<fn>tostring|toset)\((?P<arg>.+)\)$")


class UnresolvableError(ValueError):
    """An expression outside the subset that names and sizes may be written in."""


def unquote(label: str) -> str:
    """``'"aws_s3_bucket"'`` -> ``'aws_s3_bucket'`` (block labels and map keys)."""
    if len(label) >= 2 and label[0] == '"' and label[-1] == '"':
        return label[1:-1]
    return label


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {unquote(k): _clean(v) for k, v in value.items() if k not in _META_KEYS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${") and value.endswith("}")


def expression(value: Any) -> str:
    """The text of an expression attribute: ``'${var.x}'`` -> ``'var.x'``."""
    if not is_expression(value):
        raise AssertionError(f"expected an expression, got {value!r}")
    return str(value)[2:-1].strip()


def literal(value: Any) -> Any:
    """A literal attribute value: strings lose their quotes; others pass through."""
    if isinstance(value, str):
        if is_expression(value):
            raise AssertionError(f"expected a literal, got the expression {value!r}")
        return unquote(value)
    return value


def source(value: Any) -> Any:
    """Literal or expression, as written: quotes stripped, ``${...}`` kept."""
    return unquote(value) if isinstance(value, str) else value


@dataclass
class Config:
    """The blocks of one Terraform folder (a module or a stack), merged over its files."""

    path: Path
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    ephemeral: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    providers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        try:
            return self.resources[rtype][name]
        except KeyError:
            raise AssertionError(f"{self.path.name}: no resource {rtype}.{name}") from None

    def data_source(self, dtype: str, name: str) -> dict[str, Any]:
        try:
            return self.data[dtype][name]
        except KeyError:
            raise AssertionError(f"{self.path.name}: no data source {dtype}.{name}") from None

    def module(self, name: str) -> dict[str, Any]:
        try:
            return self.modules[name]
        except KeyError:
            raise AssertionError(f"{self.path.name}: no module {name!r}") from None

    def text(self) -> str:
        return "\n".join(p.read_text(encoding="utf-8") for p in sorted(self.path.glob("*.tf")))


def _merge_labelled(target: dict[str, Any], blocks: list[dict[str, Any]], depth: int) -> None:
    for block in blocks:
        for label, body in block.items():
            if depth == 2:
                for name, inner in body.items():
                    target.setdefault(label, {})[name] = inner
            else:
                target[label] = body


@cache
def load_config(path: Path) -> Config:
    """Parse every ``*.tf`` file of a folder into one :class:`Config`."""
    config = Config(path=path)
    files = sorted(path.glob("*.tf"))
    if not files:
        raise AssertionError(f"{path}: no .tf files")
    for file in files:
        with file.open(encoding="utf-8") as handle:
            parsed = _clean(hcl2.load(handle))
        _merge_labelled(config.resources, parsed.get("resource", []), 2)
        _merge_labelled(config.data, parsed.get("data", []), 2)
        _merge_labelled(config.ephemeral, parsed.get("ephemeral", []), 2)
        _merge_labelled(config.modules, parsed.get("module", []), 1)
        _merge_labelled(config.variables, parsed.get("variable", []), 1)
        _merge_labelled(config.outputs, parsed.get("output", []), 1)
        _merge_labelled(config.checks, parsed.get("check", []), 1)
        for block in parsed.get("locals", []):
            config.locals.update(block)
        for block in parsed.get("provider", []):
            for name, body in block.items():
                config.providers.setdefault(name, []).append(body)
        config.terraform.extend(parsed.get("terraform", []))
    return config


def module_dir(name: str, root: Path = TF_ROOT) -> Path:
    return root / "modules" / name


def stack_dir(name: str, root: Path = TF_ROOT) -> Path:
    return root / "stacks" / name


def load_tfvars(env: str, root: Path = TF_ROOT) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (root / "envs" / env / "terraform.tfvars.json").read_text(encoding="utf-8")
    )
    return data


class _Deferred:
    """A module argument that is not a name/size expression (e.g. another module's output)."""

    def __init__(self, text: str) -> None:
        self.text = text


class Scope:
    """Evaluates name and size expressions of one folder, given its variables' values."""

    def __init__(
        self,
        config: Config,
        variables: dict[str, Any],
        each: tuple[Any, Any] | None = None,
    ) -> None:
        self.config = config
        self.variables = variables
        self.each = each

    def with_each(self, key: Any, value: Any = None) -> Scope:
        return Scope(self.config, self.variables, (key, key if value is None else value))

    # -- references -------------------------------------------------------------------------
    def reference(self, text: str) -> Any:
        text = text.strip()
        call = _CALL.match(text)
        if call:
            value = self.reference(call["arg"])
            if call["fn"] == "tostring":
                return _to_string(value)
            return sorted(set(value))
        match = _REFERENCE.match(text)
        if not match:
            raise UnresolvableError(f"{self.config.path.name}: cannot resolve {text!r}")
        segments = [a or b for a, b in _SEGMENT.findall(match["path"])]
        head = match["head"]
        if head == "var":
            name, rest = segments[0], segments[1:]
            if name in self.variables:
                value = self.variables[name]
            elif name in self.config.variables and "default" in self.config.variables[name]:
                value = self.resolve(self.config.variables[name]["default"])
            else:
                raise UnresolvableError(f"{self.config.path.name}: var.{name} has no value")
        elif head == "local":
            name, rest = segments[0], segments[1:]
            if name not in self.config.locals:
                raise UnresolvableError(f"{self.config.path.name}: no local.{name}")
            value = Scope(self.config, self.variables).resolve(self.config.locals[name])
        else:
            if self.each is None:
                raise UnresolvableError(f"{self.config.path.name}: each.* outside for_each")
            name, rest = segments[0], segments[1:]
            value = {"key": self.each[0], "value": self.each[1]}[name]
        if isinstance(value, _Deferred):
            raise UnresolvableError(f"{self.config.path.name}: {text!r} is {value.text!r}")
        for segment in rest:
            if not isinstance(value, dict) or segment not in value:
                raise UnresolvableError(f"{self.config.path.name}: {text!r} has no {segment!r}")
            value = value[segment]
        return value

    # -- values -----------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """The value of an attribute (literal, template or simple reference)."""
        if isinstance(value, _Deferred):
            raise UnresolvableError(value.text)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if is_expression(value):
            return self.reference(expression(value))
        if isinstance(value, str) and value.startswith('"') and value.endswith('"'):
            template = value[1:-1]
            return _INTERPOLATION.sub(lambda m: _to_string(self.reference(m[1])), template)
        raise UnresolvableError(f"{self.config.path.name}: cannot resolve {value!r}")


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    raise UnresolvableError(f"not a primitive: {value!r}")


def stack_scope(env: str, root: Path = TF_ROOT) -> Scope:
    """The platform stack evaluated with ``envs/<env>/terraform.tfvars.json``."""
    return Scope(load_config(stack_dir("platform", root)), load_tfvars(env, root))


def module_scope(stack: Scope, module_name: str) -> Scope:
    """A module of the stack, its variables bound to the stack's arguments."""
    block = stack.config.module(module_name)
    source = literal(block["source"])
    module_config = load_config((stack.config.path / source).resolve())
    arguments: dict[str, Any] = {}
    for name, value in block.items():
        if name in {"source", "count", "for_each", "depends_on", "providers", "version"}:
            continue
        try:
            arguments[name] = stack.resolve(value)
        except UnresolvableError:
            arguments[name] = _Deferred(str(value))
    return Scope(module_config, arguments)


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of an ``aws_iam_policy_document`` data source, dynamic ones included."""
    found = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        for label, body in dynamic.items():
            if label == "statement":
                found.extend(body.get("content", []))
    return found


def sid_actions(document: dict[str, Any]) -> dict[str, list[str]]:
    """``Sid -> sorted actions`` of a policy document data source."""
    result: dict[str, list[str]] = {}
    for statement in statements(document):
        sid = literal(statement["sid"])
        result[sid] = sorted(literal(a) for a in statement["actions"])
    return result
