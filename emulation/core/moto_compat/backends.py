"""Reading moto's backends without creating them.

moto's ``BackendDict`` creates an account's backends on first item access, and an account's
dict creates a region's backend the same way: a read that only looks (a lookup by ARN, an
IAM check, a snapshot, a reset) must not create them. Both are ``dict`` subclasses, so
``dict``'s own ``get``/``items`` see only what exists; these functions are the one place
that relies on it (see the contract test in ``tests/emulation/test_moto_compat.py``).

``backends`` is a service's ``BackendDict`` or its name (as ``moto.backends.get_backend``
takes it); by name, a service moto has not imported yet is not imported to find it has none.
"""

from __future__ import annotations

import sys
from typing import Any


def _backend_dict(backends: Any) -> Any:
    if isinstance(backends, str):
        from moto.backends import ALT_SERVICE_NAMES, get_backend

        name = backends.replace("-", "")
        if f"moto.{ALT_SERVICE_NAMES.get(name, name)}" not in sys.modules:
            return {}  # moto's service was never imported: none of its backends exists
        return get_backend(backends)  # type: ignore[call-overload]
    return backends


def existing_backend(backends: Any, account: str, region: str) -> Any | None:
    """The backend of ``account`` in ``region`` (a partition for S3), or None."""
    regions = dict.get(_backend_dict(backends), account)
    return dict.get(regions, region) if regions is not None else None


def existing_regions(backends: Any, account: str) -> list[tuple[str, Any]]:
    """``(region, backend)`` of every backend ``account`` has (a snapshot of the list)."""
    regions = dict.get(_backend_dict(backends), account)
    return list(dict.items(regions)) if regions is not None else []


def existing_backends(backends: Any) -> list[tuple[str, str, Any]]:
    """``(account, region, backend)`` of every backend that exists (a snapshot of the list)."""
    return [
        (account, region, backend)
        for account, regions in list(dict.items(_backend_dict(backends)))
        for region, backend in list(dict.items(regions))
    ]
