"""Where the start's submodules are, kept on disk (emulation.core.importcache): each probe
runs in a fresh interpreter with its own cache folder, and every indexed answer must be
the one Python's own path finder gives."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers import python_probe

#: imports ``sys.argv[2:]`` with the index installed, saves it; prints what was found how
PROBE = r"""
import importlib, json, sys
from emulation.core import importcache
importcache.install()
finder = importcache._finder
answered = []
if finder is not None:  # None: the cache is off
    original = finder.find_spec
    def counting(name, path=None, target=None):
        spec = original(name, path, target)
        if spec is not None:
            answered.append(name)
        return spec
    finder.find_spec = counting
outcome = {}
for name in sys.argv[2:]:
    try:
        spec = importlib.import_module(name).__spec__
        locations = spec.submodule_search_locations
        outcome[name] = [spec.origin, type(spec.loader).__name__, locations and list(locations),
                         getattr(sys.modules[name], "WHERE", None)]
    except Exception as exc:
        outcome[name] = type(exc).__name__
saved = importcache.save() if sys.argv[1] == "save" else 0
print(json.dumps({"answered": answered, "outcome": outcome, "saved": saved}))
"""

#: after the engine's start (index warm): every indexed submodule's spec against Python's
SAME_AS_PYTHON = r"""
import json, sys
import emulation.server as server
server.prepare_process()
from importlib.machinery import PathFinder
from emulation.core import importcache
finder = importcache._finder
checked, differ = 0, []
top_level = 0
for name, entry in finder.entries.items():
    if "." in name:
        path = getattr(sys.modules.get(name.rpartition(".")[0]), "__path__", None)
        if path is None:
            continue
    else:
        path = None
    ours = finder.find_spec(name, path)
    if ours is None:
        continue
    python = PathFinder.find_spec(name, path)
    checked += 1
    top_level += path is None
    fields = lambda s: (s.name, s.origin, type(s.loader).__name__, s.loader.path,
                        s.submodule_search_locations, s.cached, s.parent, s.has_location)
    if python is None or fields(ours) != fields(python):
        differ.append(name)
print(json.dumps({"checked": checked, "differ": differ, "indexed": len(finder.entries),
                  "top_level": top_level}))
