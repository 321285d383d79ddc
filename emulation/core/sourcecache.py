"""Functions the standard library writes as source at import, kept compiled on disk.

``dataclasses`` writes each dataclass's ``__init__``, ``__repr__``, ``__eq__``... as Python
source and compiles it (``exec``), and ``collections.namedtuple`` its ``__new__`` (``eval``):
the engine's start makes some 250 such functions, compiling the same text every time
(about a tenth of the start's CPU on the reference machine). :func:`install` gives those
two modules an ``exec`` and an ``eval`` of their own (module names come before the
builtins) that run the code compiled from the very same text, as the builtins would
compile it (file ``<string>``, no inherited ``__future__`` flags: neither module has
any), kept per text in ``$XDG_CACHE_HOME/nexuskit/code/`` in a file named for the exact
Python version. What is compiled anew is saved (``KEPT.save()``), and kept once two
processes compiled it (at most :data:`MAX_FUNCTIONS`, none longer than 20,000
characters). The file is code the
engine runs, as Python's own ``__pycache__`` is: it is written 0600 in a 0700 folder of
the user's cache. ``NEXUSKIT_MODEL_CACHE=0`` turns it off.
"""

from __future__ import annotations

import builtins
import collections
import dataclasses
import sys
import threading
from pathlib import Path
from types import CodeType
from typing import Any

from emulation.core import diskcache

MAX_FUNCTIONS = 8192
#: the files' layout (a new one leaves the older files unread)
FORMAT = "v2"


def cache_file() -> Path:
    return diskcache.cache_home() / "code" / f"{diskcache.interpreter_tag()}-{FORMAT}.marshal"


#: (mode, source text) -> its code
KEPT = diskcache.KeptCompilations(cache_file, MAX_FUNCTIONS)
_lock = threading.Lock()
_installed = False


def install() -> bool:
    """Compile what dataclasses and namedtuples generate through the cache from now on
    (idempotent); False when the cache is off."""
    global _installed
    if not diskcache.enabled():
        return False
    with _lock:
        if not _installed:
            KEPT.load()
            dataclasses.exec = _exec  # type: ignore[attr-defined]
            collections.eval = _eval  # type: ignore[attr-defined]
            _installed = True
    return True


def compiled(source: str, mode: str) -> CodeType:
    """``source`` compiled as ``exec``/``eval`` compile a string (kept, or compiled now)."""
    key = (mode, source)
    code = KEPT.get(key)
    if isinstance(code, CodeType):
        return code
    code = compile(source, "<string>", mode, dont_inherit=True)
    KEPT.add(key, code, len(source))
    return code


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    if isinstance(source, str):
        source = compiled(source, "exec")
    if globals is None:  # the caller's namespaces, as the builtin takes them
        frame = sys._getframe(1)
        globals, locals = frame.f_globals, frame.f_locals if locals is None else locals
    builtins.exec(source, globals, locals)


def _eval(source: Any, globals: Any = None, locals: Any = None, /) -> Any:
    if isinstance(source, str):
        source = compiled(source, "eval")
    if globals is None:
        frame = sys._getframe(1)
        globals, locals = frame.f_globals, frame.f_locals if locals is None else locals
    return builtins.eval(source, globals, locals)
