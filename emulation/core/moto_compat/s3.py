"""moto's S3: its response writer, its addressing rule, and the hooks the engine puts in.

The row store of S3 (:mod:`emulation.core.s3store`) needs three more: ``FakeKey`` bodies
stored in blob files as moto sets them and read back from there (:class:`FileBody`, the
setter of ``FakeKey.value``), keys rebuilt from their attributes without reading a body
(:func:`new_stored_key`), and a record of the buckets and keys ``S3Backend``'s methods
change (:func:`install_change_recorder`).
"""

from __future__ import annotations

import functools
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
    moto's rule reads the path only when there is no host; its answer for a host is
    remembered with the settings it reads (a few regular expressions and an IP parse a
    request otherwise).
    """
    import os

    from moto import settings

    if not host:
        return _virtual_host(host, path)
    endpoints = os.environ.get("MOTO_S3_CUSTOM_ENDPOINTS")
    return _remembered_virtual_host(host, settings.S3_IGNORE_SUBDOMAIN_BUCKETNAME, endpoints)


@functools.lru_cache(maxsize=256)
def _remembered_virtual_host(host: str, ignore_subdomains: bool, endpoints: str | None) -> bool:
    # (the settings moto's rule reads are arguments only to key what is remembered)
    return _virtual_host(host, "/")


def _virtual_host(host: str, path: str) -> bool:
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
    PERMITTED when ``permitted()`` and NEUTRAL otherwise, instead of moto's own policy check.

    moto's IAM (and its certificates) is imported by the first such call, as moto does, not
    when the engine starts."""
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        from moto.iam.access_control import PermissionResult

        return PermissionResult.PERMITTED if permitted() else PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission


# -- bodies on disk and the record of what changed (see emulation.core.s3store) --------------
class FileBody:
    """A ``FakeKey`` body read from its blob file, in place of moto's spooled buffer.

    moto reads a body through ``_value_buffer`` only with ``seek`` and ``read`` (``FakeKey.value``
    and ``FakeKey.etag``); ``close`` (moto's ``dispose``) leaves the file alone: it belongs to
    the blob store, which deletes it once no durable row refers to it. Nothing is kept open
    and nothing is read before it is asked for, so a restored key costs no I/O and bodies live
    on disk, not in RAM.
    """

    __slots__ = ("_pos", "digest", "root")

    def __init__(self, root: str, digest: str) -> None:
        self.root = root
        self.digest = digest
        self._pos = 0

    @property
    def path(self) -> str:
        return f"{self.root}/{self.digest[:2]}/{self.digest}"

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence != 0:
            raise ValueError("a stored S3 body is read from its start")
        self._pos = pos
        return pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._pos)
                data = fh.read() if size is None or size < 0 else fh.read(size)
        except FileNotFoundError:
            import logging

            logging.getLogger(__name__).error("S3 body %s is missing; the object reads empty", self.digest)
            data = b""
        self._pos += len(data)
        return data

    def close(self) -> None:
        """moto disposed of the object: the file stays (the blob store owns it)."""


#: where a body of a new ``FakeKey`` goes: ``(data) -> (blob root, digest)``, None: moto's way
_body_sink: Callable[[bytes], tuple[str, str]] | None = None
_file_bodies_installed = False


