"""botocore's service models kept parsed on disk, for the engine and the core alike.

A botocore model is the JSON that describes one AWS API (up to 4.4 MB for EC2); parsing
them is much of what the engine's start and a client's creation cost (the engine parses a
dozen while ``nexuskit up`` provisions: about a fifth of its CPU). :class:`CachedJSONFileLoader`
keeps each parsed file as ``marshal`` data under ``$XDG_CACHE_HOME/nexuskit/botocore/``,
keyed by the botocore and Python versions and the file's path, size and mtime; it loads
three to four times as fast as the JSON. A cache file that cannot be read is parsed again,
one that cannot be written is skipped, and ``NEXUSKIT_MODEL_CACHE=0`` turns the cache off.

The loader also keeps the list of services it finds in botocore's data folder and moto's (what
``Loader.list_available_services`` learns by listing ~450 folders and testing a file in
each: over a thousand system calls, paid by every process before its first client, and
in the engine by a request thread that then waits for the interpreter after each of
them). It is keyed by those folders' paths and modification times; when a search path of
your own is in use (``~/.aws/models``, ``AWS_DATA_PATH``) the folders are listed as botocore
lists them.

This module is one of the engine's public interfaces: the core (:mod:`nexuskit.aws`) uses
it for its clients' models.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import marshal
import os
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore
import botocore.loaders

from emulation.core import diskcache

log = logging.getLogger(__name__)

#: set to 0 to parse botocore's models from their JSON every time (no cache on disk)
MODEL_CACHE_ENV = diskcache.CACHE_ENV


def model_cache_dir() -> Path:
    python = "py{}{}".format(*sys.version_info[:2])  # marshal's format is the interpreter's
    return diskcache.cache_home() / "botocore" / f"{botocore.__version__}-{python}"


class CachedJSONFileLoader(botocore.loaders.JSONFileLoader):  # type: ignore[misc]
    """botocore's JSON model loader, with each parsed file kept as ``marshal`` data on disk."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir

    def load_file(self, file_path: str) -> Any:
        for ext in (".json", ".json.gz"):
            full_path = file_path + ext
            try:
                stat = os.stat(full_path)
            except OSError:
                continue
            key = f"{full_path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
            cached = self.cache_dir / (hashlib.sha256(key).hexdigest()[:32] + ".marshal")
            try:
                return marshal.loads(cached.read_bytes())
            except (OSError, EOFError, ValueError, TypeError):
                pass
            data = super().load_file(file_path)
            if data is not None:
                self._store(cached, data)
            return data
        return None

    def _store(self, path: Path, data: Any) -> None:
        try:
            # marshal takes plain dicts only; JSON's object order is kept (dicts are ordered)
            payload = marshal.dumps(json.loads(json.dumps(data)))
        except ValueError as exc:
            log.debug("botocore model cache: cannot store %s: %s", path, exc)
            return
        diskcache.write_atomically(path, payload)


def use_model_cache(loader: Any) -> Any:
    """Make ``loader`` (a botocore ``Loader``) read models through the cache, unless it is off."""
    if diskcache.enabled():
        loader.file_loader = CachedJSONFileLoader(model_cache_dir())
        loader.list_available_services = _ServiceListing(loader, model_cache_dir())
    return loader


class _ServiceListing:
    """``loader.list_available_services``, kept on disk while every folder it searches is
    an installed package's (botocore's data, moto's extra models)."""

    def __init__(self, loader: Any, cache_dir: Path) -> None:
        self.listed = loader.list_available_services  # botocore's, memoized per loader
        self.loader = loader
        self.cache_dir = cache_dir
        self._known: dict[tuple[str, tuple[str, ...]], list[str]] = {}

    def __call__(self, type_name: str) -> list[str]:
        locations = tuple(self.loader._potential_locations())
        known = self._known.get((type_name, locations))
        if known is None:
            known = self._known[(type_name, locations)] = self._list(type_name, locations)
        return list(known)

    def _list(self, type_name: str, locations: tuple[str, ...]) -> list[str]:
        stamps = _installed_stamps(locations)
        if stamps is None:  # a search path of the user's: list it
            return list(self.listed(type_name))
        key = "\0".join(["services", *stamps, type_name])
        return list(kept(key, lambda: list(self.listed(type_name)), self.cache_dir))


def kept_for_loader(loader: Any, what: str, compute: Callable[[], list[str]]) -> list[str]:
    """``compute()`` (a list of strings derived from the data ``loader`` reads, such as a
    service's regions) kept on disk under ``what`` while every folder the loader searches
    is an installed package's; computed every time otherwise."""
    stamps = _installed_stamps(tuple(loader._potential_locations()))
    if stamps is None:
        return compute()
    return kept("\0".join(["derived", what, *stamps]), compute)


def _installed_stamps(locations: tuple[str, ...]) -> list[str] | None:
    """Each folder's path and time, or None when one is not an installed package's."""
    stamps = []
    for location in locations:
        if not _installed(location):
            return None
        try:
            stamps.append(f"{location}\0{os.stat(location).st_mtime_ns}")
        except OSError:
            return None
    return stamps


@functools.cache
def _package_folders() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple({os.path.realpath(paths[name]) + os.sep for name in ("purelib", "platlib")})


def _installed(path: str) -> bool:
    """Whether ``path`` lies in this interpreter's installed packages (its contents change
    only when a package is installed again, which also changes the folder's time)."""
    return (os.path.realpath(path) + os.sep).startswith(_package_folders())


def kept(key: str, compute: Callable[[], list[str]], cache_dir: Path | None = None) -> list[str]:
    """``compute()`` (a list of strings that only depends on what ``key`` names: put the
    source's path, size and modification time in it), kept under the cache folder; computed
    every time when the cache is off (``NEXUSKIT_MODEL_CACHE=0``)."""
    if not diskcache.enabled():
        return compute()
    cached = (cache_dir or model_cache_dir()) / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".marshal")
    try:
        value = marshal.loads(cached.read_bytes())
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
    except (OSError, EOFError, ValueError, TypeError):
        pass
    value = compute()
    diskcache.write_atomically(cached, marshal.dumps(value))
    return value
