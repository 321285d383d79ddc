"""Errors of running Terraform: one line that says what failed, and what to do."""

from __future__ import annotations

from nexuskit.errors import NexuskitError


class TerraformError(NexuskitError):
    """A terraform command failed; the message quotes terraform's own ``Error:`` line."""


class ProviderMissingError(TerraformError):
    """A provider a stack needs is in no mirror and could not be installed."""
