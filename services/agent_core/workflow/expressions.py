"""Templating and conditions of workflows: ``${{ expression }}`` over the run's context.

An expression is a small, safe subset of Python read with :mod:`ast` and evaluated by
walking the tree (never ``eval``): literals, lists/dicts, ``and``/``or``/``not``,
comparisons (``==`` ``!=`` ``<`` ``<=`` ``>`` ``>=`` ``in`` ``not in``), arithmetic
(``+ - * / // %`` on numbers, ``+`` on strings and lists), ``a if c else b``, lookups
(``steps.weather.result.temperature_c``, ``input["device-id"]``, ``items[0]``) and calls
of the functions in :data:`FUNCTIONS`. Lookups are forgiving like GitHub Actions': a
missing key or index, or a lookup on null, gives null, so optional inputs need no
guards (``default(input.ts, run.started_at)``).

The roots are ``input``, ``steps`` (``steps.<id>.result`` / ``.status`` / ``.error``),
``run`` (``id``, ``workflow``, ``trigger``, ``started_at``), ``config`` (``prefix``,
``region``, ``lake.<tier>``, ``models.<role>``) and ``now`` (ISO time). Expressions are
parsed when a workflow loads, so a typo in a root or a reference to a later step is an
error of the file, not of a run.

Rendering a value: a string that is exactly one ``${{ ... }}`` becomes the expression's
value with its type (a number stays a number); ``${{ }}`` inside a longer string is
replaced by the value as text (objects and lists as JSON); dicts and lists are rendered
item by item; anything else is returned as is.
"""

from __future__ import annotations

import ast
import functools
import json
import math
import operator
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

ROOTS = ("input", "steps", "run", "config", "now")
MAX_STRING = 1_000_000


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated; the message quotes it."""


def _date(value: Any) -> str | None:
    """``YYYY-MM-DD`` (UTC) of an ISO string or epoch seconds/milliseconds."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d")
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ExpressionError(f"date(): {value!r} is not an ISO time or epoch seconds") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%d")


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(value)).strip("-")[:200]


def _default(*values: Any) -> Any:
    """The first value that is not null or empty."""
    for value in values:
        if value is not None and value not in ("", [], {}):
            return value
    return values[-1] if values else None


def _number(value: Any, kind: Callable[[Any], Any]) -> Any:
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ExpressionError(f"{kind.__name__}(): cannot convert {value!r}") from None


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": lambda v: len(v) if v is not None else 0,
    "round": lambda v, n=0: round(float(v), int(n)) if v is not None else None,
    "min": lambda *v: min(v[0] if len(v) == 1 else v),
    "max": lambda *v: max(v[0] if len(v) == 1 else v),
    "abs": abs,
    "str": lambda v: "" if v is None else str(v),
    "int": lambda v: _number(v, int),
    "float": lambda v: _number(v, float),
    "bool": bool,
    "lower": lambda v: str(v).lower() if v is not None else None,
    "upper": lambda v: str(v).upper() if v is not None else None,
    "default": _default,
    "to_json": lambda v, indent=None: json.dumps(v, indent=indent, sort_keys=True, default=str),
    "from_json": lambda v: json.loads(v) if isinstance(v, str) else v,
    "join": lambda items, sep=", ": sep.join(str(i) for i in (items or [])),
    "keys": lambda v: sorted(v) if isinstance(v, dict) else [],
    "values": lambda v: list(v.values()) if isinstance(v, dict) else [],
    "date": _date,
    "slug": _slug,
    "contains": lambda container, item: container is not None and item in container,
    "sum": lambda items: sum(i for i in (items or []) if isinstance(i, (int, float))),
}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: b is not None and a in b,
    ast.NotIn: lambda a, b: b is None or a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Compare,
    ast.IfExp,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Call,
    ast.keyword,
    *_BINARY,
    *_COMPARE,
)