def install_file_bodies(sink: Callable[[bytes], tuple[str, str]] | None) -> None:
    """Store every body moto gives a ``FakeKey`` with ``sink`` and read it back from there.

    Replaces the setter of ``FakeKey.value`` (moto calls it from ``__init__`` and
    ``__setstate__``): the body is written to the blob store (``sink``), the key's buffer
    becomes a :class:`FileBody`, its digest is cached for the row writer, and its MD5 ETag is
    computed now, from the bytes in hand (moto would compute the same lazily by reading the
    body back). When ``sink`` fails (``OSError``, a full disk) the body stays in moto's
    spooled buffer and no digest is cached: the row writer stores it again, or fails, and the
    request that made it is refused (see :mod:`emulation.core.s3store`). ``None`` restores
    moto's behaviour for keys made from then on.
    """
    global _body_sink, _file_bodies_installed
    _body_sink = sink
    if _file_bodies_installed:
        return
    import hashlib
    import tempfile

    from moto.s3.models import FakeKey

    from emulation.core.moto_compat.pickling import cache_body_digest

    moto_value: Any = FakeKey.value

    def set_value(self: Any, new_value: bytes) -> None:
        sink = _body_sink
        if isinstance(new_value, str):
            new_value = new_value.encode("utf-8")
        if sink is not None:
            try:
                root, digest = sink(new_value)
            except OSError:
                sink = None
            else:
                self._value_buffer = FileBody(root, digest)
                self.contentsize = len(new_value)
                cache_body_digest(self, len(new_value), digest)
                if self.__dict__.get("_etag") is None:
                    self._etag = hashlib.md5(new_value, usedforsecurity=False).hexdigest()
                return
        if isinstance(self.__dict__.get("_value_buffer"), FileBody):
            self._value_buffer = tempfile.SpooledTemporaryFile(self._max_buffer_size)  # noqa: SIM115
        self.__dict__.pop("_nexus_blob", None)
        moto_value.fset(self, new_value)

    FakeKey.value = property(moto_value.fget, set_value)
    _file_bodies_installed = True


def new_stored_key(cls: Any, state: dict[str, Any], root: str, digest: str) -> Any:
    """A ``FakeKey`` whose attributes are ``state`` (taken, not copied) and whose body is the
    blob ``digest`` (not read now)."""
    import threading

    from emulation.core.moto_compat.pickling import cache_body_digest

    key = cls.__new__(cls)
    key.__dict__ = state  # (the caller's dict, made for this key)
    state["_value_buffer"] = FileBody(root, digest)
    state["lock"] = threading.Lock()
    cache_body_digest(key, state["contentsize"], digest)
    return key


#: moto's ``S3Backend`` methods that change a bucket without its keys (the first argument is
#: the bucket's name)
_BUCKET_CHANGES = (
    "create_bucket",
    "delete_bucket",
    "put_bucket_accelerate_configuration",
    "put_bucket_acl",
    "put_bucket_cors",
    "put_bucket_encryption",
    "put_bucket_inventory_configuration",
    "put_bucket_lifecycle",
    "put_bucket_lifecycle_configuration",
    "put_bucket_logging",
    "put_bucket_notification_configuration",
    "put_bucket_ownership_controls",
    "put_bucket_policy",
    "put_bucket_replication",
    "put_bucket_tagging",
    "put_bucket_versioning",
    "put_bucket_website",
    "delete_bucket_cors",
    "delete_bucket_encryption",
    "delete_bucket_lifecycle",
    "delete_bucket_ownership_controls",
    "delete_bucket_policy",
    "delete_bucket_replication",
    "delete_bucket_tagging",
    "delete_bucket_website",
    "put_public_access_block",
    "delete_public_access_block",
    "put_object_lock_configuration",
    # the bucket's multipart uploads (their parts included) are kept with the bucket
    "create_multipart_upload",
    "upload_part",
    "upload_part_copy",
    "abort_multipart_upload",
    "complete_multipart_upload",
)
#: methods that change one key: (bucket_name, key_name, ...)
_KEY_CHANGES = (
    "put_object",
    "delete_object",
    "delete_object_tagging",
    "put_object_acl",
    "put_object_legal_hold",
    "put_object_retention",
    "restore_object",
)
_touch_installed = False


