"""Functions dataclasses and namedtuples write as source, kept compiled on disk
(emulation.core.sourcecache); each run in a fresh interpreter with its own cache folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.helpers import python_probe

PROBE = r"""
import json, sys
if sys.argv[1] == "cached":
    from emulation.core import sourcecache
    installed = sourcecache.install()
else:
    installed = False
import collections, dataclasses, inspect
from dataclasses import dataclass, field


@dataclass(order=True, frozen=True)
class Version:
    major: int
    minor: int = 0
    tags: tuple = field(default=(), compare=False)


@dataclass(slots=True, kw_only=True)
class Record:
    key: str
    size: int = 0
    parts: list = field(default_factory=list)
    seen: bool = field(init=False, default=False)

    def __post_init__(self):
        self.seen = True


Point = collections.namedtuple("Point", "x y z", defaults=(0,))
out = {"installed": installed}
a, b = Version(1, 2, ("x",)), Version(1, 3)
out["version"] = [repr(a), a < b, a == Version(1, 2), hash(a) == hash(Version(1, 2, ("y",)))]
try:
    a.major = 3
except dataclasses.FrozenInstanceError as exc:
    out["frozen"] = type(exc).__name__
r = Record(key="k", parts=[1])
out["record"] = [repr(r), r.seen, str(inspect.signature(Record)), repr(Record.__init__.__annotations__)]
try:
    Record("positional")
except TypeError as exc:
    out["kw_only"] = str(exc)
p = Point(1, 2)
out["point"] = [repr(p), p._asdict(), repr(Point._make([3, 4, 5])), str(inspect.signature(Point))]
out["module"] = [Version.__init__.__module__ if hasattr(Version.__init__, "__module__") else None,
                 Version.__init__.__globals__ is globals(), Point.__new__.__globals__["__name__"]]
if installed:
    sourcecache._exec("made_here = 41 + 1")  # no namespaces: the caller's, as the builtin
    out["caller_globals"] = globals().get("made_here")
    out["new"] = sum(1 for key in sourcecache.KEPT.kept if sourcecache.KEPT.is_new(key))
    out["kept"] = len(sourcecache.KEPT.kept)
    out["saved"] = sourcecache.KEPT.save()
print(json.dumps(out))
"""


def _probe(mode: str, cache_home: Path) -> dict[str, Any]:
    doc: dict[str, Any] = python_probe(PROBE, mode, env={**os.environ, "XDG_CACHE_HOME": str(cache_home)})
    return doc


def _behaviour(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in ("version", "frozen", "record", "kw_only", "point", "module")}


def test_generated_functions_from_kept_code_behave_as_compiled_ones(tmp_path: Path) -> None:
    plain = _probe("plain", tmp_path)
    first = _probe("cached", tmp_path)  # compiles them: seen once
    assert first["installed"] and first["new"] >= 5 and first["saved"] == 0
    assert first["caller_globals"] == 42
    again = _probe("cached", tmp_path)  # compiles them again: kept
    assert again["new"] == first["new"] and again["saved"] == first["new"]
    second = _probe("cached", tmp_path)
    assert second["new"] == 0 and second["kept"] >= first["kept"]  # every one read from the file
    assert _behaviour(first) == _behaviour(second) == _behaviour(plain)
    assert (
        plain["record"][3]
        == "{'key': <class 'str'>, 'size': <class 'int'>, 'parts': <class 'list'>, 'return': None}"
    )
    assert plain["frozen"] == "FrozenInstanceError" and "positional" in plain["kw_only"]


def test_a_damaged_file_is_compiled_again(tmp_path: Path) -> None:
    reference = _behaviour(_probe("plain", tmp_path))
    _probe("cached", tmp_path)
    _probe("cached", tmp_path)
    (kept,) = (tmp_path / "nexuskit" / "code").glob("*.marshal")
    kept.write_bytes(b"\x00 not marshal")
    doc = _probe("cached", tmp_path)
    assert _behaviour(doc) == reference and doc["new"] >= 5
