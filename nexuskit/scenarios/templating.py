"""Small, safe templating between steps: ``{{ path | filter }}``, ``$repeat``, ``$json``.

No expression language and no ``eval``: a template is a dotted path into the run's
context (``steps.tok.credentials.AccessKeyId``, ``vars.count``, ``scenario.run_id``,
``stack.streams.client``, list indexes as ``.0`` or ``[0]``) followed by zero or more
filters from :data:`FILTERS`. A string that is exactly one template keeps the value's
type (an int stays an int, a mapping stays a mapping); otherwise values are interpolated
as text (mappings and lists as compact JSON).

Two directives build data:

* ``{"$repeat": {"count": N, "as": "i", "item": ...}}`` -> a list of N rendered items,
  with ``{{ i }}`` (0-based) in scope;
* ``{"$json": value}`` -> the rendered value as compact JSON text; ``{"$jsonl": value}``
  the same plus a newline (one JSON-lines record, as producers write them).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from nexuskit.errors import ScenarioError

_TEMPLATE_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_SEGMENT_RE = re.compile(r"[^.\[\]]+|\[(-?\d+)\]|\[['\"]([^'\"]+)['\"]\]")
MAX_REPEAT = 100_000


def _length(value: Any) -> int:
    return len(value)


def _keys(value: Any) -> list[str]:
    return sorted(value)


def _b64encode(value: Any) -> str:
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return base64.b64encode(data).decode("ascii")


def _b64decode(value: Any) -> str:
    return base64.b64decode(str(value)).decode("utf-8", "replace")


def _from_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


FILTERS: dict[str, Callable[[Any], Any]] = {
    "json": lambda v: json.dumps(v, separators=(",", ":"), sort_keys=True, default=str),
    "from_json": _from_json,
    "length": _length,
    "int": int,
    "float": float,
    "str": str,
    "lower": lambda v: str(v).lower(),
    "upper": lambda v: str(v).upper(),
    "first": lambda v: v[0],
    "last": lambda v: v[-1],
    "keys": _keys,
    "b64encode": _b64encode,
    "b64decode": _b64decode,
}


class TemplateError(ScenarioError):
    """A template names something that is not there, or uses an unknown filter."""


def _segments(path: str) -> list[str | int]:
    out: list[str | int] = []
    for match in _SEGMENT_RE.finditer(path):
        index, quoted = match.group(1), match.group(2)
        if index is not None:
            out.append(int(index))
        elif quoted is not None:
            out.append(quoted)
        else:
            text = match.group(0).strip()
            out.append(int(text) if text.lstrip("-").isdigit() else text)
    return out


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` in ``context``; TemplateError saying where it stopped."""
    value: Any = context
    walked: list[str] = []
    for part in _segments(path):
        where = ".".join(walked) or "the context"
        segment: str | int = part
        if isinstance(value, Mapping):
            if segment not in value and str(segment) in value:
                segment = str(segment)
            if segment not in value:
                keys = ", ".join(sorted(str(k) for k in value)[:20]) or "none"
                raise TemplateError(f"{where} has no {segment!r} (it has: {keys})")
            value = value[segment]
        elif isinstance(value, list | tuple):
            if not isinstance(segment, int):
                raise TemplateError(f"{where} is a list; index it with a number, not {segment!r}")
            if not -len(value) <= segment < len(value):
                raise TemplateError(f"{where} has {len(value)} items; there is no item {segment}")
            value = value[segment]
        else:
            raise TemplateError(f"{where} is {type(value).__name__} {value!r}; it has no {segment!r}")
        walked.append(str(segment))
    return value


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """One ``path | filter | filter`` expression."""
    parts = [p.strip() for p in expression.split("|")]
    if not parts[0]:
        raise TemplateError("an empty template {{ }}")
    value = lookup(context, parts[0])
    for name in parts[1:]:
        func = FILTERS.get(name)
        if func is None:
            raise TemplateError(f"unknown filter {name!r}", f"filters: {', '.join(sorted(FILTERS))}")
        try:
            value = func(value)
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise TemplateError(f"filter {name!r} cannot take {value!r} ({exc})") from None
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | bool) or value is None:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return str(value)


def render_string(text: str, context: Mapping[str, Any]) -> Any:
    """Render the templates in one string (a lone template keeps its value's type)."""
    matches = list(_TEMPLATE_RE.finditer(text))
    if not matches:
        return text
    try:
        if len(matches) == 1 and matches[0].span() == (0, len(text)):
            return evaluate(matches[0].group(1), context)
        return _TEMPLATE_RE.sub(lambda m: _text(evaluate(m.group(1), context)), text)
    except TemplateError as exc:
        raise TemplateError(f"template {text!r}: {exc.message}", exc.hint) from None


def _repeat(spec: Any, context: Mapping[str, Any]) -> list[Any]:
    if not isinstance(spec, Mapping) or "item" not in spec or "count" not in spec:
        raise TemplateError("$repeat needs a mapping with count and item (and optionally as)")
    count = render(spec["count"], context)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_REPEAT:
        raise TemplateError(f"$repeat count must be an integer from 0 to {MAX_REPEAT}, not {count!r}")
    name = str(spec.get("as", "i"))
    return [render(spec["item"], {**context, name: index}) for index in range(count)]


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template and directive in a (YAML-shaped) value."""
    if isinstance(value, str):
        return render_string(value, context)
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if isinstance(value, Mapping):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == "$repeat":
                return _repeat(inner, context)
            if key == "$json":
                return json.dumps(render(inner, context), separators=(",", ":"), default=str)
            if key == "$jsonl":
                return json.dumps(render(inner, context), separators=(",", ":"), default=str) + "\n"
        return {
            render_string(k, context) if isinstance(k, str) else k: render(v, context)
            for k, v in value.items()
        }
    return value


def has_template(value: Any) -> bool:
    """Whether a value holds any template or directive."""
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    if isinstance(value, Mapping):
        return any(str(k).startswith("$") or has_template(v) for k, v in value.items())
    return False
