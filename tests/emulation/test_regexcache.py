"""Compiled regular expressions kept on disk (emulation.core.regexcache), each run in a
fresh interpreter with its own cache folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import python_probe

PROBE = r"""
import json, re, sys
from emulation.core import regexcache
installed = regexcache.install()
PATTERNS = [
    (r"(?P<bucket>[a-z0-9.-]{3,63})\.s3\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$", 0),
    (r"^arn:aws:iam::\d{12}:role/(?P<name>[\w+=,.@-]+)$", re.IGNORECASE),
    (r"(?x) ^ \s* (\w+) \s* = \s* (.*?) \s* $  # key = value", re.MULTILINE),
    (rb"\x00+(?P<tail>[^\x00]*)", 0),
    (r"[\u00e9\u00e8]+|caf\u00e9", re.ASCII),
    (r"(a)(b)?(?:c)(?P<d>d)\2?", re.DOTALL | re.VERBOSE),
]
SAMPLES = {
    str: ["probe-bucket.s3.us-west-2.amazonaws.com", "ARN:AWS:IAM::123456789012:ROLE/Admin",
          "  key = value \nother=1", "café", "abd", "acd", "nothing"],
    bytes: [b"\x00\x00tail", b"none"],
}
out = {"installed": installed, "patterns": []}
for text, flags in PATTERNS:
    compiled = re.compile(text, flags)
    plain = regexcache._original(text, flags) if installed else compiled
    matches = []
    for sample in SAMPLES[type(text)]:
        found = [m.group(0) for m in compiled.finditer(sample)]
        matches.append([repr(x) for x in found])
        assert found == [m.group(0) for m in plain.finditer(sample)]
    out["patterns"].append({
        "same": (compiled.pattern, compiled.flags, compiled.groups, compiled.groupindex)
        == (plain.pattern, plain.flags, plain.groups, plain.groupindex),
        "type": type(compiled).__name__,
        "matches": matches,
    })
out["kept"] = sum(1 for text, flags in PATTERNS if (text, int(flags)) in regexcache.KEPT.kept)
out["new"] = sum(1 for text, flags in PATTERNS if regexcache.KEPT.is_new((text, int(flags))))
out["saved"] = regexcache.KEPT.save() if installed else 0
print(json.dumps(out))
"""


def _probe(cache_home: Path, **env: str) -> dict[str, Any]:
    doc: dict[str, Any] = python_probe(PROBE, env={**os.environ, "XDG_CACHE_HOME": str(cache_home), **env})
    return doc


def test_patterns_compiled_from_the_kept_code_are_the_ones_re_compiles(tmp_path: Path) -> None:
    first = _probe(tmp_path)  # compiles them: seen once
    assert first["installed"] and first["new"] == 6 and first["saved"] == 0
    second = _probe(tmp_path)  # compiles them again: kept
    assert second["new"] == 6 and second["saved"] >= 6
    files = list((tmp_path / "nexuskit" / "regex").glob("*.marshal"))
    assert len(files) == 1 and f"-{sys.version_info.major}.{sys.version_info.minor}." in files[0].name
    third = _probe(tmp_path)
    assert third["kept"] == 6 and third["new"] == 0  # every one came from the file
    for doc in (first, second, third):
        assert all(p["same"] and p["type"] == "Pattern" for p in doc["patterns"]), doc["patterns"]
    assert third["patterns"] == second["patterns"] == first["patterns"]
    assert first["patterns"][0]["matches"][0] == ["'probe-bucket.s3.us-west-2.amazonaws.com'"]


def test_a_pattern_only_one_process_compiled_is_not_kept(tmp_path: Path) -> None:
    """Patterns made from what one process served (resource ids, ARNs) wait in the seen
    file, the newest first, and never reach the file every start reads."""
    import marshal

    from emulation.core.diskcache import KeptCompilations

    kept_file = tmp_path / "kept.marshal"
    for run in range(3):
        store = KeptCompilations(lambda: kept_file, limit=4)
        store.load()
        for name in ("static-a", "static-b", f"dynamic-{run}-1", f"dynamic-{run}-2"):
            if store.get(name) is None:
                store.add(name, name.upper(), len(name))
        store.save()
    assert marshal.loads(kept_file.read_bytes()) == {"static-a": "STATIC-A", "static-b": "STATIC-B"}
    seen = marshal.loads(store.seen_path().read_bytes())
    assert list(seen) == ["dynamic-1-1", "dynamic-1-2", "dynamic-2-1", "dynamic-2-2"]  # the newest 4
    store.release()
    store.add("after-the-start", "x", 15)
    assert store.get("after-the-start") is None and store.is_new("after-the-start")


def test_a_damaged_cache_file_or_entry_is_compiled_again(tmp_path: Path) -> None:
    _probe(tmp_path)
    reference = _probe(tmp_path)["patterns"]
    (cached,) = (tmp_path / "nexuskit" / "regex").glob("*.marshal")
    cached.write_bytes(b"not marshal data")
    doc = _probe(tmp_path)
    assert doc["patterns"] == reference and doc["new"] == 6  # read nothing: compiled
    assert _probe(tmp_path)["saved"] == 6  # and kept again after two runs
    import array
    import marshal

    kept = marshal.loads(cached.read_bytes())
    for key, entry in list(kept.items()):
        kept[key] = (entry[0], array.array("I", [1, 2, 3, 99999]).tobytes(), *entry[2:])  # code _sre refuses
    cached.write_bytes(marshal.dumps(kept))
    doc = _probe(tmp_path)
    assert doc["patterns"] == reference and doc["new"] == 6


def test_the_cache_switch_off_writes_nothing(tmp_path: Path) -> None:
    doc = _probe(tmp_path, NEXUSKIT_MODEL_CACHE="0")
    assert doc["installed"] is False and doc["saved"] == 0
    assert not (tmp_path / "nexuskit").exists()


def test_an_engine_keeps_the_expressions_its_start_compiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m emulation`` saves what it compiled once quiet (and at its stop): after
    two starts the next one reads them instead of compiling them."""
    import marshal

    from tests.helpers import EngineProcess

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "nexuskit" / "regex"
    for _start in range(2):
        engine = EngineProcess(tmp_path / "state", "--iam", "off").start()
        engine.stop()  # saves at its stop
    (cached,) = folder.glob("*.marshal")
    kept = marshal.loads(cached.read_bytes())
    assert len(kept) > 100  # moto's, werkzeug's, jinja2's, botocore's, the library's
    assert all(isinstance(text, str | bytes) and isinstance(flags, int) for text, flags in kept)