def install_change_recorder(touch: Callable[[str, str | None], None]) -> None:
    """Call ``touch(bucket, key)`` (``key`` None: the bucket itself) after every ``S3Backend``
    method that changes a bucket or a key, whoever calls it (moto's request handlers, the
    engine's fast path, Firehose deliveries). Idempotent: the first recorder stays."""
    global _touch_installed
    if _touch_installed:
        return
    import functools
    import inspect

    from moto.s3.models import S3Backend

    def argument(
        method: Callable[..., Any], position: int
    ) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
        """Reads the argument at ``position`` (after self) of a call, given by position or name."""
        name = list(inspect.signature(method).parameters)[position + 1]

        def read(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return args[position] if len(args) > position else kwargs.get(name)

        return read

    def on_bucket(method: Callable[..., Any]) -> Callable[..., Any]:
        bucket_of = argument(method, 0)

        @functools.wraps(method)
        def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            finally:
                bucket = bucket_of(args, kwargs)
                if isinstance(bucket, str):
                    touch(bucket, None)

        return recorded

    def on_key(method: Callable[..., Any]) -> Callable[..., Any]:
        bucket_of, key_of = argument(method, 0), argument(method, 1)

        @functools.wraps(method)
        def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            finally:
                bucket, key = bucket_of(args, kwargs), key_of(args, kwargs)
                if isinstance(bucket, str) and isinstance(key, str):
                    touch(bucket, key)

        return recorded

    copy_object = S3Backend.copy_object

    @functools.wraps(copy_object)
    def copy_recorded(
        self: Any, src_key: Any, dest_bucket_name: str, dest_key_name: str, *a: Any, **k: Any
    ) -> Any:
        try:
            return copy_object(self, src_key, dest_bucket_name, dest_key_name, *a, **k)
        finally:
            touch(dest_bucket_name, dest_key_name)

    put_object_tagging = S3Backend.put_object_tagging

    @functools.wraps(put_object_tagging)
    def tagging_recorded(self: Any, key: Any, tags: Any) -> Any:
        try:
            return put_object_tagging(self, key, tags)
        finally:
            if key is not None and key.bucket_name:
                touch(key.bucket_name, key.name)

    delete_objects = S3Backend.delete_objects

    @functools.wraps(delete_objects)
    def deletes_recorded(
        self: Any, bucket_name: str, objects: list[dict[str, Any]], *a: Any, **k: Any
    ) -> Any:
        try:
            return delete_objects(self, bucket_name, objects, *a, **k)
        finally:
            for entry in objects:
                name = entry.get("Key") if isinstance(entry, dict) else None
                if isinstance(name, str):
                    touch(bucket_name, name)

    for name in _BUCKET_CHANGES:
        setattr(S3Backend, name, on_bucket(getattr(S3Backend, name)))
    for name in _KEY_CHANGES:
        setattr(S3Backend, name, on_key(getattr(S3Backend, name)))
    S3Backend.copy_object = copy_recorded
    S3Backend.put_object_tagging = tagging_recorded
    S3Backend.delete_objects = deletes_recorded
    _touch_installed = True


def located_bucket(name: str) -> tuple[str, str, Any] | None:
    """(partition, account, bucket) of moto's bucket called ``name``, None when there is none."""
    from moto.s3.models import s3_backends

    from emulation.core.moto_compat.backends import existing_backend

    located = s3_backends.bucket_accounts.get(name)
    if not located:
        return None
    partition, account = located
    backend = existing_backend(s3_backends, account, partition)
    bucket = backend.buckets.get(name) if backend is not None else None
    return None if bucket is None else (partition, account, bucket)


def s3_backend(account: str, partition: str) -> Any:
    """moto's S3 backend of an account in a partition (created when missing)."""
    from moto.s3.models import s3_backends

    return s3_backends[account][partition]


def s3_model_types() -> dict[str, type]:
    """moto's S3 model classes the row store treats specially, by name."""
    from moto.s3.models import FakeAcl, FakeBucket, FakeKey
    from moto.s3.utils import _VersionedKeyStore
    from moto.utilities.tagging_service import TaggingService

    return {
        "FakeAcl": FakeAcl,
        "FakeBucket": FakeBucket,
        "FakeKey": FakeKey,
        "KeyStore": _VersionedKeyStore,
        "TaggingService": TaggingService,
    }


def reindex_bucket(name: str, partition: str, account: str) -> None:
    """Record in moto's global index (``bucket_accounts``) where the bucket ``name`` lives."""
    from moto.s3.models import s3_backends

    s3_backends.bucket_accounts[name] = (partition, account)


def forget_bucket(name: str) -> None:
    from moto.s3.models import s3_backends

    s3_backends.bucket_accounts.pop(name, None)