"""


def _env(cache: Path, *paths: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "NEXUSKIT_MODEL_CACHE"}
    env["XDG_CACHE_HOME"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), *sys.path[1:]])
    return env


def _probe(mode: str, env: dict[str, str], *names: str) -> dict[str, Any]:
    result: dict[str, Any] = python_probe(PROBE, mode, *names, env=env)
    return result


def _touch_folder_later(folder: Path) -> None:
    """Make sure a change to ``folder`` moves its modification time (coarse clocks)."""
    before = folder.stat().st_mtime_ns
    while folder.stat().st_mtime_ns == before:
        time.sleep(0.01)
        os.utime(folder)


def test_a_saved_start_finds_its_submodules_from_the_index(tmp_path: Path) -> None:
    env = _env(tmp_path / "cache")
    names = ("email.mime.text", "xml.dom.minidom", "concurrent.futures.thread")
    first = _probe("save", env, *names)
    assert first["answered"] == [] and first["saved"] > 0
    again = _probe("save", env, *names)
    assert set(names) <= set(again["answered"])
    assert again["outcome"] == first["outcome"] and again["saved"] == 0
    off = _probe("save", {**env, "NEXUSKIT_MODEL_CACHE": "0"}, *names)
    assert off["outcome"] == first["outcome"] and off["answered"] == [] and off["saved"] == 0


def test_every_indexed_answer_is_pythons_own(tmp_path: Path) -> None:
    env = _env(tmp_path / "cache")
    python_probe(SAME_AS_PYTHON + "\nimportcache.save()", env=env)
    result = python_probe(SAME_AS_PYTHON, env=env)
    assert result["indexed"] > 200 and result["checked"] > 200 and result["top_level"] > 30
    assert result["differ"] == []


def test_a_changed_folder_is_searched_again(tmp_path: Path) -> None:
    """A module replaced by a package of the same name, and a module removed: the index
    must not hand back the old file."""
    source = tmp_path / "src"
    package = source / "pkgidx"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text("WHERE = 'module'\n")
    (package / "gone.py").write_text("WHERE = 'gone'\n")
    env = _env(tmp_path / "cache", source)
    first = _probe("save", env, "pkgidx.mod", "pkgidx.gone")
    assert first["outcome"]["pkgidx.mod"][3] == "module"
    assert set(_probe("run", env, "pkgidx.mod", "pkgidx.gone")["answered"]) == {
        "pkgidx",
        "pkgidx.mod",
        "pkgidx.gone",
    }

    (package / "mod.py").unlink()
    (package / "gone.py").unlink()
    (package / "mod").mkdir()
    (package / "mod" / "__init__.py").write_text("WHERE = 'package'\n")
    _touch_folder_later(package)
    after = _probe("save", env, "pkgidx.mod", "pkgidx.gone")
    assert after["answered"] == ["pkgidx"]  # its own folder did not change
    assert after["outcome"]["pkgidx.mod"][3] == "package"
    assert after["outcome"]["pkgidx.gone"] == "ModuleNotFoundError"
    again = _probe("run", env, "pkgidx.mod", "pkgidx.gone")
    assert again["outcome"] == after["outcome"] and again["answered"] == ["pkgidx", "pkgidx.mod"]


def test_a_package_found_elsewhere_is_not_answered_for(tmp_path: Path) -> None:
    """The index answers for a submodule only inside the folder it was found in."""
    first_home, second_home = tmp_path / "one", tmp_path / "two"
    for home, label in ((first_home, "one"), (second_home, "two")):
        (home / "pkgwhere").mkdir(parents=True)
        (home / "pkgwhere" / "__init__.py").write_text("")
        (home / "pkgwhere" / "sub.py").write_text(f"WHERE = {label!r}\n")
    cache = tmp_path / "cache"
    assert _probe("save", _env(cache, first_home), "pkgwhere.sub")["outcome"]["pkgwhere.sub"][3] == "one"
    moved = _probe("run", _env(cache, second_home, first_home), "pkgwhere.sub")
    assert moved["outcome"]["pkgwhere.sub"][3] == "two" and moved["answered"] == []
    shutil.rmtree(second_home)
    assert _probe("run", _env(cache, first_home), "pkgwhere.sub")["answered"] == ["pkgwhere", "pkgwhere.sub"]


def test_a_top_level_module_shadowed_earlier_on_the_path_is_found_there(tmp_path: Path) -> None:
    """A top-level module is answered for only while no folder before its own on sys.path
    holds that name: one appearing there later is the one imported."""
    early, late = tmp_path / "early", tmp_path / "late"
    early.mkdir()
    late.mkdir()
    (late / "topidx.py").write_text("WHERE = 'late'\n")
    env = _env(tmp_path / "cache", early, late)
    assert _probe("save", env, "topidx")["outcome"]["topidx"][3] == "late"
    assert _probe("run", env, "topidx")["answered"] == ["topidx"]
    (early / "topidx").mkdir()
    (early / "topidx" / "__init__.py").write_text("WHERE = 'early'\n")
    shadowed = _probe("run", env, "topidx")
    assert shadowed["outcome"]["topidx"][3] == "early" and shadowed["answered"] == []


def test_after_the_start_imports_are_pythons_own(tmp_path: Path) -> None:
    code = (
        "import json, sys\nfrom emulation.core import importcache\nimportcache.install()\n"
        "before = importcache._finder in sys.meta_path\nimportcache.release()\n"
        "print(json.dumps([before, importcache._finder in sys.meta_path, importcache._finder is not None]))"
    )
    assert python_probe(code, env=_env(tmp_path / "cache")) == [True, False, True]


def test_what_was_imported_before_the_index_is_not_kept(tmp_path: Path) -> None:
    """A process that installs the index late (a test runner forking engines) keeps only
    what it imported afterwards: the index stays the size of an engine's start."""
    env = _env(tmp_path / "cache")
    _probe("save", env, "email.mime.text")
    code = (
        "import json, marshal, sys\nfrom emulation.core import importcache\n"
        "entries, _folders = marshal.loads(importcache.cache_file().read_bytes())\n"
        "print(json.dumps(sorted(entries)))"
    )
    kept = python_probe(code, env=env)
    assert "email.mime.text" in kept and "json.decoder" not in kept and "importlib.util" not in kept
