"""Errors of the lake (a branch of :class:`nexuskit.errors.NexuskitError`).

The tree::

    NexuskitError
    └── LakeError            the lake could not do what was asked
        ├── LakeAccessDenied Lake Formation grants (or the engine) refuse the caller
        ├── LakeNotFoundError     an unknown tier, dataset or key
        ├── QueryError       SQL over the lake failed
        ├── JobError        a medallion job (in-process or Glue job run) failed
        └── DatasetError    a dataset or lake file (lake/) is invalid, or an edit of it would
                            break data silver already holds
"""

from __future__ import annotations

from nexuskit.errors import NexuskitError


class LakeError(NexuskitError):
    """The lake could not do what was asked."""


class LakeAccessDenied(LakeError):  # noqa: N818 - the name the issue asks for
    """The caller lacks the Lake Formation grant for a tier (or the engine denied it)."""

    exit_code = 3

    def __init__(
        self,
        principal: str,
        action: str,
        what: str,
        hint: str | None = None,
        reason: str = "no Lake Formation grant",
    ) -> None:
        self.principal = principal
        self.action = action
        self.what = what
        super().__init__(
            f"{principal} may not {action} {what}: {reason}",
            hint
            or "run `nexuskit lake grants` to see who may read and write each tier; grant SELECT "
            "(read) or INSERT/DELETE (write) on the tier's Glue database to the principal",
        )


class LakeNotFoundError(LakeError):
    """An unknown tier, dataset or key."""

    exit_code = 2


class QueryError(LakeError):
    """SQL over the lake failed."""


class JobError(LakeError):
    """A medallion job failed."""


class DatasetError(LakeError):
    """A dataset or lake file is invalid, or an edit of it is incompatible with stored data."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None, file: str = "", field: str = "") -> None:
        self.file = file
        self.field = field
        super().__init__(message, hint)
