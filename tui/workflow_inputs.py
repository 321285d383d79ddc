"""A workflow's declared inputs as form fields: what each field takes, and checking what was typed.

agent-core's catalogue (:func:`nexuskit.workflows.list_workflows`) gives each workflow's
``input``: ``required`` names and ``properties`` in a small JSON-Schema subset — ``type``
(one or a list of ``string``, ``number``, ``integer``, ``boolean``, ``object``, ``array``),
``description``, ``enum``, ``minimum``, ``maximum``, ``minLength`` and ``default``. The
Workflows screen builds one field per property (:func:`input_fields`) and turns the texts
typed into the input document (:func:`read_form`), with one message per field that is
wrong. The check and its messages are agent-core's own
(:func:`nexuskit.workflows.input_problems`, agent-core's input model), so a form that
passes is not refused, and says what agent-core would say. Nothing here imports Textual.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from nexuskit.workflows import input_problems

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
    #: the property as the catalogue declares it (what agent-core's check reads)
    spec: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, hash=False, repr=False)

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
                spec=dict(spec),
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


def _typed(field: InputField, text: str) -> Any:
    """``text`` as a value of one of the field's types; ValueError when it is none of them."""
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
    raise ValueError(f"not {' or '.join(field.types)}")


def loose_value(field: InputField, text: str) -> Any:
    """What was typed, typed when it can be (``900`` stays a number even above the maximum), else the text."""
    try:
        return _typed(field, text)
    except ValueError:
        return text


def _schema(fields: list[InputField]) -> dict[str, Any]:
    """The declaration of ``fields`` as agent-core reads it (the catalogue's ``input``)."""
    return {
        "required": [field.name for field in fields if field.required],
        "properties": {field.name: field.spec for field in fields},
    }


def _document(fields: list[InputField], texts: dict[str, str]) -> dict[str, Any]:
    """The values typed (a field left empty is not sent), typed when they can be."""
    return {
        field.name: loose_value(field, texts[field.name])
        for field in fields
        if texts.get(field.name, "").strip()
    }


def read_value(field: InputField, text: str) -> Any:
    """The value typed for ``field`` (``None``: left empty, not sent); ValueError with
    agent-core's message when agent-core would refuse it."""
    document = _document([field], {field.name: text})
    problem = input_problems(_schema([field]), document).get(field.name)
    if problem:
        raise ValueError(problem)
    return document.get(field.name)


def read_form(fields: list[InputField], texts: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The input document from the texts typed (by field name), and a message per wrong field."""
    typed = _document(fields, texts)
    problems = input_problems(_schema(fields), typed)
    return {name: value for name, value in typed.items() if name not in problems}, problems


def form_texts(fields: list[InputField], document: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The texts that show ``document`` in the form, and the keys the form has no field for."""
    names = {field.name for field in fields}
    texts = {field.name: to_text(document.get(field.name)) for field in fields}
    return texts, [key for key in document if key not in names]


def starting_texts(fields: list[InputField]) -> dict[str, str]:
    """What a fresh form shows: each field's default."""
    return {field.name: to_text(field.default) for field in fields}
