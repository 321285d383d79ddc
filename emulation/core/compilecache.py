"""What the engine's start compiles and finds, kept on disk for the next start: regular
expressions (:mod:`.regexcache`), the functions dataclasses and namedtuples write as source
(:mod:`.sourcecache`) and where its submodules are (:mod:`.importcache`). Installed first
thing by ``python -m emulation`` and by :func:`emulation.server.prepare_process`; saved
once the start is quiet and at the stop."""

from __future__ import annotations

from emulation.core import importcache, regexcache, sourcecache


def install() -> None:
    importcache.install()
    regexcache.install()
    sourcecache.install()


def save() -> int:
    return regexcache.KEPT.save() + sourcecache.KEPT.save() + importcache.save()


def release() -> None:
    importcache.release()
    regexcache.KEPT.release()
    sourcecache.KEPT.release()
