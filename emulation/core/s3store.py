"""S3's durable rows: every acknowledged S3 change is on disk before its answer.

Snapshots (:mod:`emulation.core.persistence`) used to pickle every S3 object at every
snapshot: their cost grew with the object count (8 s at 100k objects and a million Kinesis
records) and an object
acknowledged since the last one was lost to a ``kill -9``. S3 now keeps its own store,
``<state_dir>/state/s3.sqlite``, written as each change is made:

* one row per (account, bucket, key) holds that key's whole version list (delete markers
  included): each version's attributes without its body, the SHA-256 digest of the body
  (the body itself is a file of the content-addressed blob store, ``state/blobs``) and the
  version's tags (moto keeps them in the backend's ``tagger``, by the version's ARN);
* one row per (account, bucket) holds the bucket without its keys: its configuration
  (versioning, policy, lifecycle, CORS, notifications, encryption...), its tags, and its
  multipart uploads in progress, whose parts' bodies are blobs too;
* a deleted key or bucket is a deleted row.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit is a ``write`` to the WAL,
no fsync (the OS keeps it through a ``kill -9``). One connection, behind a lock, writes;
the WAL is copied into the database (a checkpoint, which fsyncs) by the snapshot thread
after each snapshot, on a connection of its own, never on the request path, and emptied
at a clean stop. A row is small: a key's attributes that have moto's defaults, and those
every version of the row shares with its names (account, bucket, key...), are left out
and put back at restore; ACLs are stored once each (``acls``) and shared by the keys
restored with them (moto replaces an ACL, it never changes one). Measured on a loaded
2-vCPU machine: ~530 bytes per 1 KiB object, 100k keys restored in ~1.0-1.3 s of CPU.

**What changed.** moto's ``S3Backend`` methods that change a bucket or a key record it
(:func:`touch`, installed by :func:`emulation.core.moto_compat.s3.install_change_recorder`)
whoever calls them: moto's request handlers, the engine's PutObject fast path, Firehose
deliveries. The engine adds the bucket and key a mutating S3 request names (what moto's
handlers change directly on its objects, such as a copy's metadata). After a request,
:meth:`S3Store.flush` writes the row of every recorded name *as it is in memory now*,
inside the request's shared state lock and before the answer is sent; a snapshot flushes
what background writers recorded (a Firehose delivery is durable by the next snapshot, in
which its checkpoint is: a crash in between delivers its records again). Writing the
current state is always right, so names may be flushed by any thread: the store's lock
covers taking them, reading moto's objects and the commit, so a request that finds nothing
left to write knows that the thread that took its names has committed them.

**Bodies live on disk.** A body moto gives a ``FakeKey`` is written to the blob store at
once (no fsync, an atomic rename) and the key reads it back from its file when asked
(:class:`emulation.core.moto_compat.s3.FileBody`): memory holds no body, a restore reads
none, and a row refers to a blob that is already there.

**Garbage.** The store counts, per digest, the rows that refer to it. A digest whose count
drops to zero, and a blob written for a key that never reached a row, are garbage at the
next snapshot, judged with the state frozen and every recorded name flushed first (nothing
in memory then refers to a blob no row refers to); they leave the blob store's index
there and their files are deleted once the state is released (a body stored again
meanwhile is written again, and kept). At start, once the rows are read, every blob no row
(and no snapshot) refers to is deleted: what a crash left.

**A write that fails** (``OSError``: a full disk; SQLite's errors are mapped to it) leaves
the change in moto's memory, recorded for the next flush: the request that made it is
answered 503 instead of its answer (:meth:`emulation.core.app.EngineApp._persist_s3`), the
engine is degraded until a snapshot (which flushes first) succeeds, and no blob is
collected meanwhile.

**Restore** reads the rows (no body): buckets first, replacing the snapshot's copies
(rows win; a bucket the snapshot holds and no row does was deleted after it), then every
key's version list. State dirs of format 3 (snapshots that pickled S3's keys) have no
database: their snapshot is restored as it was and copied into rows at once.

:func:`bulk_fill` writes a bucket of objects straight into a state dir, as the engine
would have persisted them (for benchmarks and fixtures).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import io
import logging
import pickle
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulation.core.moto_compat import pickling as moto_pickling
from emulation.core.moto_compat import s3 as moto_s3

if TYPE_CHECKING:
    from emulation.core.persistence import BlobStore

log = logging.getLogger(__name__)

DATABASE = "s3.sqlite"
#: ``meta`` row set once the rows hold all of S3 (a fresh store, or a format-3 one copied)
_AUTHORITATIVE = "authoritative"
#: prefix of the ``meta`` rows of companions (:meth:`S3Store.add_companion`)
_COMPANION = "companion:"
#: rows are kilobytes: rowid tables (a restore reads them in storage order) with a unique
#: index on the names (the writes' look-ups); ``acls`` holds each distinct ACL once
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS buckets (account TEXT NOT NULL, bucket TEXT NOT NULL, "
    "partition TEXT NOT NULL, row BLOB NOT NULL, digests TEXT NOT NULL, UNIQUE (account, bucket))",
    "CREATE TABLE IF NOT EXISTS objects (account TEXT NOT NULL, bucket TEXT NOT NULL, "
    "key TEXT NOT NULL, row BLOB NOT NULL, digests TEXT NOT NULL, UNIQUE (account, bucket, key))",
    "CREATE TABLE IF NOT EXISTS acls (id TEXT PRIMARY KEY, acl BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
#: a ``FakeKey``'s attributes as moto sets them for a plain object: a row leaves out those
#: that have these values (most of them), and a restore puts them back
_KEY_DEFAULTS: dict[str, Any] = {
    "_transitions": [(None, "IN_PROGRESS"), ("IN_PROGRESS", "RESTORED")],
    "_status": None,
    "_tick": 0,
    "model_name": "s3::keyrestore",
    "website_redirect_location": None,
    "checksum_algorithm": None,
    "_storage_class": "STANDARD",
    "_expiry": None,
    "_is_versioned": False,
    "multipart": None,
    "disposed": False,
    "encryption": None,
    "kms_key_id": None,
    "bucket_key_enabled": None,
    "lock_mode": None,
    "lock_legal_status": None,
    "lock_until": None,
    "checksum_value": None,
    "checksum_type": None,
    "checksum_parts": None,
}

# -- what changed ------------------------------------------------------------------------------
_touched: set[tuple[str, str | None]] = set()
_touched_lock = threading.Lock()


def touch(bucket: str, key: str | None) -> None:
    """Record that ``bucket`` (``key`` None) or one of its keys changed: the next flush writes it."""
    with _touched_lock:
        _touched.add((bucket, key))


def _take_touched() -> set[tuple[str, str | None]]:
    global _touched
    with _touched_lock:
        taken, _touched = _touched, set()
    return taken


def _give_back(names: Iterable[tuple[str, str | None]]) -> None:
    with _touched_lock:
        _touched.update(names)


def pending() -> bool:
    """Whether a change is recorded and not yet written."""
    return bool(_touched)


# -- rows --------------------------------------------------------------------------------------
#: ACLs restored from the ``acls`` table, by id: moto never changes an ACL in place (a new
#: ACL replaces it), so every key with the same ACL (nearly all: the bucket owner's private
#: one) shares one object, which restores fast and takes no memory per key
_shared_acls: dict[str, Any] = {}
#: the blob store's folder, as restored keys find their bodies
_blob_root: list[str] = [""]


#: the names of the key row being restored (see ``_ROW_FIELDS``)
_row_names: dict[str, str] = {}
#: attributes every version of a key row shares with the row's names (account, the
#: backend's region, partition, bucket, key): left out of the row, put back at restore
_ROW_FIELDS = ("account_id", "region_name", "partition", "bucket_name", "name")


def _restore_key(cls: Any, state: dict[str, Any], digest: str) -> Any:
    full = dict(_KEY_DEFAULTS)
    full["_transitions"] = list(full["_transitions"])
    full.update(state)
    return moto_s3.new_stored_key(cls, full, _blob_root[0], digest)


def _restore_row_key(cls: Any, state: dict[str, Any], digest: str) -> Any:
    """A version of the key row being restored (its names are in ``_row_names``)."""
    full = _row_base.copy()  # (``_transitions`` is shared: moto only reads it)
    full["name"] = _row_names["name"]
    full.update(state)
    return moto_s3.new_stored_key(cls, full, _blob_root[0], digest)


#: the defaults and the names of the bucket being restored, in one dict (see ``_row_names``)
_row_base: dict[str, Any] = {}


def _set_row_names(names: dict[str, str]) -> None:
    _row_names.clear()
    _row_names.update(names)
    _row_base.clear()
    _row_base.update(_KEY_DEFAULTS)
    _row_base.update(names)


def _restore_acl(acl_id: str) -> Any:
    return _shared_acls[acl_id]


def _key_state(key: Any, names: dict[str, str] | None = None) -> dict[str, Any]:
    """A key's attributes for its row: without its body, the defaults and the row's ``names``."""
    state = moto_pickling.fake_key_state(key)
    for name, default in _KEY_DEFAULTS.items():
        if name in state:
            value = state[name]
            if value is default or (type(value) is type(default) and value == default):
                del state[name]
    if names is not None:
        for name, value in names.items():
            if state.get(name) == value and type(state[name]) is str:
                del state[name]
    return state


def _new_lock() -> Any:
    return threading.Lock()


def _empty_key_store(cls: Any) -> Any:
    return cls()


class _RowPickler(pickle.Pickler):
    """Pickles a key's versions or a bucket without its keys, with no body in it.

    A ``FakeKey`` becomes its attributes and its body's digest (the body is written to the
    blob store first when it is not there yet), a bucket's key store an empty one, an ACL a
    shared object (see ``_shared_acls``), a lock a new lock. ``digests`` collects every
    body the row refers to.
    """

    def __init__(
        self, file: io.BytesIO, blobs: BlobStore, types: dict[str, type], names: dict[str, str] | None = None
    ) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._blobs = blobs
        #: a key row's names (``_ROW_FIELDS``), None for a bucket row
        self.names = names
        self.digests: set[str] = set()
        #: the ACLs the row refers to: id -> pickle (the writer stores those it has not yet)
        self.acls: dict[str, bytes] = {}
        self._acl_ids: dict[int, tuple[Any, str]] = {}
        lock_types = (type(threading.Lock()), type(threading.RLock()))
        self.dispatch_table = {
            **dict.fromkeys(lock_types, lambda _lock: (_new_lock, ())),
            types["FakeKey"]: self._reduce_key,
            types["KeyStore"]: lambda store: (_empty_key_store, (type(store),)),
            types["FakeAcl"]: self._reduce_acl,
        }

    def _reduce_key(self, key: Any) -> Any:
        cached = moto_pickling.cached_body_digest(key)
        if cached is not None and cached[0] == key.contentsize:
            digest = cached[1]
        else:  # a body the blob store could not take when it was set (or a key from before)
            try:
                value = key.value
            except ValueError:  # moto disposed of the object: its body is gone
                value = b""
            if isinstance(value, str):
                value = value.encode("utf-8")
            digest = self._blobs.put_fast(value)
            moto_pickling.cache_body_digest(key, len(value), digest)
        self.digests.add(digest)
        if self.names is not None and key.name == self.names["name"]:
            return (_restore_row_key, (type(key), _key_state(key, self.names), digest))
        return (_restore_key, (type(key), _key_state(key), digest))

    def _reduce_acl(self, acl: Any) -> Any:
        known = self._acl_ids.get(id(acl))
        if known is not None and known[0] is acl:
            return (_restore_acl, (known[1],))
        blob = pickle.dumps(acl, protocol=pickle.HIGHEST_PROTOCOL)
        acl_id = hashlib.sha256(blob).hexdigest()[:24]
        self.acls[acl_id] = blob
        self._acl_ids[id(acl)] = (acl, acl_id)  # (the ACL is kept: its id stays its own)
        return (_restore_acl, (acl_id,))


def _dumps(
    value: Any, blobs: BlobStore, types: dict[str, type], names: dict[str, str] | None = None
) -> tuple[bytes, str, dict[str, bytes]]:
    buffer = io.BytesIO()
    pickler = _RowPickler(buffer, blobs, types, names)
    pickler.dump(value)
    return buffer.getvalue(), " ".join(sorted(pickler.digests)), pickler.acls


def _bucket_arn(partition: str, bucket: str) -> str:
    return f"arn:{partition}:s3:::{bucket}"


def _key_row(versions: list[Any], tags: dict[str, dict[str, Any]]) -> list[tuple[Any, Any]]:
    """A key's version list with each FakeKey's tags (delete markers have none)."""
    return [(version, tags.get(getattr(version, "arn", ""))) for version in versions]


def _names(account: str, region: str, partition: str, bucket: str, key: str) -> dict[str, str]:
    return dict(zip(_ROW_FIELDS, (account, region, partition, bucket, key), strict=True))


def _bucket_state(bucket: Any) -> dict[str, Any]:
    return {name: value for name, value in vars(bucket).items() if name != "keys"}


def _restore_bucket(cls: Any, state: dict[str, Any], key_store: Any) -> Any:
    bucket = cls.__new__(cls)
    bucket.__dict__.update(state)
    bucket.keys = key_store
    return bucket


def _as_os_error(exc: sqlite3.Error) -> OSError:
    """SQLite's errors as the OSError the storage guard understands (a full disk is ENOSPC)."""
    text = str(exc)
    code = errno.ENOSPC if "full" in text else errno.EIO
    return OSError(code, f"S3 store: {text}")


