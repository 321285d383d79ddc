"""A workflow's declared inputs as form fields: what each field takes, and checking what was typed.

agent-core's catalogue (:func:`nexuskit.workflows.list_workflows`) gives each workflow's
``input``: ``required`` names and ``properties`` in a small JSON-Schema subset — ``type``
(one or a list of ``string``, ``number``, ``integer``, ``boolean``, ``object``, ``array``),
``description``, ``enum``, ``minimum``, ``maximum``, ``minLength`` and ``default``. The
Workflows screen builds one field per property (:func:`input_fields`) and turns the texts
typed into the input document (:func:`read_form`), with one message per field that is
wrong — the checks agent-core makes (``Workflow.validate_input``), so a form that passes
is not refused. Nothing here imports Textual.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

TYPES = ("string", "number", "integer", "boolean", "object", "array")
#: the order in which a text is tried against a field that takes several types
_TRY_ORDER = ("boolean", "integer", "number", "object", "array", "string")


@dataclass(frozen=True)
class InputField:
    """One declared input of a workflow."""

    name: str
    types: tuple[str, ...]
    required: bool = False
    description: str = ""
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    default: Any = None

    @property
    def kind(self) -> str:
        """How the form asks for it: ``choice`` (enum or boolean), ``json`` (object/array), or ``text``."""
        if self.enum is not None or self.types == ("boolean",):
            return "choice"
        if set(self.types) <= {"object", "array"} and self.types:
            return "json"
        return "text"

    @property
    def choices(self) -> list[Any]:
        if self.enum is not None:
            return list(self.enum)
        return [True, False] if self.types == ("boolean",) else []

    @property
    def numeric(self) -> bool:
        return bool(self.types) and set(self.types) <= {"number", "integer"}

    def hint(self) -> str:
        """``integer 0-500, default 30`` — what the field takes, in a few words."""
        parts = [" or ".join(self.types) if self.types else "any JSON value"]
        if self.minimum is not None or self.maximum is not None:
            low = "" if self.minimum is None else f"{self.minimum:g}"
            high = "" if self.maximum is None else f"{self.maximum:g}"
            parts[0] += f" {low}..{high}"
        if self.min_length:
            parts.append(f"at least {self.min_length} long")
        if self.default is not None:
            parts.append(f"default {to_text(self.default)}")
        return ", ".join(parts)

    def placeholder(self) -> str:
        return self.description or self.hint()


def input_fields(item: dict[str, Any]) -> list[InputField]:
    """The fields of a catalogue entry, required ones first (in the order declared)."""
    schema = item.get("input") or {}
    properties: dict[str, Any] = schema.get("properties") or {}
    required = [str(name) for name in schema.get("required") or []]
    names = [*required, *(name for name in properties if name not in required)]
    found = []
    for name in names:
        spec = properties.get(name) or {}
        declared = spec.get("type")
        types = tuple(declared) if isinstance(declared, list) else ((declared,) if declared else ())
        enum = spec.get("enum")
        found.append(
            InputField(
                name=name,
                types=tuple(str(t) for t in types),
                required=name in required,
                description=str(spec.get("description") or ""),
                enum=tuple(enum) if isinstance(enum, list) else None,
                minimum=spec.get("minimum"),
                maximum=spec.get("maximum"),
                min_length=spec.get("minLength", spec.get("min_length")),
                default=spec.get("default"),
            )
        )
    return found


def to_text(value: Any) -> str:
    """A value as it is typed in a field (``""`` for none)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _as(kind: str, text: str) -> Any:
    """``text`` as a value of JSON type ``kind``; ValueError when it is not one."""
    if kind == "string":
        return text
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered in {"true", "false"}:
            return lowered == "true"
        raise ValueError
    if kind == "integer":
        return int(text.strip())
    if kind == "number":
        stripped = text.strip()
        try:
            return int(stripped)
        except ValueError:
            number = float(stripped)
            if not math.isfinite(number):
                raise ValueError from None
            return number
    value = json.loads(text)
    if kind == "object" and not isinstance(value, dict):
        raise ValueError
    if kind == "array" and not isinstance(value, list):
        raise ValueError
    return value


_WHAT = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": 'a JSON object, e.g. {"key": 1}',
    "array": "a JSON list, e.g. [1, 2]",
}


def _typed(field: InputField, text: str) -> Any:
    """``text`` as a value of one of the field's types; ValueError says which types it takes."""
    if not field.types:
        try:
            return json.loads(text)
        except ValueError:
            return text
    for kind in sorted(field.types, key=lambda k: _TRY_ORDER.index(k) if k in _TRY_ORDER else 99):
        try:
            return _as(kind, text)
        except ValueError:
            continue
    raise ValueError("must be " + " or ".join(_WHAT.get(k, k) for k in field.types))


def loose_value(field: InputField, text: str) -> Any:
    """What was typed, typed when it can be (``900`` stays a number even above the maximum), else the text."""
    try:
        return _typed(field, text)
    except ValueError:
        return text


def read_value(field: InputField, text: str) -> Any:
    """The value typed for ``field`` (``None``: left empty, not sent); ValueError says what is wrong."""
    if not text.strip():
        if field.required:  # agent-core checks required inputs before it fills in defaults
            raise ValueError("required")
        return None
    value = _typed(field, text)
    problem = check_value(field, value)
    if problem:
        raise ValueError(problem)
    return value


def check_value(field: InputField, value: Any) -> str | None:
    """What is wrong with ``value`` for ``field`` beyond its type, or None."""
    if field.enum is not None and value not in field.enum:
        return "must be one of " + ", ".join(to_text(choice) for choice in field.enum)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if field.minimum is not None and value < field.minimum:
            return f"must be at least {field.minimum:g}"
        if field.maximum is not None and value > field.maximum:
            return f"must be at most {field.maximum:g}"
    if field.min_length is not None and isinstance(value, str | list) and len(value) < field.min_length:
        unit = "character" if isinstance(value, str) else "item"
        return f"must have at least {field.min_length} {unit}{'s' if field.min_length != 1 else ''}"
    return None


def read_form(fields: list[InputField], texts: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The input document from the texts typed (by field name), and a message per wrong field."""
    document: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field in fields:
        try:
            value = read_value(field, texts.get(field.name, ""))
        except ValueError as exc:
            problems[field.name] = str(exc)
            continue
        if value is not None:
            document[field.name] = value
    return document, problems


def form_texts(fields: list[InputField], document: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The texts that show ``document`` in the form, and the keys the form has no field for."""
    names = {field.name for field in fields}
    texts = {field.name: to_text(document.get(field.name)) for field in fields}
    return texts, [key for key in document if key not in names]


def starting_texts(fields: list[InputField]) -> dict[str, str]:
    """What a fresh form shows: each field's default."""
    return {field.name: to_text(field.default) for field in fields}
