"""The auth function's deployment package: a reproducible zip of ``services/auth``.

The zip is byte-for-byte the same for the same sources (sorted entries, fixed timestamps
and permissions), so its SHA-256 equals the function's ``CodeSha256`` exactly when the
deployed code is current: that is how a second deploy knows there is nothing to do.

In AWS the handler's third-party dependency (``cryptography``, see
``services/auth/requirements.txt``) must travel in the zip: pass ``vendor_dir`` with the
output of ``pip install --platform manylinux2014_x86_64 --only-binary=:all:
--target DIR -r services/auth/requirements.txt``. The local engine runs the function with
the kit's own interpreter, where ``cryptography`` is installed, so no vendoring is needed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def auth_source_dir() -> Path:
    """``services/auth`` of this checkout (or installation)."""
    import services.auth

    return Path(services.auth.__file__).resolve().parent


@dataclass(frozen=True)
class Package:
    """A zip and its hash in Lambda's form (base64 of the SHA-256 digest)."""

    data: bytes

    @property
    def sha256_b64(self) -> str:
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode("ascii")

    @property
    def size(self) -> int:
        return len(self.data)


def _files(root: Path) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in _SKIP_DIRS for part in relative.parts) or not path.is_file():
            continue
        if path.suffix in _SKIP_SUFFIXES:
            continue
        found.append((relative.as_posix(), path))
    return found


def build_package(source_dir: Path, vendor_dir: Path | None = None) -> Package:
    """Zip ``source_dir`` (and ``vendor_dir``'s contents at the zip root) reproducibly."""
    entries = dict(_files(vendor_dir)) if vendor_dir else {}
    entries.update(_files(source_dir))  # our sources win over a vendored name clash
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes())
    return Package(buffer.getvalue())
