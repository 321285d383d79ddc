"""Record templates: the built-ins (``telemetry``, ``event``, ``sensor``) and YAML files.

``load_template("telemetry", seed=7)`` or ``load_template("orders.yaml", seed=7)`` gives a
fresh, seeded template whose :meth:`~RecordTemplate.fields` makes the type-specific
fields of record ``seq`` at timestamp ``ts``. See :mod:`.registry`, :mod:`.builtin` and
:mod:`.user`.
"""

from __future__ import annotations

from nexuskit.producers.templates.builtin import BUILTIN_TEMPLATES
from nexuskit.producers.templates.clock import Clock, RealClock, SimulatedClock, iso_ms, parse_instant
from nexuskit.producers.templates.registry import RecordTemplate, list_templates, load_template

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
