"""Errors of the process runtime.

``ProcessRuntimeError``
    base class; the daemon maps each to a one-line message and an exit code.
``ManifestError``
    a manifest is invalid: names the file, the object and the field.
``ObjectNotFoundError``
    the control API was asked about a deployment, pod or namespace that does not exist.
``InvalidRequestError``
    the control API got a malformed request (bad replica count, bad JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


class ProcessRuntimeError(Exception):
    """Base class of the runtime's own errors."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ManifestError(ProcessRuntimeError):
    """An invalid manifest: ``file``, ``field`` (a dotted path) and what is wrong with it."""

    status = 422

    def __init__(
        self,
        origin: Any,
        field: str,
        problem: str,
        label: str = "",
        more: Sequence[Any] = (),
    ) -> None:
        self.origin = origin
        self.file = Path(getattr(origin, "file", origin))
        self.field = field
        self.problem = problem
        self.label = label
        self.more = list(more)
        parts = [str(origin)] if origin is not None and str(origin) else []
        if label:
            parts.append(label)
        if field:
            parts.append(field)
        parts.append(problem)
        message = ": ".join(parts)
        if self.more:
            message += f" (and {len(self.more)} more: " + "; ".join(str(p) for p in self.more[:3]) + ")"
        super().__init__(message)

    @property
    def causes(self) -> list[tuple[str, str]]:
        """Every problem as (field, message): this one first, then the others it carries."""
        out = [(self.field, self.problem)]
        for other in self.more:
            if isinstance(other, ManifestError):
                out += other.causes
            else:  # a schema FieldProblem (path, message), or a plain text
                out.append((str(getattr(other, "path", "")), str(getattr(other, "message", other))))
        return out

    @classmethod
    def combine(cls, errors: Sequence[ManifestError]) -> ManifestError:
        """The first error, mentioning how many others there are."""
        first = errors[0]
        if len(errors) == 1:
            return first
        combined = cls(first.origin, first.field, first.problem, first.label, [*first.more, *errors[1:]])
        rest = [f"{e.file.name}: {e.field or e.problem}" for e in errors[1:]]
        combined.args = (cls(first.origin, first.field, first.problem, first.label, rest).message,)
        combined.message = combined.args[0]
        return combined


class ObjectNotFoundError(ProcessRuntimeError):
    status = 404


class InvalidRequestError(ProcessRuntimeError):
    status = 400
