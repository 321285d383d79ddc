"""Errors of the edge (auth Lambda + HTTP API) and of the token client.

Both derive from :class:`~nexuskit.errors.NexuskitError` (message + hint)::

    NexuskitError
    ├── EdgeError    the auth function or the HTTP API cannot be deployed or found
    └── TokenError   a token could not be issued, or does not verify
"""

from __future__ import annotations

from nexuskit.errors import NexuskitError


class EdgeError(NexuskitError):
    """The auth function or the HTTP API cannot be deployed or found."""


class TokenError(NexuskitError):
    """A token could not be issued (the auth service said why), or does not verify."""
