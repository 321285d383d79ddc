"""Compiled regular expressions kept on disk, for the engine's start.

Importing what the engine serves with (moto, werkzeug, jinja2, botocore, urllib3, the
standard library) compiles some 330 regular expressions, and Python compiles each from
its text every time: ``re``'s parser and code generator are Python code, about a sixth of
the imports' CPU (~40 ms of the engine's 0.25 s of imports on the reference machine). The
last step, :func:`_sre.compile`, builds the pattern from the generated code in C.

:func:`install` keeps that generated code (with the flags and group names the parser
found) per pattern text and flags in ``$XDG_CACHE_HOME/nexuskit/regex/``, in a file named
for the exact Python and ``_sre`` versions that generated it, and hands ``_sre.compile``
the kept code instead of parsing again: the pattern object is the one ``re.compile``
would have made (``_sre`` checks the code it is given). A pattern not kept yet is
compiled as ``re`` does; the engine saves those once its start is quiet and at its stop
(``KEPT.save()``), and a pattern is kept once two processes compiled it
(:class:`~emulation.core.diskcache.KeptCompilations`): patterns made from requests
(resource ids, policy ARNs) never reach the file every start reads. At most
:data:`MAX_PATTERNS` are kept, none longer than 20,000 characters, and the code
is kept packed (4 bytes an op). A file that cannot be read is ignored, and
``NEXUSKIT_MODEL_CACHE=0`` turns the cache off. ``re.DEBUG`` and patterns given as parsed
trees go to ``re`` unchanged.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]
import array
import threading
from pathlib import Path
from re import _compiler, _parser  # type: ignore[attr-defined]
from typing import Any

from emulation.core import diskcache

MAX_PATTERNS = 4096
#: the files' layout (a new one leaves the older files unread)
FORMAT = "v2"
#: the array type of _sre's code words (its CODESIZE bytes each)
_CODE_TYPE = {2: "H", 4: "I", 8: "Q"}[_sre.CODESIZE]


def cache_file() -> Path:
    name = f"{diskcache.interpreter_tag()}-sre{_sre.MAGIC}-{_sre.CODESIZE}-{FORMAT}.marshal"
    return diskcache.cache_home() / "regex" / name


#: (pattern text, flags asked) -> (flags, code as bytes, groups, group index, index group)
KEPT = diskcache.KeptCompilations(cache_file, MAX_PATTERNS)
_lock = threading.Lock()
_original: Any = None


def install() -> bool:
    """Compile regular expressions through the cache from now on (idempotent); False when
    the cache is off."""
    global _original
    if not diskcache.enabled():
        return False
    with _lock:
        if _original is None:
            KEPT.load()
            _original = _compiler.compile
            _compiler.compile = _compile
    return True


def _compile(pattern: Any, flags: int = 0) -> Any:
    """``re._compiler.compile``, with the generated code kept."""
    if not isinstance(pattern, str | bytes) or flags & _compiler.SRE_FLAG_DEBUG:
        return _original(pattern, flags)
    key = (pattern, int(flags))
    entry = KEPT.get(key)
    if entry is not None:
        try:
            return _from_kept(pattern, entry)
        except Exception:  # not what this _sre generates (a damaged file): compile anew
            KEPT.forget(key)
    parsed = _parser.parse(pattern, flags)
    code = _compiler._code(parsed, flags)
    groupindex = parsed.state.groupdict
    indexgroup: list[Any] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    final_flags, groups = int(flags | parsed.state.flags), parsed.state.groups - 1
    compiled = _sre.compile(pattern, final_flags, code, groups, groupindex, tuple(indexgroup))
    packed = array.array(_CODE_TYPE, code).tobytes()  # 4 bytes an op, not a list of ints
    KEPT.add(key, (final_flags, packed, groups, dict(groupindex), tuple(indexgroup)), len(pattern))
    return compiled


def _from_kept(pattern: str | bytes, entry: Any) -> Any:
    final_flags, packed, groups, groupindex, indexgroup = entry
    code = array.array(_CODE_TYPE, packed).tolist()
    return _sre.compile(pattern, final_flags, code, groups, groupindex, indexgroup)
