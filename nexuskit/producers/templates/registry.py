"""The template registry: the built-ins by name, YAML templates by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from nexuskit.producers.errors import TemplateError
from nexuskit.producers.templates.builtin import BUILTIN_TEMPLATES


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
