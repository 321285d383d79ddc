"""moto's S3: its response writer, its addressing rule, and the hooks the engine puts in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: the ``S3Backend`` methods :mod:`emulation.s3.listing` wraps
LISTING_METHODS = ("list_objects", "list_objects_v2", "list_object_versions")


def response_sender() -> Callable[[Any], tuple[int, dict[str, Any], Any]]:
    """moto's ``S3Response._send_response``: (status, headers, body) -> the same, as moto sends it
    (headers enriched, the body encoded). Raises AttributeError when moto moved it."""
    from moto.s3.responses import S3Response

    send: Callable[[Any], tuple[int, dict[str, Any], Any]] = S3Response._send_response
    return send


def is_virtual_host(host: str, path: str) -> bool:
    """Whether moto reads the bucket from the host name (virtual-host style) for this request.

    LocalStack's path-style names (``s3.localhost.localstack.cloud``) are path-style: the
    engine hands them to moto as ``localhost.localstack.cloud`` (see ``EngineApp._serve``).
    """
    from moto.s3.responses import S3Response

    from emulation.core.hosts import is_localstack_s3_path_host

    if is_localstack_s3_path_host(host):
        return False

    class _Request:  # what moto's rule reads of a request
        headers = {"host": host}
        url = f"http://{host}{path}"

    return bool(S3Response.subdomain_based_buckets(_Request()))


def pagination_token(backend: Any, token: str | None) -> str | None:
    """The key a listing's continuation token (or V1 marker) stands for, None when unknown."""
    found: str | None = backend._pagination_tokens.get(token)
    return found


def listing_methods() -> dict[str, Callable[..., Any]]:
    """moto's ``S3Backend`` listing methods as they are now, by name."""
    from moto.s3.models import S3Backend

    return {name: getattr(S3Backend, name) for name in LISTING_METHODS}


def replace_listing_methods(methods: dict[str, Callable[..., Any]]) -> None:
    """Put these functions in place of ``S3Backend``'s listing methods of the same names."""
    from moto.s3.models import S3Backend

    for name, method in methods.items():
        if name not in LISTING_METHODS:
            raise ValueError(f"{name} is not one of moto's listing methods {LISTING_METHODS}")
        setattr(S3Backend, name, method)


def judge_bucket_permissions(permitted: Callable[[], bool]) -> None:
    """Answer moto's ``FakeBucket.get_permission`` (asked by its object calls) with
    PERMITTED when ``permitted()`` and NEUTRAL otherwise, instead of moto's own policy check."""
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        return PermissionResult.PERMITTED if permitted() else PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission
