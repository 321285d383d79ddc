"""Record templates: the built-ins (``telemetry``, ``event``, ``sensor``) and YAML files.

``load_template("telemetry", seed=7)`` or ``load_template("orders.yaml", seed=7)`` gives a
fresh, seeded template whose :meth:`~RecordTemplate.fields` makes the type-specific
fields of record ``seq`` at timestamp ``ts``. See :mod:`.builtin` and :mod:`.user`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from nexuskit.producers.errors import TemplateError
from nexuskit.producers.templates.builtin import BUILTIN_TEMPLATES
from nexuskit.producers.templates.clock import Clock, RealClock, SimulatedClock, iso_ms, parse_instant

__all__ = [
    "BUILTIN_TEMPLATES",
    "Clock",
    "RealClock",
    "RecordTemplate",
    "SimulatedClock",
    "iso_ms",
    "list_templates",
    "load_template",
    "parse_instant",
]


class RecordTemplate(Protocol):
    """Makes the fields of one record type (deterministic for its seed)."""

    name: str
    record_type: str
    #: the field naming the record's entity (partition key strategy ``entity``)
    entity_field: str | None

    def fields(self, seq: int, ts: float) -> dict[str, Any]: ...


def load_template(name_or_file: str, seed: int) -> RecordTemplate:
    """A built-in template by name, or a YAML template from a file."""
    if name_or_file in BUILTIN_TEMPLATES:
        factory, _ = BUILTIN_TEMPLATES[name_or_file]
        template: RecordTemplate = factory(seed=seed)
        return template
    path = Path(name_or_file)
    if path.suffix.lower() in {".yaml", ".yml"} or path.exists():
        from nexuskit.producers.templates.user import load_user_template

        if not path.exists():
            raise TemplateError(f"template file {path} does not exist")
        return load_user_template(path, seed)
    raise TemplateError(
        f"no template named {name_or_file!r}",
        f"use one of {', '.join(BUILTIN_TEMPLATES)} or the path of a YAML template",
    )


def list_templates() -> list[dict[str, str]]:
    """The built-in templates (name = record type) with a line about each."""
    return [
        {"name": name, "type": name, "description": text} for name, (_, text) in BUILTIN_TEMPLATES.items()
    ]
