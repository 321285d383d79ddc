"""Kubernetes API errors: each a ``Status`` object with the code and reason a real API server gives.

``KubeError`` is the base (``code``, ``reason``, ``message``, ``details``); the handlers
raise the subclasses below and the server writes :meth:`KubeError.status`. Messages
follow the API server's wording, so clients that match on them (kubectl prints them as
``Error from server (NotFound): deployments.apps "x" not found``) read them as usual.
"""

from __future__ import annotations

from typing import Any


class KubeError(Exception):
    """An API answer that is not a success."""

    code = 500
    reason = "InternalError"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status


class BadRequestError(KubeError):
    code, reason = 400, "BadRequest"


class UnauthorizedError(KubeError):
    code, reason = 401, "Unauthorized"

    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message)


class ForbiddenError(KubeError):
    code, reason = 403, "Forbidden"


class NotFoundError(KubeError):
    code, reason = 404, "NotFound"


class MethodNotAllowedError(KubeError):
    code, reason = 405, "MethodNotAllowed"


class NotAcceptableError(KubeError):
    code, reason = 406, "NotAcceptable"


class AlreadyExistsError(KubeError):
    code, reason = 409, "AlreadyExists"


class ConflictError(KubeError):
    code, reason = 409, "Conflict"


class GoneError(KubeError):
    code, reason = 410, "Expired"


class TooLargeError(KubeError):
    code, reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaTypeError(KubeError):
    code, reason = 415, "UnsupportedMediaType"


class InvalidError(KubeError):
    code, reason = 422, "Invalid"


def resource_label(resource: str, group: str) -> str:
    """``deployments.apps``, or ``pods`` for the core group."""
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> NotFoundError:
    return NotFoundError(
        f'{resource_label(resource, group)} "{name}" not found',
        {"name": name, "group": group, "kind": resource},
    )


def already_exists(resource: str, group: str, name: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f'{resource_label(resource, group)} "{name}" already exists',
        {"name": name, "group": group, "kind": resource},
    )


def conflict(resource: str, group: str, name: str) -> ConflictError:
    return ConflictError(
        f'Operation cannot be fulfilled on {resource_label(resource, group)} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        {"name": name, "group": group, "kind": resource},
    )


#: the API server's cause reason for a message that starts so
_CAUSE_REASONS = (
    ("Required value", "FieldValueRequired"),
    ("required field is missing", "FieldValueRequired"),
    ("Unsupported value", "FieldValueNotSupported"),
    ("unknown field", "FieldValueNotSupported"),
    ("Forbidden", "FieldValueForbidden"),
    ("Duplicate value", "FieldValueDuplicate"),
    ("also declared", "FieldValueDuplicate"),
    ("field is immutable", "FieldValueInvalid"),
)


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> InvalidError:
    """422 ``<Kind>.<group> "name" is invalid: field: problem`` with one cause per problem."""
    entries = []
    for field, problem in causes:
        reason = next((r for prefix, r in _CAUSE_REASONS if prefix in problem), "FieldValueInvalid")
        entries.append({"reason": reason, "message": problem, "field": field})
    texts = [f"{field}: {problem}" if field else problem for field, problem in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    label = f"{kind}.{group}" if group else kind
    return InvalidError(
        f'{label} "{name}" is invalid: {summary}',
        {"name": name, "group": group, "kind": kind, "causes": entries},
    )
