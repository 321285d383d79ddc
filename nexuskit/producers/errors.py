"""Errors of the producers (data and video) and of delivery proofs.

All derive from :class:`~nexuskit.errors.NexuskitError` (message + hint)::

    NexuskitError
    └── ProducerError      a producer cannot start or run (bad option, no stack, denied)
        ├── TemplateError  a template is unknown or invalid (names the file, line and field)
        ├── VideoError     a video fragment cannot be encoded or PutMedia refused it
        └── RunNotFoundError  ``produce verify`` was given a run id with no run record
"""

from __future__ import annotations

from nexuskit.errors import NexuskitError


class ProducerError(NexuskitError):
    """A producer cannot start or run."""


class TemplateError(ProducerError):
    """A template is unknown or invalid; the message names the file, line and field."""

    exit_code = 2


class VideoError(ProducerError):
    """A video fragment could not be encoded, or PutMedia refused it."""


class RunNotFoundError(ProducerError):
    """No run record for the run id (the run was made elsewhere, or with --dry-run)."""
