"""Persistence of the engine's state across restarts and crashes.

Three stores, each suited to its data:

* **S3** is written as it changes (:mod:`emulation.core.s3store`): every S3 change is a row
  of ``state/s3.sqlite`` (a key's whole version list, or a bucket without its keys),
  committed before the request that made it is answered, with the bodies in a
  content-addressed blob store (``state/blobs``, one file per distinct body, written when
  moto is handed the body, and read back from there: S3 bodies live on disk, not in RAM).
  A ``kill -9`` loses no acknowledged S3 change, and the cost of persisting one does not
  depend on how many objects there are.
* **Kinesis records** live in per-shard append-only segment files (:mod:`emulation.kinesis.segments`),
  written before a put is answered; they are the write-ahead log and the store at once, and
  memory holds only their index and a budgeted cache of the newest records.
* **Everything else** (every other moto service, the extensions' state, S3's account-level
  settings and its buckets without their keys, as a second copy) is snapshotted: about once
  a second while anything changed, each changed service is pickled to
  ``<state_dir>/state/<service>.<generation>.pkl``; ``manifest.json`` is then replaced
  atomically to point every service at its newest file. When snapshots get expensive the
  loop backs off to keep their cost under a fifth of the time. Streams created or resharded
  after the last snapshot are journaled before their answer (:mod:`emulation.kinesis.journal`).

Snapshots pickle no S3 key and no S3 body (a bucket's key store is pickled empty, object
tags are left out of S3's tagging service) and no Kinesis record (a shard's records pickle
as the id of their segment folder), so their cost does not grow with the number of objects
or records; at restore, S3's rows win over the snapshot's S3 (a bucket with no row was
deleted after it). State dirs of format 3 (snapshots that pickled every S3 key, with its
versions) still restore, and their S3 is copied into rows at that first start.

Pickling needs care in two places: locks are not picklable (each is replaced by a fresh
lock on restore), and neither are private keys of ``cryptography`` (moto's KMS holds one
per key, even for symmetric keys): they are written as PKCS#8 DER and loaded back.

Requests keep being served during a snapshot. Only :meth:`StateStore.serialize` runs with
the state frozen (the engine's state lock held exclusively), and it does the least that
must see one moment: the small part of each service is pickled, and what is still large
is *detached* by copying its containers while sharing the items, which are not changed in
place once stored (a shard's record dict of a format-3 state dir, until it is moved into
segments). :meth:`StateStore.write` then, with the lock
released, pickles the detached bulk, writes and fsyncs each service file and finally
replaces the manifest (fsync, rename): until that rename the previous generation is the
current one, whole, so a crash in the middle of a snapshot loses nothing it had. In the
same frozen moment, S3 changes made by background writers (Firehose deliveries) are
flushed to rows first, and the blobs no row refers to any more are collected.
"""

from __future__ import annotations

import contextlib
import copyreg
import functools
import gc
import hashlib
import io
import json
import logging
import os
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from emulation.core.moto_compat import kinesis as moto_kinesis
from emulation.core.moto_compat import pickling as moto_pickling
from emulation.core.moto_compat import s3 as moto_s3
from emulation.core.s3store import S3Store, is_object_arn

log = logging.getLogger(__name__)

FORMAT_VERSION = 4
#: service files of these formats are read (2: no detached part; 2 and 3: S3's keys in the
#: snapshot, copied into the S3 row store at their first start)
READABLE_FORMATS = (2, 3, 4)
#: fault injection (see ``StateStore._wait_while_held``)
HOLD_FILE = "hold-snapshot"
HELD_FILE = "snapshot-held"
_LOCK_TYPES: tuple[type, ...] = (type(threading.Lock()), type(threading.RLock()))


def _new_lock() -> Any:
    return threading.Lock()


def _new_rlock() -> Any:
    return threading.RLock()