class S3Store:
    """The rows of S3's buckets and keys (see module doc)."""

    def __init__(self, root: Path, blobs: BlobStore) -> None:
        self.root = root
        self.blobs = blobs
        self.path = root / DATABASE
        # Reentrant: a writer that must change S3 and its own state as one step holds it
        # across both and the flush (see :meth:`atomic`).
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        #: state of others written in the same transaction as every flush (see :meth:`companion`)
        self._companions: dict[str, Callable[[], bytes]] = {}
        self._checkpoint_lock = threading.Lock()
        self._checkpointer: sqlite3.Connection | None = None
        #: rows per digest (built at restore, kept up to date by every write)
        self._refs: Counter[str] = Counter()
        self._refs_known = False
        #: digests that may have become garbage since the last collection
        self._orphans: set[str] = set()
        #: ACL ids known to be in the ``acls`` table
        self._acl_ids: set[str] = set()
        self.rows_written = 0
        self.errors = 0

    # -- database -------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return self.path.exists()

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.root.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            # No checkpoint on the request path (a checkpoint fsyncs): the snapshot thread
            # runs them, on its own connection (see :meth:`checkpoint_passive`).
            db.execute("PRAGMA wal_autocheckpoint=0")
            for statement in _SCHEMA:
                db.execute(statement)
            self._db = db
        return self._db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            db.execute("BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise _as_os_error(exc) from exc

    # -- companions: state that must be exactly as durable as S3's rows -------------------
    def add_companion(self, name: str, state: Callable[[], bytes]) -> None:
        """Write ``state()`` with every flush, in its transaction (read back by :meth:`companion`).

        For state that describes S3 objects, such as Firehose's delivery checkpoints: it is
        taken *before* the changed names are, under the store's lock, so the rows committed
        with it hold at least every object it describes; a writer that changes objects and
        such state together does both inside :meth:`atomic`, so no flush falls between.
        """
        self._companions[name] = state

    def companion(self, name: str) -> bytes | None:
        """The state of companion ``name`` as last committed (None when never written)."""
        with self._lock:
            row = (
                self._connect()
                .execute("SELECT value FROM meta WHERE name = ?", (_COMPANION + name,))
                .fetchone()
            )
        return base64.b64decode(row[0]) if row else None

    def atomic(self) -> contextlib.AbstractContextManager[Any]:
        """Hold off every other flush (a companion's writer changes S3 and its state in it)."""
        return self._lock

    def authoritative(self) -> bool:
        """Whether the rows hold all of S3 (else a format-3 snapshot still does)."""
        with self._lock:
            row = (
                self._connect().execute("SELECT value FROM meta WHERE name = ?", (_AUTHORITATIVE,)).fetchone()
            )
        return row is not None

    def mark_authoritative(self) -> None:
        with self._lock, self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_AUTHORITATIVE, str(time.time())))

    def checkpoint_passive(self) -> None:
        """Copy what the WAL holds into the database file, without blocking writers (the
        snapshot thread calls it after each snapshot, on a connection of its own, so the
        checkpoint's fsync never delays a request); the WAL restarts from its beginning at
        the next commit once it is all copied."""
        if not self.path.exists():
            return
        with self._checkpoint_lock:
            try:
                if self._checkpointer is None:
                    self._checkpointer = sqlite3.connect(
                        self.path, check_same_thread=False, isolation_level=None
                    )
                self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:
                log.warning("S3 store: WAL checkpoint failed (%s)", exc)

    def checkpoint(self) -> None:
        """Fold the WAL into the database file and empty it (at a clean stop)."""
        with self._lock:
            if self._db is not None:
                try:
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error as exc:
                    log.warning("S3 store: WAL checkpoint failed (%s)", exc)

    def close(self) -> None:
        with self._checkpoint_lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
        self.checkpoint()
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def wipe(self) -> None:
        """Every row goes (the engine was reset; the blobs go with the state store's)."""
        _take_touched()
        with self._checkpoint_lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            for suffix in ("", "-wal", "-shm"):
                (self.root / f"{DATABASE}{suffix}").unlink(missing_ok=True)
            self._refs.clear()
            self._refs_known = True
            self._orphans.clear()
        self.mark_authoritative()

    # -- writing --------------------------------------------------------------------------
    def flush(self) -> int:
        """Write the row of every bucket and key recorded as changed; returns how many.

        Raises OSError (the names stay recorded, for the next flush) when they cannot be
        written.
        """
        with self._lock:
            companions = {name: state() for name, state in self._companions.items()}
            names = _take_touched()
            if not names:
                return 0
            try:
                try:
                    self._write(names, companions)
                except BaseException:
                    self._acl_ids.clear()  # inserts of the rolled back transaction are gone
                    raise
            except OSError:
                self.errors += 1
                _give_back(names)
                raise
            except Exception as exc:  # a row that cannot be pickled must not pass as written
                self.errors += 1
                _give_back(names)
                raise OSError(errno.EIO, f"S3 store: {exc!r}") from exc
            self.rows_written += len(names)
            return len(names)

    def _write(self, names: set[tuple[str, str | None]], companions: dict[str, bytes] | None = None) -> None:
        types = moto_s3.s3_model_types()
        located: dict[str, tuple[str, str, Any] | None] = {}
        for bucket_name, _ in names:
            if bucket_name not in located:
                located[bucket_name] = moto_s3.located_bucket(bucket_name)
        deltas: list[tuple[str, str]] = []  # (old digests, new digests)
        with self._transaction() as db:
            for bucket_name, key in sorted(
                names, key=lambda name: (name[0], name[1] is not None, name[1] or "")
            ):
                where = located[bucket_name]
                if key is None:
                    deltas.extend(self._write_bucket(db, bucket_name, where, types))
                else:
                    deltas.append(self._write_key(db, bucket_name, key, where, types))
            for name, state in (companions or {}).items():
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    (_COMPANION + name, base64.b64encode(state).decode("ascii")),
                )
        self._count(deltas)

    def _write_bucket(
        self, db: sqlite3.Connection, name: str, where: tuple[str, str, Any] | None, types: dict[str, type]
    ) -> list[tuple[str, str]]:
        # deleted: its rows go; (re)made by another account: the other account's rows go
        deltas = self._drop_bucket(db, name, keep_account=None if where is None else where[1])
        if where is None:
            return deltas
        partition, account, bucket = where
        tagger = moto_s3.s3_backend(account, partition).tagger
        tags = dict(tagger.tags.get(_bucket_arn(partition, name)) or {})
        row, digests, acls = _dumps(
            (type(bucket), _bucket_state(bucket), type(bucket.keys), tags), self.blobs, types
        )
        self._store_acls(db, acls)
        old = db.execute(
            "SELECT digests FROM buckets WHERE account = ? AND bucket = ?", (account, name)
        ).fetchone()
        db.execute(
            "INSERT OR REPLACE INTO buckets VALUES (?, ?, ?, ?, ?)", (account, name, partition, row, digests)
        )
        return [*deltas, (old[0] if old else "", digests)]

    @staticmethod
    def _drop_bucket(db: sqlite3.Connection, name: str, keep_account: str | None) -> list[tuple[str, str]]:
        """Delete the rows of bucket ``name`` (and of its keys) of every account but
        ``keep_account``; returns their digests as (old, new) pairs for the counts."""
        deltas: list[tuple[str, str]] = []
        accounts = db.execute("SELECT account FROM buckets WHERE bucket = ?", (name,)).fetchall()
        for (account,) in accounts:
            if account == keep_account:
                continue
            for table in ("objects", "buckets"):
                deltas.extend(
                    (digests, "")
                    for (digests,) in db.execute(
                        f"SELECT digests FROM {table} WHERE account = ? AND bucket = ?",
                        (account, name),
                    )
                )
                db.execute(f"DELETE FROM {table} WHERE account = ? AND bucket = ?", (account, name))
        return deltas

    def _write_key(
        self,
        db: sqlite3.Connection,
        bucket_name: str,
        key: str,
        where: tuple[str, str, Any] | None,
        types: dict[str, type],
    ) -> tuple[str, str]:
        if where is None:  # no such bucket (any more): its account's row of the key goes, if any
            olds = []
            for (account,) in db.execute(
                "SELECT account FROM buckets WHERE bucket = ?", (bucket_name,)
            ).fetchall():
                olds += db.execute(
                    "SELECT digests FROM objects WHERE account = ? AND bucket = ? AND key = ?",
                    (account, bucket_name, key),
                ).fetchall()
                db.execute(
                    "DELETE FROM objects WHERE account = ? AND bucket = ? AND key = ?",
                    (account, bucket_name, key),
                )
            return (" ".join(old for (old,) in olds), "")
        partition, account, bucket = where
        versions = list(dict.get(bucket.keys, key) or ())
        old = db.execute(
            "SELECT digests FROM objects WHERE account = ? AND bucket = ? AND key = ?",
            (account, bucket_name, key),
        ).fetchone()
        if not versions:
            db.execute(
                "DELETE FROM objects WHERE account = ? AND bucket = ? AND key = ?",
                (account, bucket_name, key),
            )
            return (old[0] if old else "", "")
        tagger = moto_s3.s3_backend(account, partition).tagger
        arns = [getattr(version, "arn", None) for version in versions]
        tags = {arn: dict(tagger.tags[arn]) for arn in arns if arn and arn in tagger.tags}
        names = _names(
            account, moto_s3.s3_backend(account, partition).region_name, partition, bucket_name, key
        )
        row, digests, acls = _dumps(_key_row(versions, tags), self.blobs, types, names)
        self._store_acls(db, acls)
        db.execute(
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)", (account, bucket_name, key, row, digests)
        )
        return (old[0] if old else "", digests)

    def _store_acls(self, db: sqlite3.Connection, acls: dict[str, bytes]) -> None:
        for acl_id, blob in acls.items():
            if acl_id not in self._acl_ids:
                db.execute("INSERT OR IGNORE INTO acls VALUES (?, ?)", (acl_id, blob))
                self._acl_ids.add(acl_id)  # (a rolled back insert is inserted again: see _write)

    def _load_acls(self, db: sqlite3.Connection) -> None:
        """Every stored ACL into ``_shared_acls`` (before a row is unpickled)."""
        for acl_id, blob in db.execute("SELECT id, acl FROM acls"):
            if acl_id not in _shared_acls:
                _shared_acls[acl_id] = pickle.loads(blob)
            self._acl_ids.add(acl_id)

    def _count(self, deltas: list[tuple[str, str]]) -> None:
        """Keep the rows-per-digest counts (call with the store's lock held, after a commit)."""
        if not self._refs_known:
            return
        refs = self._refs
        for old, new in deltas:
            if old == new:
                continue
            gone = set(old.split()) - set(new.split()) if old else set()
            came = set(new.split()) - set(old.split()) if new else set()
            for digest in came:
                refs[digest] += 1
            for digest in gone:
                refs[digest] -= 1
                if refs[digest] <= 0:
                    del refs[digest]
                    self._orphans.add(digest)

    def write_all(self) -> int:
        """Write a row for every bucket and key moto holds (a format-3 state dir's first start)."""
        for bucket_name, _partition, _account, bucket in _every_bucket():
            touch(bucket_name, None)
            for key in list(dict.keys(bucket.keys)):
                touch(bucket_name, key)
        return self.flush()

    def has_rows(self) -> bool:
        with self._lock:
            return self._connect().execute("SELECT 1 FROM buckets LIMIT 1").fetchone() is not None

    def install(self) -> None:
        """Hook moto's S3 (call once ``moto.s3.models`` is imported): bodies go to the blob
        store as they are set, and every change is recorded for the next flush."""
        _blob_root[0] = str(self.blobs.root)
        moto_s3.install_file_bodies(self.blobs.sink)
        moto_s3.install_change_recorder(touch)

    # -- garbage --------------------------------------------------------------------------
    def restore_counts(self) -> None:
        """Count the rows per digest without restoring them (no S3 state was restored)."""
        with self._lock:
            refs: Counter[str] = Counter()
            db = self._connect()
            for table in ("buckets", "objects"):
                for (digests,) in db.execute(f"SELECT digests FROM {table}"):
                    refs.update(digests.split())
            self._refs = refs
            self._refs_known = True
            self._orphans = set()

    def referenced(self) -> set[str]:
        """Every digest a row refers to (counted at restore, else read from the database)."""
        with self._lock:
            if self._refs_known:
                return set(self._refs)
            found: set[str] = set()
            db = self._connect()
            for table in ("buckets", "objects"):
                for (digests,) in db.execute(f"SELECT digests FROM {table}"):
                    if digests:
                        found.update(digests.split())
            return found

    def collect_garbage(self) -> set[str]:
        """The blobs no row refers to any more, dropped from the blob store's index; the
        caller deletes their files (:meth:`BlobStore.delete`) once the state is released.

        Call with the state frozen and every recorded change flushed: nothing in memory
        then refers to a blob no row does (a body set again meanwhile is written again).
        """
        if pending():
            return set()
        with self._lock:
            if not self._refs_known:
                return set()
            candidates = self._orphans | self.blobs.take_fresh()
            self._orphans = set()
            garbage = {digest for digest in candidates if self._refs.get(digest, 0) <= 0}
        self.blobs.forget(garbage)
        return garbage

    # -- restoring ------------------------------------------------------------------------
    def restore(self, snapshot_buckets: Iterable[tuple[str, str, str]]) -> int:
        """Load the rows into moto (with the state frozen); returns how many keys.

        ``snapshot_buckets`` are the (account, partition, bucket) of the buckets the snapshot
        restored: rows win over them, and one without a row was deleted after the snapshot.
        No body is read: each key reads its blob file when asked for it.
        """
        _blob_root[0] = str(self.blobs.root)
        with self._lock:
            db = self._connect()
            self._load_acls(db)
            refs: Counter[str] = Counter()
            restored: dict[tuple[str, str], Any] = {}
            for account, name, partition, row, digests in db.execute(
                "SELECT account, bucket, partition, row, digests FROM buckets"
            ):
                refs.update(digests.split())
                try:
                    cls, state, store_cls, tags = pickle.loads(row)
                except Exception as exc:
                    log.error("S3 bucket %s could not be restored (%s)", name, exc)
                    continue
                bucket = _restore_bucket(cls, state, store_cls())
                backend = moto_s3.s3_backend(account, partition)
                backend.buckets[name] = bucket
                moto_s3.reindex_bucket(name, partition, account)
                arn = _bucket_arn(partition, name)
                backend.tagger.tags.pop(arn, None)
                if tags:
                    backend.tagger.tags[arn] = dict(tags)
                restored[(account, name)] = (backend, bucket, partition)
            for account, partition, name in snapshot_buckets:
                if (account, name) not in restored:  # deleted after the snapshot
                    moto_s3.s3_backend(account, partition).buckets.pop(name, None)
                    moto_s3.forget_bucket(name)
            # object tags: only the rows' (a snapshot's are older, or of deleted keys)
            for backend, _, _ in {id(v[0]): v for v in restored.values()}.values():
                tags_of = backend.tagger.tags
                for arn in [arn for arn in tags_of if is_object_arn(arn)]:
                    del tags_of[arn]
            count = 0
            current: tuple[str, str] | None = None
            store: Any = None
            tags_of = {}
            loads = pickle.loads
            setitem = dict.__setitem__
            referenced: list[str] = []
            for account, name, key, row, digests in db.execute(
                "SELECT account, bucket, key, row, digests FROM objects"
            ):
                if " " in digests:
                    referenced.extend(digests.split())
                elif digests:
                    referenced.append(digests)
                if current != (account, name):
                    current = (account, name)
                    target = restored.get(current)
                    if target is None:
                        log.error("S3 rows of %s/%s have no bucket; skipped", account, name)
                        store = None
                    else:
                        store, tags_of = target[1].keys, target[0].tagger.tags
                        _set_row_names(_names(account, target[0].region_name, target[2], name, key))
                if store is None:
                    continue
                _row_names["name"] = key
                try:
                    versions = loads(row)
                except Exception as exc:
                    log.error("S3 object %s/%s could not be restored (%s)", name, key, exc)
                    continue
                if len(versions) == 1 and versions[0][1] is None:
                    setitem(store, key, [versions[0][0]])
                else:
                    setitem(store, key, [version for version, _ in versions])
                    for version, tags in versions:
                        if tags:
                            tags_of[version.arn] = dict(tags)
                count += 1
            refs.update(referenced)
            self._refs = refs
            self._refs_known = True
            self._orphans = set()
        return count


