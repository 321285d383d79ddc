"""Make moto's Lambda state picklable, so functions survive an engine restart.

The engine persists each service by pickling its backends. moto's Lambda backend keeps
function and layer ARNs in ``weakref.WeakValueDictionary`` objects and aliases in a
``defaultdict(lambda: {})``, neither of which pickles, so without this the whole Lambda
service is skipped at every snapshot (and deployed functions vanish on restart). Each
function also holds a reference to the CloudWatch Logs backend, which would be pickled
as a stale private copy; it is dropped and looked up again on restore.
"""

from __future__ import annotations

import importlib
import sys
import weakref
from collections import defaultdict
from typing import Any

_INSTALLED = False


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
    return {
        key: value
        for key, value in self.__dict__.items()
        if key not in ("_DockerModel__docker_client", "logs_backend")
    }


def _function_setstate(self: Any, state: dict[str, Any]) -> None:
    from moto.logs.models import logs_backends

    self.__dict__.update(state)
    self._DockerModel__docker_client = None
    self.logs_backend = logs_backends[self.account_id][self.region]


def install_pickle_support() -> None:
    """Teach moto's Lambda classes to pickle (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    # Runs inside the import of moto.awslambda.models (emulation.core.imports): the module
    # is executed by then, so take it from sys.modules (a ``from`` import of the package's
    # attribute would not find it yet).
    models = sys.modules.get("moto.awslambda.models") or importlib.import_module("moto.awslambda.models")

    for cls in (models.LambdaStorage, models.LayerStorage):
        cls.__getstate__ = _storage_getstate  # type: ignore[method-assign]
        cls.__setstate__ = _storage_setstate  # type: ignore[attr-defined]
    models.LambdaFunction.__getstate__ = _function_getstate  # type: ignore[method-assign]
    models.LambdaFunction.__setstate__ = _function_setstate  # type: ignore[attr-defined]
    _INSTALLED = True
