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
(looked at once per folder: the index serves the start alone): a file added, removed or renamed there changes
the folder's time, and the submodule is then found as usual. That is the test Python's
own finder uses to trust its listing of a folder, so an indexed answer is the answer it
would give. A top-level module is answered for when its ``sys.path`` folder is unchanged
and every folder before it on ``sys.path`` is one Python's file finder searches and holds
no entry of that name (each such folder listed once).
Namespace packages, zip imports and anything another finder claims first (the engine's
deferred modules, setuptools' distutils shim) are found as usual. The spec is built as
Python's file finder builds it (``spec_from_file_location`` with the same loader class).

Once the start is quiet the engine releases its compile caches: the finder leaves
``sys.meta_path`` (:func:`release`), and later imports are Python's own. The index is
written by :func:`save` (the engine saves its compile caches then and at its stop) to
``$XDG_CACHE_HOME/nexuskit/imports/``, one file per interpreter and environment
(``sys.prefix``), merged with what other processes found while their folders are
unchanged. ``NEXUSKIT_MODEL_CACHE=0`` turns it off.
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
    FileFinder,
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
#: at most this many modules are kept
LIMIT = 4096
#: the file's layout (a new one leaves the older files unread)
FORMAT = "v2"

#: (loader index, file, is a package, folder searched)
Entry = tuple[int, str, bool, str]

_lock = threading.Lock()
_finder: IndexedFinder | None = None
#: the modules imported before the index was installed (a test runner's, the interpreter's
#: own): an engine's start does not import them, so they are not kept
_before_install: frozenset[str] = frozenset()


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
        self._listings: dict[str, frozenset[str] | None] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        entry = self.entries.get(fullname)
        if entry is None:
            return None
        kind, origin, package, folder = entry
        if path is None:
            if not self._first_on_sys_path(fullname, folder):
                return None
        elif len(path) != 1 or path[0] != folder:
            return None
        if not self.unchanged(folder):
            return None
        locations = [os.path.dirname(origin)] if package else None
        spec: ModuleSpec | None = spec_from_file_location(
            fullname, origin, loader=LOADERS[kind](fullname, origin), submodule_search_locations=locations
        )
        return spec

    def unchanged(self, folder: str) -> bool:
        known = self._unchanged.get(folder)
        if known is None:
            recorded = self.folders.get(folder)
            known = self._unchanged[folder] = recorded is not None and _mtime(folder) == recorded
        return known

    def _first_on_sys_path(self, name: str, folder: str) -> bool:
        """Whether Python's path finder would look for the top-level module ``name`` in
        ``folder`` first: every folder before it on ``sys.path`` is searched by a file
        finder and holds nothing of that name (its listing read again when it changed)."""
        for given in sys.path:
            if not isinstance(given, str):
                return False
            try:  # "": the current folder, as Python's path finder takes it
                entry = given or os.getcwd()
            except OSError:
                return False
            finder = sys.path_importer_cache.get(entry, PathFinder)
            if entry == folder:
                return isinstance(finder, FileFinder)
            if finder is None:
                continue  # nothing to import there: the path finder skips it too
            names = self._names_in(entry) if isinstance(finder, FileFinder) else None
            if names is None or name in names:
                return False
        return False

    def _names_in(self, folder: str) -> frozenset[str] | None:
        """The module names ``folder`` could hold (each entry's name up to its first dot);
        None when it cannot be read."""
        if folder not in self._listings:
            try:
                listing = os.listdir(folder)
            except OSError:
                self._listings[folder] = None
            else:
                self._listings[folder] = frozenset(name.partition(".")[0] for name in listing)
        return self._listings[folder]


def install() -> bool:
    """Put the index's finder before Python's path finder (idempotent); False when the
    cache is off."""
    global _finder, _before_install
    if not diskcache.enabled():
        return False
    with _lock:
        if _finder is None:
            _before_install = frozenset(sys.modules)
            entries, folders = _read(cache_file())
            _finder = IndexedFinder(entries, folders)
            position = next((i for i, f in enumerate(sys.meta_path) if f is PathFinder), len(sys.meta_path))
            sys.meta_path.insert(position, _finder)
    return True


def release() -> None:
    """The start is over: imports are found by Python's own finders again (the index is
    kept for :func:`save`)."""
    with _lock:
        if _finder is not None and _finder in sys.meta_path:
            sys.meta_path.remove(_finder)


def found_now() -> dict[str, Entry]:
    """The entries for the modules this process has imported from files since the index was
    installed: submodules with the folder of their package's, top-level modules with the
    ``sys.path`` folder they are in."""
    found: dict[str, Entry] = {}
    on_path = {entry for entry in sys.path if isinstance(entry, str)}
    for name, module in list(sys.modules.items()):
        if name in _before_install:
            continue
        package_name, dot, _tail = name.rpartition(".")
        spec = getattr(module, "__spec__", None)
        if spec is None or type(spec.loader) not in LOADERS or not isinstance(spec.origin, str):
            continue
        folder, origin, locations = None, spec.origin, spec.submodule_search_locations
        is_package = locations is not None
        home = os.path.dirname(origin)
        if locations is not None and list(locations) != [home]:
            continue
        where = os.path.dirname(home) if is_package else home
        if dot:
            search = getattr(sys.modules.get(package_name), "__path__", None)
            if search is not None and len(search) == 1:
                folder = search[0]
        elif where in on_path:
            folder = where
        if folder is None or where != folder:
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
