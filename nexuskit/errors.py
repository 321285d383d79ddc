"""Errors raised by nexuskit.

Every error the kit raises on purpose derives from :class:`NexuskitError`, which carries a
one-line ``message`` (what was wrong) and an optional ``hint`` (what to do). The CLI maps
them to one line on stderr and a non-zero exit; the TUI shows them as notifications.

The tree::

    NexuskitError
    ├── ConfigError        a parameter file or setting is missing or invalid
    ├── EngineError        the embedded (or LocalStack) engine cannot start, stop or answer
    │   └── PortInUseError the engine's port is taken by another process
    ├── ProvisionError     a resource of the stack could not be created
    ├── ToolMissingError   an optional external tool (docker, kind, kubectl, terraform) is absent
    ├── ScenarioError      a scenario file is invalid or a scenario step failed
    └── PromotionError     a promotion gate failed

Areas define their own subclasses next to their code:

* ``nexuskit.edge.errors``: ``EdgeError`` (deploying the auth function and HTTP API),
  ``TokenError`` (issuing or verifying a bearer token)
* ``nexuskit.controlplane.client``: ``ControlPlaneError`` (the process runtime's API)
* ``nexuskit.producers.errors``: ``ProducerError`` with ``TemplateError``, ``VideoError``,
  ``RunNotFoundError``
* ``nexuskit.lake.errors``: ``LakeError`` with ``LakeAccessDenied`` (no Lake Formation
  grant), ``LakeNotFoundError``, ``QueryError``, ``JobError``
* ``nexuskit.workflows`` / ``nexuskit.mcpclient``: ``WorkflowError``, ``McpClientError``,
  ``ToolCallError``
"""

from __future__ import annotations


class NexuskitError(Exception):
    """Base class: a message that says what was wrong, and optionally what to do."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class ConfigError(NexuskitError):
    """A parameter file or setting is missing or invalid."""

    exit_code = 2


class EngineError(NexuskitError):
    """The engine could not be started, stopped or reached."""


class PortInUseError(EngineError):
    """The engine's port is already bound by another process."""


class ProvisionError(NexuskitError):
    """A resource of the stack could not be provisioned."""


class ToolMissingError(NexuskitError):
    """An optional external tool is not installed on this machine."""


class ScenarioError(NexuskitError):
    """A scenario file is invalid or one of its steps failed."""


class PromotionError(NexuskitError):
    """A promotion gate failed."""
