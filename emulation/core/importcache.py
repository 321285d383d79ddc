"""Where the engine's start found the submodules it imports, kept for the next start.

Python finds each module it imports by asking every finder in turn; a submodule's file is
then looked up in its package's folder (a listing kept per folder, checked against the
folder's modification time, and a stat per candidate suffix). The engine's start imports
some 300 submodules (moto, botocore, werkzeug, urllib3, the engine's own), and finding
them took about 20 ms of its start on the reference machine, a tenth of its CPU before the
first answer.

:class:`IndexedFinder` answers for a submodule from what an earlier start found: its
loader (source, extension or bytecode), its file, whether it is a package, and the folder
it was found in with that folder's modification time. It answers only when the package's
``__path__`` is that one folder and the folder's modification time is the recorded one
(checked once per folder and process): a file added, removed or renamed there changes
the folder's time, and the submodule is then found as usual. That is the test Python's
own finder uses to trust its listing of a folder, so an indexed answer is the answer it
would give. Top-level modules, namespace packages, zip imports and anything another
finder claims first (the engine's deferred modules, setuptools' distutils shim) are found
as usual. The spec is built as Python's file finder builds it
(``spec_from_file_location`` with the same loader class).

The index is written by :func:`save` (the engine saves its compile caches once its start
is quiet and at its stop) to ``$XDG_CACHE_HOME/nexuskit/imports/``, one file per
interpreter and environment (``sys.prefix``), merged with what other processes found
while their folders are unchanged. ``NEXUSKIT_MODEL_CACHE=0`` turns it off.
"""

from __future__ import annotations

import marshal
import os
import sys
import threading
import zlib
from importlib._bootstrap_external import spec_from_file_location  # type: ignore[attr-defined]
from importlib.machinery import (
    ExtensionFileLoader,
    ModuleSpec,
    PathFinder,
    SourceFileLoader,
    SourcelessFileLoader,
)
from pathlib import Path
from typing import Any

from emulation.core import diskcache

#: the loaders an index entry names (by position)
LOADERS: tuple[type, ...] = (SourceFileLoader, ExtensionFileLoader, SourcelessFileLoader)
#: at most this many submodules are kept
LIMIT = 8192
#: the file's layout (a new one leaves the older files unread)
FORMAT = "v1"

#: (loader index, file, is a package, folder searched)
Entry = tuple[int, str, bool, str]

_lock = threading.Lock()
_finder: IndexedFinder | None = None


def cache_file() -> Path:
    environment = zlib.crc32(sys.prefix.encode())
    return (
        diskcache.cache_home()
        / "imports"
        / f"{diskcache.interpreter_tag()}-{environment:08x}-{FORMAT}.marshal"
    )


class IndexedFinder:
    """A meta path finder (just before Python's path finder) answering from the index."""

    def __init__(self, entries: dict[str, Entry], folders: dict[str, int]) -> None:
        self.entries = entries
        self.folders = folders
        self._unchanged: dict[str, bool] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        entry = self.entries.get(fullname)
        if entry is None or path is None:
            return None
        kind, origin, package, folder = entry
        if len(path) != 1 or path[0] != folder or not self.unchanged(folder):
            return None
        locations = [os.path.dirname(origin)] if package else None
        spec: ModuleSpec | None = spec_from_file_location(
            fullname, origin, loader=LOADERS[kind](fullname, origin), submodule_search_locations=locations
        )
        return spec

    def unchanged(self, folder: str) -> bool:
        known = self._unchanged.get(folder)
        if known is None:
            known = self._unchanged[folder] = _mtime(folder) == self.folders.get(folder)
        return known


def install() -> bool:
    """Put the index's finder before Python's path finder (idempotent); False when the
    cache is off."""
    global _finder
    if not diskcache.enabled():
        return False
    with _lock:
        if _finder is None:
            entries, folders = _read(cache_file())
            _finder = IndexedFinder(entries, folders)
            position = next((i for i, f in enumerate(sys.meta_path) if f is PathFinder), len(sys.meta_path))
            sys.meta_path.insert(position, _finder)
    return True


def found_now() -> dict[str, Entry]:
    """The entries for the submodules this process has imported from files."""
    found: dict[str, Entry] = {}
    for name, module in list(sys.modules.items()):
        package_name, dot, _tail = name.rpartition(".")
        spec = getattr(module, "__spec__", None)
        if not dot or spec is None or type(spec.loader) not in LOADERS or not isinstance(spec.origin, str):
            continue
        search = getattr(sys.modules.get(package_name), "__path__", None)
        if search is None or len(search) != 1:
            continue
        folder, origin, locations = search[0], spec.origin, spec.submodule_search_locations
        is_package = locations is not None
        home = os.path.dirname(origin)
        if locations is not None and list(locations) != [home]:
            continue
        if (os.path.dirname(home) if is_package else home) != folder:
            continue
        found[name] = (LOADERS.index(type(spec.loader)), origin, is_package, folder)
    return found


def save() -> int:
    """Merge what this process found into the index file; returns how many entries are new."""
    finder = _finder
    if finder is None:
        return 0
    fresh = {name: entry for name, entry in found_now().items() if finder.entries.get(name) != entry}
    if not fresh:
        return 0
    path = cache_file()
    entries, folders = _read(path)
    now: dict[str, int | None] = {}

    def current(folder: str) -> int | None:
        if folder not in now:
            now[folder] = _mtime(folder)
        return now[folder]

    kept = {
        name: e
        for name, e in entries.items()
        if current(e[3]) is not None and current(e[3]) == folders.get(e[3])
    }
    kept.update({name: e for name, e in fresh.items() if os.path.exists(e[1]) and current(e[3]) is not None})
    kept = dict(list(kept.items())[-LIMIT:])
    kept_folders = {e[3]: current(e[3]) for e in kept.values()}
    diskcache.write_atomically(path, marshal.dumps((kept, kept_folders)))
    finder.entries, finder.folders = kept, {f: t for f, t in kept_folders.items() if t is not None}
    return len(fresh)


def _same(now: int | None, recorded: int | None) -> bool:
    return now is not None and now == recorded


def _mtime(folder: str) -> int | None:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return None


def _read(path: Path) -> tuple[dict[str, Entry], dict[str, int]]:
    try:
        entries, folders = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}, {}
    if not isinstance(entries, dict) or not isinstance(folders, dict):
        return {}, {}
    return entries, folders
