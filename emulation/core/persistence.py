"""Persistence of the engine's state across restarts and crashes.

moto keeps all state in memory, per service, in ``BackendDict`` objects. A snapshot
pickles each changed service to ``<state_dir>/state/<service>.pkl`` (written to a
temporary file and renamed, so a crash never leaves a torn file). Two things need care:

* S3 object bodies live in spooled temporary files, and a versioned bucket keeps all
  versions of a key in a dict subclass whose ``items()`` yields only the latest one, so a
  plain pickle drops versions and bodies. Bodies are written once each to a
  content-addressed blob store (``state/blobs``) and the key store is pickled with all
  its versions.
* Locks are not picklable: each is replaced by a fresh lock on restore.
* Private keys of ``cryptography`` (moto's KMS holds one per key, even for symmetric
  keys) are not picklable either: they are written as PKCS#8 DER and loaded back.

A background thread takes a snapshot about once a second while anything changed; when
snapshots get expensive it backs off to keep their cost under a fifth of the time.
"""

from __future__ import annotations

import copyreg
import functools
import hashlib
import io
import json
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
_LOCK_TYPES: tuple[type, ...] = (type(threading.Lock()), type(threading.RLock()))


def _new_lock() -> Any:
    return threading.Lock()


def _new_rlock() -> Any:
    return threading.RLock()


