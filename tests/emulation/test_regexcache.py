"""Compiled regular expressions kept on disk (emulation.core.regexcache), each run in a
fresh interpreter with its own cache folder."""

from __future__ import annotations

import os
import sys
import time
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
out["saved"] = regexcache.save() if installed else 0
print(json.dumps(out))
"""


def _probe(cache_home: Path, **env: str) -> dict[str, Any]:
    doc: dict[str, Any] = python_probe(PROBE, env={**os.environ, "XDG_CACHE_HOME": str(cache_home), **env})
    return doc


def test_patterns_compiled_from_the_kept_code_are_the_ones_re_compiles(tmp_path: Path) -> None:
    first = _probe(tmp_path)
    assert first["installed"] and first["new"] == 6 and first["saved"] >= 6
    files = list((tmp_path / "nexuskit" / "regex").glob("*.marshal"))
    assert len(files) == 1 and f"-{sys.version_info.major}.{sys.version_info.minor}." in files[0].name
    second = _probe(tmp_path)
    assert second["kept"] == 6 and second["new"] == 0  # every one came from the file
    for doc in (first, second):
        assert all(p["same"] and p["type"] == "Pattern" for p in doc["patterns"]), doc["patterns"]
    assert second["patterns"] == first["patterns"]
    assert first["patterns"][0]["matches"][0] == ["'probe-bucket.s3.us-west-2.amazonaws.com'"]


def test_a_damaged_cache_file_or_entry_is_compiled_again(tmp_path: Path) -> None:
    _probe(tmp_path)
    (cached,) = (tmp_path / "nexuskit" / "regex").glob("*.marshal")
    reference = _probe(tmp_path)["patterns"]
    cached.write_bytes(b"not marshal data")
    doc = _probe(tmp_path)
    assert doc["patterns"] == reference and doc["new"] == 6  # read nothing, compiled, saved again
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
    """``python -m emulation`` saves what it compiled once quiet (and at its stop), so the
    next start reads them instead of compiling them."""
    import marshal

    from tests.helpers import EngineProcess

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    engine = EngineProcess(tmp_path / "state", "--iam", "off").start()
    try:
        folder = tmp_path / "cache" / "nexuskit" / "regex"
        deadline = time.monotonic() + 60
        while not list(folder.glob("*.marshal")) and time.monotonic() < deadline:
            time.sleep(0.1)  # saved once the engine has been quiet for a moment
        (cached,) = folder.glob("*.marshal")
        kept = marshal.loads(cached.read_bytes())
        assert len(kept) > 100  # moto's, werkzeug's, jinja2's, botocore's, the library's
        assert all(isinstance(text, str | bytes) and isinstance(flags, int) for text, flags in kept)
    finally:
        engine.stop()
