"""Each service image holds the code its entry point imports.

There is no Docker engine on the machines that run the tests, so the image is rebuilt
the way its Dockerfile would: only the folders its ``COPY`` lines name, copied into an
empty directory, and the entry point imported there in a fresh interpreter (the kit's
virtualenv stands in for the image's ``pip install``). A ``COPY`` that misses a package
the service imports fails here instead of at the pod's first start.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted(REPO.glob("services/**/Dockerfile"))
_COPY = re.compile(r"^COPY\s+(\S+)\s+(\S+)\s*$", re.MULTILINE)
_ENTRY = re.compile(r'^ENTRYPOINT\s+\["python",\s*"-m",\s*"([\w.]+)"', re.MULTILINE)


def _image_tree(dockerfile: Path, root: Path) -> str:
    """Copy what the Dockerfile copies into ``root``; the entry point's module."""
    text = dockerfile.read_text()
    for source, target in _COPY.findall(text):
        src, dst = REPO / source, root / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "k8s", "Dockerfile"))
        else:
            shutil.copy2(src, dst)
    entry = _ENTRY.search(text)
    assert entry, f"{dockerfile}: no ENTRYPOINT python -m MODULE"
    return entry.group(1)


def test_every_service_has_a_dockerfile() -> None:
    """The six deployed services each build an image."""
    names = {p.parent.name for p in DOCKERFILES}
    assert {"agent_core", "nexus_ui", "aws_mcp", "custom_mcp", "database_mcp", "k8s_mcp"} <= names


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_image_contents_import_the_entry_point(dockerfile: Path, tmp_path: Path) -> None:
    """Importing the entry point with only the copied folders on the path succeeds."""
    module = _image_tree(dockerfile, tmp_path)
    main = module if module.endswith(".__main__") else f"{module}.__main__"
    probe = (
        "import importlib, sys\n"
        f"importlib.import_module({main!r})\n"
        "leaked = sorted({m.__file__ for m in list(sys.modules.values())\n"
        f"    if getattr(m, '__file__', None) and m.__file__.startswith({str(REPO)!r})\n"
        "    and not m.__file__.startswith(sys.prefix)})\n"
        "assert not leaked, leaked\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n{probe}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{dockerfile.relative_to(REPO)}: {done.stderr.strip().splitlines()[-1:]}"