class BlobStore:
    """Content-addressed files for S3 object bodies (written once, never rewritten)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        return digest

    def get(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            log.error("persisted S3 body %s is missing; the object is restored empty", digest)
            return b""

    def collect(self, keep: set[str]) -> int:
        """Delete every blob not in ``keep``; returns how many were deleted."""
        removed = 0
        for sub in self.root.iterdir():
            if not sub.is_dir():
                continue
            for blob in sub.iterdir():
                if blob.name not in keep and not blob.name.endswith(".tmp"):
                    blob.unlink(missing_ok=True)
                    removed += 1
        return removed


# The blob store that restoring FakeKeys read from (set during a restore only).
_restoring_from: BlobStore | None = None


def _restore_fake_key(cls: Any, state: dict[str, Any], digest: str) -> Any:
    key = cls.__new__(cls)
    state = dict(state)
    state["value"] = _restoring_from.get(digest) if _restoring_from else b""
    key.__setstate__(state)
    key.__dict__["_nexus_blob"] = (key.contentsize, digest)
    return key


def _load_private_key(der: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    return load_der_private_key(der, password=None)


def _reduce_private_key(key: Any) -> Any:
    """A private key of ``cryptography`` (moto's KMS keeps one per key) as PKCS#8 DER."""
    from cryptography.hazmat.primitives import serialization

    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (_load_private_key, (der,))


@functools.cache
def _private_key_types() -> tuple[type, ...]:
    """The concrete classes of ``cryptography``'s RSA and EC private keys (they are Rust
    types that do not pickle; the pickler's dispatch table needs the exact classes)."""
    try:
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
    except ImportError:  # pragma: no cover - moto depends on cryptography
        return ()
    return (
        type(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
        type(ec.generate_private_key(ec.SECP256R1())),
    )


def _restore_key_store(cls: Any, lists: list[tuple[str, list[Any]]]) -> Any:
    store = cls()
    for name, versions in lists:
        dict.__setitem__(store, name, list(versions))
    return store


class _StatePickler(pickle.Pickler):
    """A pickler that writes S3 bodies to the blob store and forgets locks."""

    def __init__(self, file: io.BytesIO, blobs: BlobStore, referenced: set[str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._blobs = blobs
        self._referenced = referenced
        table: dict[type, Callable[[Any], Any]] = dict(copyreg.dispatch_table)
        table[_LOCK_TYPES[0]] = lambda _lock: (_new_lock, ())
        table[_LOCK_TYPES[1]] = lambda _lock: (_new_rlock, ())
        for key_type in _private_key_types():
            table[key_type] = _reduce_private_key
        try:
            from moto.s3.models import FakeKey
            from moto.s3.utils import _VersionedKeyStore
        except ImportError:  # pragma: no cover - moto always ships S3
            pass
        else:
            table[FakeKey] = self._reduce_fake_key
            table[_VersionedKeyStore] = self._reduce_key_store
        self.dispatch_table = table

    def _reduce_fake_key(self, key: Any) -> Any:
        state = key.__getstate__()
        value = state.pop("value", b"") or b""
        if isinstance(value, str):
            value = value.encode("utf-8")
        cached = key.__dict__.get("_nexus_blob")
        if cached and cached[0] == len(value) and self._blobs.path(cached[1]).exists():
            digest = cached[1]
        else:
            digest = self._blobs.put(value)
            key.__dict__["_nexus_blob"] = (len(value), digest)
        state.pop("_nexus_blob", None)
        self._referenced.add(digest)
        return (_restore_fake_key, (type(key), state, digest))

    def _reduce_key_store(self, store: Any) -> Any:
        lists = [(name, list(dict.__getitem__(store, name))) for name in list(dict.keys(store))]
        return (_restore_key_store, (type(store), lists))


def backend_key(backend_dict: Any) -> str:
    """A unique, stable name for a moto BackendDict.

    ``service_name`` is not unique (moto's Bedrock runtime and EC2 Instance Connect
    backends are both registered as "ec2"), so the key is the moto package that defines
    the backend class: ``moto.ec2.models`` -> ``ec2``.
    """
    module = str(backend_dict.backend.__module__)
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "moto" else module


def find_backend_dict(path: str) -> Any:
    """The BackendDict whose backend class is ``module:QualName``."""
    import importlib

    from moto.core.base_backend import BackendDict

    module_name, _, qualname = path.partition(":")
    module = importlib.import_module(module_name)
    for value in vars(module).values():
        if isinstance(value, BackendDict) and value.backend.__qualname__ == qualname:
            return value
    raise LookupError(f"no BackendDict for {path}")


def _backend_dicts() -> list[Any]:
    from moto.core.base_backend import BackendDict

    return list(BackendDict._instances)


def _reindex(backend_dict: Any) -> None:
    """Rebuild the indexes moto keeps next to the backends, not in them.

    S3 keeps ``bucket_accounts`` (bucket name -> partition and account) on its
    ``BackendDict``: without it, a restored engine finds no bucket outside moto's own
    per-account lookups (bucket policies, CORS, cross-account access, name conflicts).
    """
    index = getattr(backend_dict, "bucket_accounts", None)
    if not isinstance(index, dict):
        return
    for account, partitions in dict.items(backend_dict):
        for partition, backend in dict.items(partitions):
            for name in list(getattr(backend, "buckets", {})):
                index[name] = (partition, account)


class StateStore:
    """Snapshots and restores moto's backends under ``state_dir/state``.

    Each snapshot is a *generation*: the changed services are written to
    ``<service>.<gen>.pkl`` and then ``manifest.json`` is replaced atomically to point every
    service at its newest file. A crash at any moment leaves the previous manifest and
    its files intact, so services are always restored from one consistent moment.
    """

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "state"
        self.root.mkdir(parents=True, exist_ok=True)
        self.blobs = BlobStore(self.root / "blobs")
        self.manifest_file = self.root / "manifest.json"
        self.manifest: dict[str, Any] = self._read_manifest()
        self.generation: int = int(self.manifest.get("generation", 0))
        self.last_snapshot_at: float | None = None
        self.last_snapshot_ms: float = 0.0
        self.snapshots = 0

    def _read_manifest(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.manifest_file.read_text())
        except FileNotFoundError:
            return {"format": FORMAT_VERSION, "generation": 0, "services": {}, "blobs_of": {}}
        except ValueError as exc:
            log.error("state manifest unreadable (%s); starting from empty state", exc)
            return {"format": FORMAT_VERSION, "generation": 0, "services": {}, "blobs_of": {}}
        return data

    def serialize(
        self, services: Iterable[str] | None, extras: dict[str, Any] | None = None
    ) -> dict[str, tuple[bytes, set[str]]]:
        """Pickle the named services (all in use when None). Call with state frozen.

        ``extras`` (extension state that must be consistent with the services, such as
        delivery checkpoints) is pickled into the same generation as ``_extensions``.
        """
        wanted = set(services) if services is not None else None
        out: dict[str, tuple[bytes, set[str]]] = {}
        for backend_dict in _backend_dicts():
            name = backend_key(backend_dict)
            service = backend_dict.service_name
            if wanted is not None and not any(name.startswith(w) or service.startswith(w) for w in wanted):
                continue
            data = {
                account: dict(dict.items(account_backend))
                for account, account_backend in dict.items(backend_dict)
            }
            buffer = io.BytesIO()
            referenced: set[str] = set()
            try:
                _StatePickler(buffer, self.blobs, referenced).dump(
                    {
                        "format": FORMAT_VERSION,
                        "service": name,
                        "backend": f"{backend_dict.backend.__module__}:{backend_dict.backend.__qualname__}",
                        "accounts": data,
                    }
                )
            except Exception as exc:  # one bad service must not stop the rest
                log.warning("service %s could not be persisted: %s", name, exc)
                continue
            out[name] = (buffer.getvalue(), referenced)
        if extras is not None:
            out["_extensions"] = (pickle.dumps(extras, protocol=pickle.HIGHEST_PROTOCOL), set())
        return out

    def write(self, pickled: dict[str, tuple[bytes, set[str]]], generation: int) -> None:
        """Write one generation durably, then switch the manifest to it."""
        manifest = json.loads(json.dumps(self.manifest))
        old_files = dict(manifest.get("services", {}))
        for name, (payload, refs) in pickled.items():
            target = self.root / f"{name}.{generation}.pkl"
            with open(target, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            manifest["services"][name] = target.name
            manifest["blobs_of"][name] = sorted(refs) if name.startswith("s3") else []
        manifest["generation"] = generation
        manifest["format"] = FORMAT_VERSION
        manifest["written_at"] = time.time()
        tmp = self.manifest_file.with_suffix(".json.tmp")
        with open(tmp, "w") as fh:
            json.dump(manifest, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.manifest_file)
        self.manifest = manifest
        self.generation = generation
        current = set(manifest["services"].values())
        for old in old_files.values():
            if old not in current:
                (self.root / old).unlink(missing_ok=True)
        if any(name.startswith("s3") for name in pickled):
            keep: set[str] = set()
            for refs in manifest["blobs_of"].values():
                keep.update(refs)
            self.blobs.collect(keep)
        self.snapshots += 1
        self.last_snapshot_at = time.time()

    def restore(self) -> tuple[list[str], dict[str, Any]]:
        """Load the manifest's services into moto; returns (services, extension state)."""
        global _restoring_from
        restored: list[str] = []
        extras: dict[str, Any] = {}
        files = dict(self.manifest.get("services", {}))
        order = sorted(files, key=lambda name: (name != "s3", name))
        _restoring_from = self.blobs
        try:
            for name in order:
                file = self.root / files[name]
                try:
                    with open(file, "rb") as fh:
                        snapshot = pickle.load(fh)
                    if name == "_extensions":
                        extras = dict(snapshot)
                        continue
                    if snapshot.get("format") != FORMAT_VERSION:
                        raise ValueError(f"format {snapshot.get('format')} is not {FORMAT_VERSION}")
                    backend_dict = find_backend_dict(snapshot["backend"])
                except Exception as exc:  # keep going: that service starts empty
                    log.error("could not restore %s (%s); that service starts empty", file.name, exc)
                    continue
                for account, regions in snapshot["accounts"].items():
                    account_backend = backend_dict[account]
                    for region, backend in regions.items():
                        dict.__setitem__(account_backend, region, backend)
                _reindex(backend_dict)
                restored.append(snapshot["service"])
        finally:
            _restoring_from = None
        return restored, extras

    def wipe(self) -> None:
        for file in self.root.glob("*.pkl*"):
            file.unlink(missing_ok=True)
        self.manifest_file.unlink(missing_ok=True)
        self.manifest = self._read_manifest()
        self.blobs.collect(set())