class Expression:
    """One parsed expression: what it reads, and how to evaluate it."""

    def __init__(self, source: str) -> None:
        self.source = source.strip()
        if not self.source:
            raise ExpressionError("empty expression ${{ }}")
        try:
            self.tree = ast.parse(self.source, mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(f"${{{{ {self.source} }}}}: {exc.msg}") from None
        for node in ast.walk(self.tree):
            if not isinstance(node, _ALLOWED):
                raise ExpressionError(f"${{{{ {self.source} }}}}: {type(node).__name__} is not allowed")
            if isinstance(node, ast.Call) and not (
                isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
            ):
                raise ExpressionError(
                    f"${{{{ {self.source} }}}}: only these functions can be called: "
                    f"{', '.join(sorted(FUNCTIONS))}"
                )
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                raise ExpressionError(f"${{{{ {self.source} }}}}: names starting with _ are not allowed")

    def roots(self) -> set[str]:
        called = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        return {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name) and id(n) not in called}

    def step_refs(self) -> set[str]:
        """Ids of the steps read as ``steps.<id>`` or ``steps["<id>"]``."""
        refs = set()
        for node in ast.walk(self.tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "steps"
            ):
                refs.add(node.attr)
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id == "steps"
                and isinstance(node.slice, ast.Constant)
            ):
                refs.add(str(node.slice.value))
        return refs

    def evaluate(self, context: dict[str, Any]) -> Any:
        try:
            return self._eval(self.tree.body, context)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, KeyError) as exc:
            raise ExpressionError(f"${{{{ {self.source} }}}}: {type(exc).__name__}: {exc}") from None

    def _eval(self, node: ast.AST, ctx: dict[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[node.id]
            if node.id not in ctx:
                raise ExpressionError(f"${{{{ {self.source} }}}}: unknown name {node.id!r}")
            return ctx[node.id]
        if isinstance(node, ast.Attribute):
            return _lookup(self._eval(node.value, ctx), node.attr)
        if isinstance(node, ast.Subscript):
            return _lookup(self._eval(node.value, ctx), self._eval(node.slice, ctx))
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                value: Any = True
                for item in node.values:
                    value = self._eval(item, ctx)
                    if not value:
                        return value
                return value
            value = False
            for item in node.values:
                value = self._eval(item, ctx)
                if value:
                    return value
            return value
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, ctx)
            if isinstance(node.op, ast.Not):
                return not operand
            return -operand if isinstance(node.op, ast.USub) else +operand
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, ctx), self._eval(node.right, ctx)
            if isinstance(node.op, ast.Mult) and not all(isinstance(v, (int, float)) for v in (left, right)):
                raise ExpressionError(f"${{{{ {self.source} }}}}: * works on numbers only")
            result = _BINARY[type(node.op)](left, right)
            if isinstance(result, (str, list)) and len(result) > MAX_STRING:
                raise ExpressionError(f"${{{{ {self.source} }}}}: the result is too large")
            return result
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, ctx)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self._eval(comparator, ctx)
                if (left is None or right is None) and isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                    return False  # null is not ordered: comparisons with it are false
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self._eval(node.body if self._eval(node.test, ctx) else node.orelse, ctx)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self._eval(item, ctx) for item in node.elts]
        if isinstance(node, ast.Dict):
            return {
                self._eval(k, ctx): self._eval(v, ctx)
                for k, v in zip(node.keys, node.values, strict=True)
                if k is not None
            }
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            args = [self._eval(a, ctx) for a in node.args]
            kwargs = {k.arg: self._eval(k.value, ctx) for k in node.keywords if k.arg}
            return FUNCTIONS[node.func.id](*args, **kwargs)
        raise ExpressionError(f"${{{{ {self.source} }}}}: cannot evaluate {type(node).__name__}")


def _lookup(container: Any, key: Any) -> Any:
    if container is None:
        return None
    if isinstance(container, dict):
        return container.get(key)
    if isinstance(container, (list, str)) and isinstance(key, int) and not isinstance(key, bool):
        return container[key] if -len(container) <= key < len(container) else None
    return None


# -- templates ------------------------------------------------------------------------------
def spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, expression)`` of each ``${{ ... }}`` in ``text``.

    The closing ``}}`` is the first one outside brackets and string literals, so an
    expression may hold dict literals (``${{ to_json({"a": {"b": 1}}) }}``).
    """
    found: list[tuple[int, int, str]] = []
    index = 0
    while True:
        start = text.find("${{", index)
        if start < 0:
            return found
        depth, quote, i = 0, "", start + 3
        while i < len(text):
            char = text[i]
            if quote:
                if char == "\\":
                    i += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "([{":
                depth += 1
            elif char in ")]" or (char == "}" and depth > 0):
                depth -= 1
            elif text.startswith("}}", i):
                found.append((start, i + 2, text[start + 3 : i]))
                break
            i += 1
        else:
            raise ExpressionError(f"unclosed ${{{{ in {text[start : start + 60]!r}")
        index = i + 2


def expressions_in(value: Any) -> Iterator[Expression]:
    """Every ``${{ }}`` expression inside a value (strings, dicts, lists), parsed."""
    if isinstance(value, str):
        for _, _, source in spans(value):
            yield Expression(source)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from expressions_in(key)
            yield from expressions_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions_in(item)


def condition(source: str) -> Expression:
    """A ``when:``: ``${{ expr }}`` or a bare expression."""
    text = source.strip()
    found = spans(text)
    if len(found) == 1 and found[0][0] == 0 and found[0][1] == len(text):
        return Expression(found[0][2])
    return Expression(text)


@functools.lru_cache(maxsize=4096)
def compiled(source: str) -> Expression:
    """A parsed expression, cached (workflow templates repeat on every run)."""
    return Expression(source)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(value)
    return str(value)


def render(value: Any, context: dict[str, Any]) -> Any:
    """``value`` with every ``${{ }}`` evaluated (see the module docstring)."""
    if isinstance(value, str):
        if "${{" not in value:
            return value
        found = spans(value)
        text = value.strip()
        if len(found) == 1 and value[found[0][0] : found[0][1]] == text:
            return compiled(found[0][2]).evaluate(context)
        out, last = [], 0
        for start, end, source in found:
            out.append(value[last:start])
            out.append(_as_text(compiled(source).evaluate(context)))
            last = end
        out.append(value[last:])
        return "".join(out)
    if isinstance(value, dict):
        return {render(k, context): render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value