def is_object_arn(arn: str) -> bool:
    """Whether ``arn`` names an S3 object version (``arn:<partition>:s3:::<bucket>/<key>/<version>``)."""
    head, sep, rest = arn.partition(":s3:::")
    return bool(sep) and head.startswith("arn:") and "/" in rest


def _every_bucket() -> Iterator[tuple[str, str, str, Any]]:
    """(name, partition, account, bucket) of every bucket moto holds."""
    from moto.s3.models import s3_backends

    from emulation.core.moto_compat.backends import existing_backends

    for account, partition, backend in existing_backends(s3_backends):
        for name, bucket in list(backend.buckets.items()):
            yield name, partition, account, bucket


def snapshot_buckets() -> list[tuple[str, str, str]]:
    """(account, partition, name) of every bucket moto holds now."""
    return [(account, partition, name) for name, partition, account, _ in _every_bucket()]


# -- bulk fill ---------------------------------------------------------------------------------
def bulk_fill(
    state_dir: Path,
    *,
    account: str,
    region: str,
    bucket: str,
    objects: int,
    body_size: int = 1024,
    prefix: str = "fixture/",
) -> None:
    """Write ``objects`` objects (``<prefix><n>``, distinct bodies of ``body_size`` bytes) into
    ``bucket`` (created in ``region`` when the state dir has no such bucket) of ``state_dir``,
    exactly as a running engine would have persisted PutObject calls. No engine may be
    running on the state dir. Fast: one transaction, bodies without fsync, rows built from
    one template key.

    Usable in a process that then writes a snapshot (``StateStore(state_dir).write(
    store.serialize(None, {}), store.generation + 1)``): the rows win over that snapshot's
    S3 at restore.
    """
    from emulation.core.persistence import BlobStore

    root = state_dir / "state"
    blobs = BlobStore(root / "blobs")
    store = S3Store(root, blobs)
    fresh = not store.exists
    moto_s3.install_file_bodies(blobs.sink)
    types = moto_s3.s3_model_types()
    partition = _partition(region)
    backend = moto_s3.s3_backend(account, partition)
    with store._lock:
        db = store._connect()
        store._load_acls(db)
        found = db.execute(
            "SELECT row FROM buckets WHERE account = ? AND bucket = ?", (account, bucket)
        ).fetchone()
    if found is None:
        if bucket not in backend.buckets:
            backend.create_bucket(bucket, region)
        target = backend.buckets[bucket]
        touch(bucket, None)
        store.flush()
    else:
        cls, state, store_cls, _tags = pickle.loads(found[0])
        target = _restore_bucket(cls, state, store_cls())
        backend.buckets[bucket] = target
        moto_s3.reindex_bucket(bucket, partition, account)
    template = backend.put_object(bucket, f"{prefix}template", b"", disable_notification=True)
    names = _names(account, backend.region_name, partition, bucket, template.name)
    state = _key_state(template, names)
    dict.pop(target.keys, f"{prefix}template", None)
    _take_touched()
    key_cls = type(template)
    buffer = io.BytesIO()
    pickler = _RowPickler(buffer, blobs, types)
    rows = []
    for n in range(objects):
        name = f"{prefix}{n}"
        body = _fill_body(name, body_size)
        digest = blobs.put_fast(body, atomic=False)
        key_state = dict(state, contentsize=len(body))
        key_state["_etag"] = hashlib.md5(body, usedforsecurity=False).hexdigest()
        if target.is_versioned:
            key_state["_version_id"] = str(uuid.uuid4())
        buffer.seek(0)
        buffer.truncate()
        pickler.clear_memo()
        pickler.dump([(_StoredKey(key_cls, key_state, digest), None)])
        rows.append((account, bucket, name, buffer.getvalue(), digest))
    with store._lock, store._transaction() as db:
        store._store_acls(db, pickler.acls)
        db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)", rows)
        if fresh:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_AUTHORITATIVE, str(time.time())))
    store.close()


class _StoredKey:
    """A key already reduced to its row form (what ``_RowPickler._reduce_key`` makes)."""

    def __init__(self, cls: type, state: dict[str, Any], digest: str) -> None:
        self.reduced = (_restore_row_key, (cls, state, digest))

    def __reduce__(self) -> Any:
        return self.reduced


def _fill_body(name: str, size: int) -> bytes:
    seed = name.encode("utf-8") + b"\n"
    if size <= len(seed):
        return seed[:size] if size else b""
    return (seed * (size // len(seed) + 1))[:size]


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov"):
        return "aws-us-gov"
    return "aws"
