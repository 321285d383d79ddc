"""What the state store needs to pickle moto's objects (see :mod:`emulation.core.persistence`).

* S3: ``FakeKey`` keeps its attributes (its body in a spooled ``_value_buffer``, a lock)
  in ``__dict__``; a versioned bucket keeps every version of a key in a
  ``_VersionedKeyStore``, a dict subclass whose ``items()`` yields only the latest one. The
  digest of a body already in the blob store is cached on the key (``_nexus_blob``).
* Kinesis: a ``Shard`` is its ``__dict__``; its records are detached from it.
* Lambda: ``LambdaStorage``/``LayerStorage`` keep ARNs in a ``WeakValueDictionary`` and
  aliases in a ``defaultdict(lambda: {})``, neither of which pickles; each
  ``LambdaFunction`` holds a Docker client (``DockerModel``'s name-mangled
  ``__docker_client``) and the CloudWatch Logs backend, which would be pickled as a stale
  private copy. Without :func:`install_lambda_pickling` the whole Lambda service is
  skipped at every snapshot (and deployed functions vanish on restart).
* Every service: the list of moto's ``BackendDict`` objects.
"""

from __future__ import annotations

import importlib
import sys
import weakref
from collections import defaultdict
from typing import Any

#: where the blob store's digest of a key's body is cached on moto's ``FakeKey``
_BLOB_ATTRIBUTE = "_nexus_blob"
#: FakeKey attributes that are not pickled with its state (the body goes to the blob store)
_KEY_UNPICKLED = ("_value_buffer", "lock", "value", _BLOB_ATTRIBUTE)


# -- every service ---------------------------------------------------------------------------
def backend_dicts() -> list[Any]:
    """Every ``BackendDict`` moto has created (one per imported service)."""
    from moto.core.base_backend import BackendDict

    return list(BackendDict._instances)


# -- S3 --------------------------------------------------------------------------------------
def s3_types() -> tuple[type, type] | None:
    """(``FakeKey``, ``_VersionedKeyStore``), None when moto's S3 cannot be imported."""
    try:
        from moto.s3.models import FakeKey
        from moto.s3.utils import _VersionedKeyStore
    except ImportError:  # pragma: no cover - moto always ships S3
        return None
    return FakeKey, _VersionedKeyStore


def cached_body_digest(key: Any) -> tuple[int, str] | None:
    """(size, digest) of the key's body as last stored, None when not known."""
    cached: tuple[int, str] | None = key.__dict__.get(_BLOB_ATTRIBUTE)
    return cached


def cache_body_digest(key: Any, size: int, digest: str) -> None:
    key.__dict__[_BLOB_ATTRIBUTE] = (size, digest)


def fake_key_state(key: Any) -> dict[str, Any]:
    """A key's attributes as moto's ``FakeKey.__getstate__`` has them, without the body."""
    state = dict(key.__dict__)
    for name in _KEY_UNPICKLED:
        state.pop(name, None)
    return state


def new_fake_key(cls: Any, state: dict[str, Any], body: bytes, digest: str) -> Any:
    """A key restored from :func:`fake_key_state` and its body (whose digest is cached)."""
    key = cls.__new__(cls)
    state = dict(state)
    state["value"] = body
    key.__setstate__(state)
    cache_body_digest(key, key.contentsize, digest)
    return key


def key_store_lists(store: Any) -> list[tuple[str, list[Any]]]:
    """(name, every version) of each key of a versioned key store."""
    return [(name, dict.__getitem__(store, name)) for name in list(dict.keys(store))]


def new_key_store(cls: Any, lists: list[tuple[str, list[Any]]]) -> Any:
    """A versioned key store holding these versions of each key."""
    store = cls()
    for name, versions in lists:
        dict.__setitem__(store, name, list(versions))
    return store


# -- Kinesis ---------------------------------------------------------------------------------
def kinesis_shard_type() -> type | None:
    """moto's Kinesis ``Shard``, None when moto's Kinesis was never imported (no shard exists)."""
    kinesis = sys.modules.get("moto.kinesis.models")
    return None if kinesis is None else kinesis.Shard  # type: ignore[no-any-return]


def shard_state(shard: Any) -> dict[str, Any]:
    """A copy of a shard's attributes (``records`` included)."""
    return dict(shard.__dict__)


def new_shard(cls: Any, state: dict[str, Any]) -> Any:
    """A shard with these attributes (its constructor is not run)."""
    shard = cls.__new__(cls)
    shard.__dict__.update(state)
    return shard


# -- Lambda ----------------------------------------------------------------------------------
_DOCKER_CLIENT = "_DockerModel__docker_client"
_lambda_installed = False


def _storage_getstate(self: Any) -> dict[str, Any]:
    state = dict(self.__dict__)
    if "_arns" in state:
        state["_arns"] = dict(state["_arns"])
    if "_aliases" in state:
        state["_aliases"] = dict(state["_aliases"])
    return state


def _storage_setstate(self: Any, state: dict[str, Any]) -> None:
    state = dict(state)
    arns = state.pop("_arns", None)
    aliases = state.pop("_aliases", None)
    self.__dict__.update(state)
    if arns is not None:
        self._arns = weakref.WeakValueDictionary(arns)
    if aliases is not None:
        self._aliases = defaultdict(dict, aliases)


def _function_getstate(self: Any) -> dict[str, Any]:
    return {key: value for key, value in self.__dict__.items() if key not in (_DOCKER_CLIENT, "logs_backend")}


def _function_setstate(self: Any, state: dict[str, Any]) -> None:
    from moto.logs.models import logs_backends

    self.__dict__.update(state)
    setattr(self, _DOCKER_CLIENT, None)
    self.logs_backend = logs_backends[self.account_id][self.region]


def install_lambda_pickling() -> None:
    """Teach moto's Lambda classes to pickle (idempotent)."""
    global _lambda_installed
    if _lambda_installed:
        return
    # Runs inside the import of moto.awslambda.models (emulation.core.imports): the module
    # is executed by then, so take it from sys.modules (a ``from`` import of the package's
    # attribute would not find it yet).
    models = sys.modules.get("moto.awslambda.models") or importlib.import_module("moto.awslambda.models")

    for cls in (models.LambdaStorage, models.LayerStorage):
        cls.__getstate__ = _storage_getstate
        cls.__setstate__ = _storage_setstate
    models.LambdaFunction.__getstate__ = _function_getstate
    models.LambdaFunction.__setstate__ = _function_setstate
    _lambda_installed = True