class BlobStore:
    """Content-addressed files for S3 object bodies (written once, never rewritten).

    The digests whose files are complete on disk are read from the directory once, then
    kept in memory, so a snapshot never asks the file system whether a body is stored.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._known: set[str] | None = None
        self._fresh: set[str] = set()
        self._lock = threading.Lock()

    def _index(self) -> set[str]:
        """The stored digests (call with ``_lock`` held); torn writes are removed."""
        if self._known is None:
            known: set[str] = set()
            with os.scandir(self.root) as subs:
                folders = [sub.path for sub in subs if sub.is_dir()]
            for folder in folders:
                names = os.listdir(folder)
                known.update(names)
                for name in names:
                    if name.endswith(".tmp"):
                        known.discard(name)
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(os.path.join(folder, name))
            self._known = known
        return self._known

    def scan(self) -> None:
        """Read the stored digests now (the first snapshot would, with the state frozen)."""
        with self._lock:
            self._index()

    def has(self, digest: str) -> bool:
        with self._lock:
            return digest in self._index()

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.write(digest, data)
        return digest

    def put_fast(self, data: bytes, *, atomic: bool = True) -> str:
        """Store ``data`` unless it is stored; returns its digest. No fsync: what the S3 row
        store writes on the request path (a ``kill -9`` keeps what the OS has; a torn file
        is only ever a ``.tmp``, removed at start). The rename and the index update happen
        under the lock, so :meth:`delete` never removes a file written meanwhile."""
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            if digest in self._index():
                return digest
        path = self.path(digest)
        # (``atomic=False``: straight to its name, for bulk fills with no engine running)
        tmp = path.parent / f"{digest}.{threading.get_ident()}.tmp" if atomic else path
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, flags, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        with self._lock:
            if atomic:
                os.replace(tmp, path)
            self._index().add(digest)
            self._fresh.add(digest)
        return digest

    def sink(self, data: bytes) -> tuple[str, str]:
        """(root, digest) of ``data`` once stored: where moto's keys put their bodies."""
        return str(self.root), self.put_fast(data)

    def take_fresh(self) -> set[str]:
        """The digests :meth:`put_fast` stored since the last call (garbage candidates: a body
        written for a key that never reached a row)."""
        with self._lock:
            fresh, self._fresh = self._fresh, set()
        return fresh

    def forget(self, digests: set[str]) -> None:
        """Drop ``digests`` from the index (their files are deleted next, by :meth:`delete`):
        a body stored again from now on is written again."""
        with self._lock:
            self._index().difference_update(digests)

    def delete(self, digests: set[str]) -> int:
        """Delete the files of ``digests`` that were not stored again since :meth:`forget`."""
        deleted = 0
        for digest in digests:
            with self._lock:
                if digest in self._index():
                    continue
                try:
                    self.path(digest).unlink()
                except FileNotFoundError:
                    continue
            deleted += 1
        return deleted

    def write(self, digest: str, data: bytes) -> None:
        """Store ``data`` (whose SHA-256 is ``digest``) durably, unless it already is."""
        if self.has(digest):
            return
        path = self.path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        with self._lock:
            self._index().add(digest)

    def get(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            log.error("persisted S3 body %s is missing; the object is restored empty", digest)
            return b""

    def collect(self, keep: set[str]) -> int:
        """Delete every blob not in ``keep``; returns how many were deleted."""
        with self._lock:
            garbage = self._index() - keep
        for digest in garbage:
            self.path(digest).unlink(missing_ok=True)
        with self._lock:
            self._index().difference_update(garbage)
        return len(garbage)


# What restoring reads from (set during a restore only): the blob store of S3 bodies and
# the detached part of the service file being loaded.
_restoring_from: BlobStore | None = None
_restoring_detached: list[Any] = []
#: marks a value pickled on its own under the state lock (see ``_CapturePickler._nested``)
_NESTED = "__nexus_nested__"
#: the key of the first pickle of a service file (format 3): the detached copies
_DETACHED = "__nexus_detached__"


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == _NESTED:
        return pickle.loads(value[1])
    return value


def _restore_fake_key(cls: Any, state: dict[str, Any], digest: str) -> Any:
    """A key of a snapshot (a multipart upload's part; any key in format 3): its body stays
    in its blob file, read when asked for."""
    state = dict(state)
    if "multipart" in state:
        state["multipart"] = _thaw(state["multipart"])
    if _restoring_from is None:
        return moto_pickling.new_fake_key(cls, state, b"", digest)
    return moto_s3.new_stored_key(cls, state, str(_restoring_from.root), digest)


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
    """A versioned key store of format 2 (keys pickled in place)."""
    return moto_pickling.new_key_store(cls, lists)


def _restore_detached_key_store(cls: Any, index: int) -> Any:
    """A versioned key store whose keys were detached (format 3)."""
    lists = [
        (name, [_thaw(entry) if entry[0] == _NESTED else _restore_fake_key(*entry) for entry in frozen])
        for name, frozen in _restoring_detached[index]
    ]
    return moto_pickling.new_key_store(cls, lists)


def _restore_tagger(cls: Any, state: dict[str, Any]) -> Any:
    tagger = cls.__new__(cls)
    tagger.__dict__.update(state)
    return tagger


def _restore_shard(cls: Any, state: dict[str, Any], index: int) -> Any:
    """A Kinesis shard. Its records are a reference to their segment files, restored with
    its state (``index`` -1), or, from snapshots of older engines, a detached dict that
    the installed record store takes in (see :mod:`emulation.kinesis.segments`)."""
    shard = moto_pickling.new_shard(cls, state)
    if index >= 0:
        shard.records = moto_kinesis.adopt_records(_restoring_detached[index])
    return shard


def _base_dispatch_table() -> dict[type, Callable[[Any], Any]]:
    table: dict[type, Callable[[Any], Any]] = dict(copyreg.dispatch_table)
    table[_LOCK_TYPES[0]] = lambda _lock: (_new_lock, ())
    table[_LOCK_TYPES[1]] = lambda _lock: (_new_rlock, ())
    for key_type in _private_key_types():
        table[key_type] = _reduce_private_key
    return table


class _Capture:
    """What one snapshot took under the state lock, to be written after it is released.

    * ``pending``: S3 bodies not yet in the blob store (digest -> bytes, read under the
      lock because moto closes a body's buffer when its object is overwritten or deleted):
      only ever a multipart upload's part whose body could not be stored when it was set
      (every other body is in the blob store from the moment moto has it);
    * per service, the pickle of everything but the bulk (small, taken under the lock),
      and the *detached* bulk: copies of the containers that hold it (a shard's record dict
      of a format-3 state dir not yet moved into segments; S3's keys and Kinesis records
      kept in segments are not in snapshots at all) whose items are not changed in place
      once stored, so they can be pickled later, outside the lock, and still show
      the moment of the capture.
    """

    def __init__(self) -> None:
        self.pending: dict[str, bytes] = {}
        self.services: dict[str, tuple[bytes, list[Any], set[str]]] = {}
        self.extras: bytes | None = None


class _CapturePickler(pickle.Pickler):
    """Pickles a service under the state lock, detaching the bulk (see :class:`_Capture`).

    S3 keys stay out (a bucket's key store is pickled empty, object tags are left out of
    the tagging service: S3's rows hold them); the parts of multipart uploads, which the
    buckets hold, are pickled as attributes and a body digest (a body already in the blob
    store, known by the digest cached on the object, is neither read nor hashed again).
    """

    def __init__(
        self, file: io.BytesIO, blobs: BlobStore, capture: _Capture, detached: list[Any], referenced: set[str]
    ) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._blobs = blobs
        self._capture = capture
        self._detached = detached
        self._referenced = referenced
        table = _base_dispatch_table()
        self._fake_key: type | None = None
        s3_types = moto_pickling.s3_types()
        if s3_types is not None:
            fake_key, key_store = s3_types
            self._fake_key = fake_key
            table[fake_key] = self._reduce_fake_key
            table[key_store] = self._reduce_key_store
            table[moto_s3.s3_model_types()["TaggingService"]] = self._reduce_tagger
        shard_type = moto_pickling.kinesis_shard_type()
        if shard_type is not None:  # not imported: no shard exists
            table[shard_type] = self._reduce_shard
        self.dispatch_table = table

    def _nested(self, value: Any) -> tuple[str, bytes]:
        """``value`` pickled now, on its own (it may hold objects that change in place)."""
        buffer = io.BytesIO()
        _CapturePickler(buffer, self._blobs, self._capture, self._detached, self._referenced).dump(value)
        return (_NESTED, buffer.getvalue())

    def _body_digest(self, key: Any) -> str:
        cached = moto_pickling.cached_body_digest(key)
        if cached and cached[0] == key.contentsize:
            digest: str = cached[1]
            if digest in self._capture.pending or self._blobs.has(digest):
                self._referenced.add(digest)
                return digest
        try:
            value = key.value
        except ValueError:  # the buffer is closed: moto disposed of the object
            value = b""
        if isinstance(value, str):
            value = value.encode("utf-8")
        digest = hashlib.sha256(value).hexdigest()
        if not self._blobs.has(digest):
            self._capture.pending[digest] = value
        moto_pickling.cache_body_digest(key, len(value), digest)
        self._referenced.add(digest)
        return digest

    def _key_state(self, key: Any) -> tuple[Any, dict[str, Any], str]:
        """An object's attributes as moto's ``FakeKey.__getstate__`` has them, without the body."""
        state = moto_pickling.fake_key_state(key)
        if state.get("multipart") is not None:
            state["multipart"] = self._nested(state["multipart"])
        return (type(key), state, self._body_digest(key))

    def _reduce_fake_key(self, key: Any) -> Any:
        return (_restore_fake_key, self._key_state(key))

    def _reduce_key_store(self, store: Any) -> Any:
        """A bucket's keys are not in snapshots: their rows are (:mod:`emulation.core.s3store`)."""
        return (_restore_key_store, (type(store), []))

    @staticmethod
    def _reduce_tagger(tagger: Any) -> Any:
        """moto's ``TaggingService`` without S3 objects' tags (their rows hold them), so a
        snapshot's size does not grow with the number of tagged objects."""
        state = dict(vars(tagger))
        tags = state.get("tags")
        if isinstance(tags, dict):
            state["tags"] = {arn: value for arn, value in tags.items() if not is_object_arn(arn)}
        return (_restore_tagger, (type(tagger), state))

    def _reduce_shard(self, shard: Any) -> Any:
        state = moto_pickling.shard_state(shard)
        if not isinstance(state["records"], dict):
            # records on disk: the log pickles as its id, whatever it holds
            return (_restore_shard, (type(shard), state, -1))
        records = state.pop("records")
        self._detached.append(records.copy())
        return (_restore_shard, (type(shard), state, len(self._detached) - 1))


class _DetachedPickler(pickle.Pickler):
    """Pickles the detached copies of a capture (outside the state lock)."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = _base_dispatch_table()


#: items per pickle of a detached container: one pickle call holds the GIL throughout,
#: so the bulk is pickled in slices that each take milliseconds, and requests run between
_SLICE = 2000
_SLICED = "__nexus_sliced__"


def _pickle_detached(detached: list[Any]) -> bytes:
    """The detached copies as one pickle of slices, each pickled on its own."""
    out: list[Any] = []
    for item in detached:
        kind = "odict" if isinstance(item, dict) else "list"
        entries = list(item.items()) if isinstance(item, dict) else list(item)
        slices = []
        for start in range(0, len(entries), _SLICE):
            buffer = io.BytesIO()
            _DetachedPickler(buffer).dump(entries[start : start + _SLICE])
            slices.append(buffer.getvalue())
            time.sleep(0)  # let request threads take the GIL
        out.append((_SLICED, kind, slices))
    buffer = io.BytesIO()
    _DetachedPickler(buffer).dump({_DETACHED: out})
    return buffer.getvalue()


def _unpickle_detached(parts: list[Any]) -> list[Any]:
    items: list[Any] = []
    for _, kind, slices in parts:
        entries = [entry for part in slices for entry in pickle.loads(part)]
        items.append(OrderedDict(entries) if kind == "odict" else entries)
    return items


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
        #: S3's buckets and keys, written as each change is made (snapshots hold no S3 key)
        self.s3 = S3Store(self.root, self.blobs)
        if not self.s3.exists and not self._snapshot_holds_s3_keys():
            self.s3.mark_authoritative()  # nothing to copy from: the rows are all of S3
        self.last_snapshot_at: float | None = None
        self.last_snapshot_ms: float = 0.0
        self.snapshots = 0
        #: bytes of the current generation's service files: what the next snapshot may need
        #: again while the current one still stands (the storage guard keeps that much free)
        self.generation_bytes = self._service_bytes()

    def _read_manifest(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.manifest_file.read_text())
        except FileNotFoundError:
            return {"format": FORMAT_VERSION, "generation": 0, "services": {}, "blobs_of": {}}
        except ValueError as exc:
            log.error("state manifest unreadable (%s); starting from empty state", exc)
            return {"format": FORMAT_VERSION, "generation": 0, "services": {}, "blobs_of": {}}
        return data

    def serialize(self, services: Iterable[str] | None, extras: dict[str, Any] | None = None) -> _Capture:
        """Capture the named services (all in use when None). Call with state frozen.

        This is the only part of a snapshot that needs the state frozen, and it is kept
        cheap: S3 keys and Kinesis records are not in it (their own stores hold them),
        what is still large is copied by reference into a :class:`_Capture`, and
        everything else is pickled. :meth:`write` pickles the bulk and writes the files, with the state
        lock released.

        ``extras`` (extension state that must be consistent with the services, such as
        delivery checkpoints) is pickled into the same generation as ``_extensions``.
        """
        wanted = set(services) if services is not None else None
        capture = _Capture()
        for backend_dict in moto_pickling.backend_dicts():
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
            detached: list[Any] = []
            pending = dict(capture.pending)
            try:
                _CapturePickler(buffer, self.blobs, capture, detached, referenced).dump(
                    {
                        "format": FORMAT_VERSION,
                        "service": name,
                        "backend": f"{backend_dict.backend.__module__}:{backend_dict.backend.__qualname__}",
                        "accounts": data,
                    }
                )
            except Exception as exc:  # one bad service must not stop the rest
                log.warning("service %s could not be persisted: %s", name, exc)
                capture.pending = pending
                continue
            capture.services[name] = (buffer.getvalue(), detached, referenced)
        if extras is not None:
            capture.extras = pickle.dumps(extras, protocol=pickle.HIGHEST_PROTOCOL)
        return capture

    def write(self, capture: _Capture, generation: int) -> None:
        """Write one generation durably, then switch the manifest to it.

        Runs with the state lock released. Order: new S3 bodies, then each service's
        file, each fsynced, then the manifest (a temporary file, fsynced, renamed over the
        old one). Until the rename the previous generation is the current one, complete.
        """
        for digest, data in capture.pending.items():
            self.blobs.write(digest, data)
        files: dict[str, tuple[bytes, ...]] = {}
        refs_of: dict[str, set[str]] = {}
        for name, (payload, detached, refs) in capture.services.items():
            files[name] = (_pickle_detached(detached), payload)
            refs_of[name] = refs
        if capture.extras is not None:
            files["_extensions"] = (capture.extras,)
            refs_of["_extensions"] = set()
        manifest = json.loads(json.dumps(self.manifest))
        old_files = dict(manifest.get("services", {}))
        for name, parts in files.items():
            target = self.root / f"{name}.{generation}.pkl"
            with open(target, "wb") as fh:
                for part in parts:
                    fh.write(part)
                fh.flush()
                os.fsync(fh.fileno())
            manifest["services"][name] = target.name
            manifest["blobs_of"][name] = sorted(refs_of[name]) if name.startswith("s3") else []
        manifest["generation"] = generation
        manifest["format"] = FORMAT_VERSION
        manifest["written_at"] = time.time()
        self._wait_while_held()
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
        # (Blobs are collected by the S3 row store: see EngineApp.snapshot.)
        self.generation_bytes = self._service_bytes()
        self.snapshots += 1
        self.last_snapshot_at = time.time()

    def _snapshot_holds_s3_keys(self) -> bool:
        """Whether the current generation's S3 file is of a format that pickled S3's keys."""
        return "s3" in self.manifest.get("services", {}) and int(self.manifest.get("format", 0)) < 4

    def _service_bytes(self) -> int:
        total = 0
        for name in self.manifest.get("services", {}).values():
            with contextlib.suppress(OSError):  # a file gone meanwhile counts nothing
                total += (self.root / name).stat().st_size
        return total

    def _wait_while_held(self) -> None:
        """Fault injection: while ``state/hold-snapshot`` exists, wait before the manifest
        switch (with ``state/snapshot-held`` created), so a test can serve requests in the
        middle of a snapshot and kill the engine there. Without the file: one ``stat``."""
        hold = self.root / HOLD_FILE
        if not hold.exists():
            return
        held = self.root / HELD_FILE
        held.touch()
        try:
            while hold.exists():
                time.sleep(0.01)
        finally:
            held.unlink(missing_ok=True)

    def _restore(self) -> tuple[list[str], dict[str, Any]]:
        global _restoring_from, _restoring_detached
        restored: list[str] = []
        extras: dict[str, Any] = {}
        files = dict(self.manifest.get("services", {}))
        order = sorted(files, key=lambda name: (name != "s3", name))
        self.collect_crashed(blobs=False)  # blobs: once the S3 rows are read (below)
        self.blobs.scan()
        _restoring_from = self.blobs
        try:
            for name in order:
                file = self.root / files[name]
                try:
                    with open(file, "rb") as fh:
                        snapshot = pickle.load(fh)
                        if isinstance(snapshot, dict) and _DETACHED in snapshot:
                            _restoring_detached = _unpickle_detached(snapshot[_DETACHED])
                            snapshot = pickle.load(fh)
                    if name == "_extensions":
                        extras = dict(snapshot)
                        continue
                    if snapshot.get("format") not in READABLE_FORMATS:
                        raise ValueError(f"format {snapshot.get('format')} is not one of {READABLE_FORMATS}")
                    backend_dict = find_backend_dict(snapshot["backend"])
                except Exception as exc:  # keep going: that service starts empty
                    log.error("could not restore %s (%s); that service starts empty", file.name, exc)
                    continue
                finally:
                    _restoring_detached = []
                for account, regions in snapshot["accounts"].items():
                    account_backend = backend_dict[account]
                    for region, backend in regions.items():
                        dict.__setitem__(account_backend, region, backend)
                _reindex(backend_dict)
                restored.append(snapshot["service"])
        finally:
            _restoring_from = None
        self._restore_s3(restored)
        self._collect_crashed_blobs()
        return restored, extras

    def restore(self) -> tuple[list[str], dict[str, Any]]:
        """Load the manifest's services into moto; returns (services, extension state).

        The garbage collector is off meanwhile (a restore makes hundreds of thousands of
        objects, none of them garbage: each collection it triggered would walk them all
        again), and what was restored is then moved out of its sight (``gc.freeze``): a
        full collection in the middle of a request would otherwise walk every S3 key.
        """
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._restore()
        finally:
            if enabled:
                gc.enable()
            gc.freeze()

    def _restore_s3(self, restored: list[str]) -> None:
        """S3's rows over what the snapshot restored (rows win); a format-3 snapshot's S3
        (keys included) is copied into rows instead, once, before anything is served."""
        has_s3 = "s3" in restored
        if not self.s3.authoritative():
            if has_s3:
                copied = self.s3.write_all()
                log.info("S3 keys of a format-3 snapshot copied into the row store (%d rows)", copied)
            self.s3.mark_authoritative()
            self.s3.restore_counts()
            return
        if not has_s3 and not self.s3.has_rows():
            self.s3.restore_counts()
            return  # no S3 state at all: moto's S3 is not even imported
        from emulation.core.s3store import snapshot_buckets

        started = time.perf_counter()
        keys = self.s3.restore(snapshot_buckets() if has_s3 else [])
        if "s3" not in restored:
            restored.append("s3")
        log.info("restored %d S3 keys from rows in %.0f ms", keys, (time.perf_counter() - started) * 1000)

    def collect_crashed(self, *, blobs: bool = True) -> int:
        """Remove what generations that never became current left behind (a crash or a kill
        between their first file and the manifest switch): service files the manifest does
        not name, a manifest's temporary file, and (``blobs``) blobs that neither an S3 row
        nor the current snapshot refers to (bodies written for changes that never reached a
        row). Returns how many files went. Run at start, before anything is served."""
        current = set(self.manifest.get("services", {}).values())
        removed = 0
        for file in self.root.glob("*.pkl"):
            if file.name not in current:
                file.unlink(missing_ok=True)
                removed += 1
        tmp = self.manifest_file.with_suffix(".json.tmp")
        if tmp.exists():
            tmp.unlink(missing_ok=True)
            removed += 1
        if blobs:
            removed += self._collect_crashed_blobs()
        if removed:
            log.info("removed %d file(s) left by snapshots that never completed", removed)
        return removed

    def _collect_crashed_blobs(self) -> int:
        keep: set[str] = set()
        for refs in self.manifest.get("blobs_of", {}).values():
            keep.update(refs)
        if self.s3.authoritative():  # else a format-3 snapshot's blobs_of names them all
            keep |= self.s3.referenced()
            return self.blobs.collect(keep)
        if self.manifest.get("services"):  # no manifest yet: nothing to judge blobs by
            return self.blobs.collect(keep)
        return 0

    def wipe(self) -> None:
        for file in self.root.glob("*.pkl*"):
            file.unlink(missing_ok=True)
        self.manifest_file.unlink(missing_ok=True)
        self.manifest = self._read_manifest()
        self.s3.wipe()
        self.blobs.collect(set())
