"""Unknown fields: found and dropped before a document is validated (``fieldValidation``)."""

from __future__ import annotations

from typing import Any

from emulation.runtime.schema import ListOf, Obj, Spec


def prune_unknown(value: Any, spec: Spec, path: str = "") -> list[str]:
    """Remove, in place, every field ``spec`` does not know; their dotted paths."""
    found: list[str] = []
    if isinstance(spec, Obj) and isinstance(value, dict):
        for key in list(value):
            here = f"{path}.{key}" if path else str(key)
            if key not in spec.fields:
                del value[key]
                found.append(here)
            else:
                found += prune_unknown(value[key], spec.fields[key], here)
    elif isinstance(spec, ListOf) and isinstance(value, list):
        for index, item in enumerate(value):
            found += prune_unknown(item, spec.item, f"{path}[{index}]")
    return found
