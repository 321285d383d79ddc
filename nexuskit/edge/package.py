"""The auth function's deployment package: ``services/auth`` and its dependencies, zipped reproducibly.

The zip is byte-for-byte the same for the same inputs (sorted entries, fixed timestamps
and permissions, no ``.pyc``), so its SHA-256 equals the function's ``CodeSha256`` exactly
when the deployed code is current: that is how a second deploy (or a second
``terraform plan``) knows there is nothing to do. Terraform takes the zip's path and
base64 SHA-256 as variables (``auth_package_path``, ``auth_package_sha256``).

Third-party dependencies (``services/auth/requirements.txt``) travel in the zip, installed
for the function's runtime and architecture (:data:`LAMBDA_TARGET`: python3.11 on x86_64,
``manylinux2014``). boto3 does not: the Lambda Python runtime provides it. Where the
wheels come from, in this order (:func:`build_auth_package`):

1. ``wheelhouse``: the wheel cache (``NEXUSKIT_WHEEL_CACHE``, default
   ``~/.cache/nexuskit/wheels/<runtime>-<arch>``), installed offline with
   ``pip install --no-index --find-links CACHE --platform manylinux2014_x86_64
   --only-binary=:all: --python-version 3.11 --target ...``;
2. ``download`` (when allowed): ``pip download`` of the same into the cache (needs PyPI
   or the index pip is configured with), then 1.;
3. ``environment`` (when allowed): the distributions installed in this interpreter,
   copied as they are. Only for a :meth:`LambdaTarget.host` target, the machine itself:
   that is what the local engine runs the function with, and what a test without
   network can build (the wheels ``make test`` installed). Wheels built for another
   platform are refused, naming the first that does not fit.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from nexuskit.errors import NexuskitError

log = logging.getLogger(__name__)

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}
#: left out of the service's own folder: what is not the function's code
_SOURCE_SKIP = {"k8s", "tests", "Dockerfile"}
#: left out of installed distributions: installer bookkeeping that differs between installs
_VENDOR_SKIP = {"INSTALLER", "REQUESTED", "direct_url.json"}
WHEEL_CACHE_ENV = "NEXUSKIT_WHEEL_CACHE"
#: distributions the Lambda Python runtime provides (never packaged; see runtime_sdk_dir)
LAMBDA_RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
_MANYLINUX_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


class PackageError(NexuskitError):
    """The deployment package could not be built."""


def auth_source_dir() -> Path:
    """``services/auth`` of this checkout (or installation)."""
    import services.auth

    return Path(services.auth.__file__).resolve().parent


@dataclass(frozen=True)
class LambdaTarget:
    """Where the package runs: a Lambda runtime and architecture (or this machine)."""

    runtime: str = "python3.11"
    architecture: str = "x86_64"
    #: the newest glibc the runtime's OS has that wheels may need (manylinux2014: 2.17)
    glibc: tuple[int, int] = (2, 17)
    host: bool = False

    @classmethod
    def this_machine(cls) -> LambdaTarget:
        """The interpreter running this code (the local engine runs the function with it)."""
        libc, version = platform.libc_ver()
        glibc = tuple(int(n) for n in version.split(".")[:2]) if libc == "glibc" and version else (2, 17)
        machine = platform.machine().lower()
        return cls(
            runtime=f"python{sys.version_info.major}.{sys.version_info.minor}",
            architecture="arm64" if machine in {"aarch64", "arm64"} else machine,
            glibc=(glibc[0], glibc[1]),
            host=True,
        )

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def machine(self) -> str:
        return "aarch64" if self.architecture == "arm64" else self.architecture

    @property
    def pip_platform(self) -> str:
        return (
            f"manylinux2014_{self.machine}"
            if self.glibc == (2, 17)
            else (f"manylinux_{self.glibc[0]}_{self.glibc[1]}_{self.machine}")
        )

    @property
    def label(self) -> str:
        where = "this machine" if self.host else "Lambda"
        return f"{self.runtime} {self.architecture} glibc {self.glibc[0]}.{self.glibc[1]} ({where})"

    def pip_target_args(self) -> list[str]:
        return [
            "--only-binary=:all:",
            "--platform",
            self.pip_platform,
            "--python-version",
            self.python_version,
            "--implementation",
            "cp",
        ]


LAMBDA_TARGET = LambdaTarget()


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


@dataclass(frozen=True)
class BuiltPackage:
    """A package written to disk: where, its hash, for what, and where its wheels came from."""

    path: Path
    sha256_b64: str
    size: int
    target: LambdaTarget
    source: str  # wheelhouse | download | environment | none
    dependencies: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sha256_b64": self.sha256_b64,
            "size": self.size,
            "target": self.target.label,
            "source": self.source,
            "dependencies": list(self.dependencies),
        }

    def terraform_vars(self) -> dict[str, str]:
        return {"auth_package_path": str(self.path), "auth_package_sha256": self.sha256_b64}


def _files(root: Path, skip: set[str]) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in _SKIP_DIRS or part in skip for part in relative.parts) or not path.is_file():
            continue
        if path.suffix in _SKIP_SUFFIXES:
            continue
        found.append((relative.as_posix(), path))
    return found


def build_package(source_dir: Path, vendor_dir: Path | None = None) -> Package:
    """Zip ``source_dir`` (and ``vendor_dir``'s contents at the zip root) reproducibly."""
    entries = dict(_files(vendor_dir, _VENDOR_SKIP)) if vendor_dir else {}
    entries.update(_files(source_dir, _SOURCE_SKIP))  # our sources win over a vendored name clash
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes())
    return Package(buffer.getvalue())


# -- requirements -------------------------------------------------------------------------------
def requirement_lines(requirements: Path) -> list[str]:
    """The requirement lines of a requirements file (comments and options dropped)."""
    lines = []
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(line)
    return lines


def default_wheel_cache(target: LambdaTarget, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get(WHEEL_CACHE_ENV)
    if base:
        root = Path(base).expanduser()
    else:
        root = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nexuskit" / "wheels"
    return root / f"{target.runtime}-{target.architecture}"


def _pip(args: list[str], *, isolated: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if isolated:  # only the wheelhouse: no index, no find-links from the user's pip config
        env["PIP_CONFIG_FILE"] = os.devnull
        for key in [k for k in env if k.startswith("PIP_") and k not in {"PIP_CONFIG_FILE"}]:
            if key != "PIP_DISABLE_PIP_VERSION_CHECK":
                env.pop(key)
    return subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, env=env, check=False
    )


def _pip_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln.strip() for ln in (proc.stderr + "\n" + proc.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR:")]
    return (errors or lines or [f"pip exited {proc.returncode}"])[0]


def install_from_wheelhouse(requirements: Path, target: LambdaTarget, wheelhouse: Path, dest: Path) -> None:
    """``pip install --no-index --find-links WHEELHOUSE --target DEST`` for ``target``; offline."""
    proc = _pip(
        [
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            "--target",
            str(dest),
            "--no-compile",
            *target.pip_target_args(),
            "-r",
            str(requirements),
        ],
        isolated=True,
    )
    if proc.returncode != 0:
        raise PackageError(
            f"the wheel cache {wheelhouse} lacks a wheel for {target.label}: {_pip_error(proc)}"
        )


def download_wheels(requirements: Path, target: LambdaTarget, wheelhouse: Path) -> None:
    """``pip download`` the requirements' wheels for ``target`` into ``wheelhouse`` (network)."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    proc = _pip(
        [
            "download",
            "--quiet",
            "--dest",
            str(wheelhouse),
            *target.pip_target_args(),
            "-r",
            str(requirements),
        ],
        isolated=False,
    )
    if proc.returncode != 0:
        raise PackageError(f"pip download for {target.label} failed: {_pip_error(proc)}")


# -- the interpreter's own distributions ----------------------------------------------------------
def _requirement_class() -> Any:
    """``packaging``'s Requirement (pip vendors packaging; every virtualenv has pip)."""
    import importlib

    for module in ("packaging.requirements", "pip._vendor.packaging.requirements"):
        try:
            return importlib.import_module(module).Requirement
        except ImportError:
            continue
    raise PackageError("neither packaging nor pip is installed here: cannot read the requirements")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _tag_fits(tag: str, target: LambdaTarget) -> bool:
    """Does one wheel tag (``cp311-abi3-manylinux_2_17_x86_64``) run on ``target``?"""
    try:
        python, abi, plat = tag.split("-")
    except ValueError:
        return False
    major, minor = (int(n) for n in target.python_version.split(".")[:2])
    pythons = {f"py{major}", f"py{major}{minor}", f"cp{major}{minor}"}
    if abi == "abi3":
        fits_python = python.startswith(f"cp{major}") and int(python[3:] or 0) <= minor
    else:
        fits_python = python in pythons and abi in {"none", f"cp{major}{minor}"}
    if not fits_python:
        return False
    if plat == "any":
        return True
    for legacy, glibc in _MANYLINUX_LEGACY.items():
        if plat == f"{legacy}_{target.machine}":
            return glibc <= target.glibc
    match = re.fullmatch(rf"manylinux_(\d+)_(\d+)_{re.escape(target.machine)}", plat)
    return match is not None and (int(match[1]), int(match[2])) <= target.glibc


def _wheel_tags(dist: metadata.Distribution) -> list[str]:
    text = dist.read_text("WHEEL") or ""
    tags = []
    for line in text.splitlines():
        if line.startswith("Tag:"):
            python, abi, plats = line.split(":", 1)[1].strip().split("-")
            tags += [f"{p}-{abi}-{pl}" for p in python.split(".") for pl in plats.split(".")]
    return tags


def environment_closure(names: Iterable[str], target: LambdaTarget) -> list[metadata.Distribution]:
    """Installed distributions ``names`` need, with their dependencies for ``target``."""
    requirement_cls = _requirement_class()
    env = {
        "python_version": target.python_version,
        "python_full_version": f"{target.python_version}.0",
        "platform_machine": target.machine,
        "platform_system": "Linux",
        "sys_platform": "linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }
    found: dict[str, metadata.Distribution] = {}
    pending = list(names)
    while pending:
        requirement = requirement_cls(pending.pop(0))
        key = _canonical(requirement.name)
        if key in found or key in {_canonical(n) for n in LAMBDA_RUNTIME_PROVIDED}:
            continue
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise PackageError(f"{requirement.name} is not installed in {sys.prefix}") from None
        if requirement.specifier and not requirement.specifier.contains(dist.version, prereleases=True):
            raise PackageError(
                f"{requirement.name} {dist.version} is installed; the package needs {requirement}"
            )
        found[key] = dist
        for dependency in dist.requires or []:
            parsed = requirement_cls(dependency)
            if parsed.marker is None or parsed.marker.evaluate(env):
                pending.append(dependency.split(";", 1)[0].strip())
    return [found[k] for k in sorted(found)]


def copy_distributions(dists: Iterable[metadata.Distribution], target: LambdaTarget, dest: Path) -> None:
    """Copy installed distributions' files into ``dest``; refuse a wheel not built for ``target``."""
    for dist in dists:
        tags = _wheel_tags(dist)
        if tags and not any(_tag_fits(tag, target) for tag in tags):
            raise PackageError(
                f"{dist.metadata['Name']} {dist.version} is installed for {', '.join(sorted(set(tags)))}, "
                f"not for {target.label}: use the wheel cache (nexuskit tf package --download)"
            )
        base = Path(str(dist.locate_file(""))).resolve()
        for entry in dist.files or []:
            source = Path(str(dist.locate_file(entry))).resolve()
            if not source.is_file() or not source.is_relative_to(base):
                continue  # console scripts and the like live outside site-packages
            target_path = dest / source.relative_to(base)
            target_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target_path)


def runtime_sdk_dir(dest: Path) -> Path:
    """A folder with what the Lambda Python runtime itself provides (boto3 and its dependencies).

    Copied from this interpreter's environment; it stands for ``/var/runtime`` when the
    package is imported in a clean interpreter (:mod:`nexuskit.edge.lambdacheck`).
    """
    dists = [metadata.distribution(name) for name in LAMBDA_RUNTIME_PROVIDED]
    copy_distributions(dists, LambdaTarget.this_machine(), dest)
    return dest


# -- the package ------------------------------------------------------------------------------------
def build_auth_package(
    out_dir: Path,
    *,
    function_name: str = "auth",
    target: LambdaTarget = LAMBDA_TARGET,
    wheel_cache: Path | None = None,
    allow_download: bool = False,
    allow_environment: bool = False,
    source_dir: Path | None = None,
) -> BuiltPackage:
    """Build ``<out_dir>/<function_name>.zip``: the sources and their dependencies for ``target``.

    See the module docstring for where the wheels come from. With ``allow_environment``
    and no wheel for ``target`` in the cache, the package is built for this machine
    instead (:meth:`LambdaTarget.this_machine`), with a warning in the log.
    """
    source = (source_dir or auth_source_dir()).resolve()
    requirements = source / "requirements.txt"
    lines = requirement_lines(requirements) if requirements.is_file() else []
    cache = wheel_cache or default_wheel_cache(target)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nexuskit-package-") as tmp:
        vendor = Path(tmp) / "vendor"
        vendor.mkdir()
        used, built_for = "none", target
        if lines:
            used, built_for = _vendor(
                requirements, lines, target, cache, vendor, allow_download, allow_environment
            )
        package = build_package(source, vendor)
        deps = sorted({p.name.split("-")[0] for p in vendor.glob("*.dist-info")})
    path = out_dir / f"{function_name}.zip"
    if not path.is_file() or path.read_bytes() != package.data:
        tmp_path = path.with_name(path.name + ".tmp")
        tmp_path.write_bytes(package.data)
        os.replace(tmp_path, path)
    log.info("package %s: %d bytes, %s, wheels from %s", path, package.size, built_for.label, used)
    return BuiltPackage(path, package.sha256_b64, package.size, built_for, used, tuple(deps))


def _vendor(
    requirements: Path,
    lines: list[str],
    target: LambdaTarget,
    cache: Path,
    vendor: Path,
    allow_download: bool,
    allow_environment: bool,
) -> tuple[str, LambdaTarget]:
    if not target.host:
        first_error: PackageError | None = None
        if cache.is_dir() and any(cache.glob("*.whl")):
            try:
                install_from_wheelhouse(requirements, target, cache, vendor)
                return "wheelhouse", target
            except PackageError as exc:
                first_error = exc
                shutil.rmtree(vendor)
                vendor.mkdir()
        if allow_download:
            download_wheels(requirements, target, cache)
            install_from_wheelhouse(requirements, target, cache, vendor)
            return "download", target
        if not allow_environment:
            raise first_error or PackageError(
                f"no wheels for {target.label} in {cache}: run `nexuskit tf package --download` once "
                "with access to PyPI (or set NEXUSKIT_WHEEL_CACHE to a folder of those wheels)"
            )
        log.warning(
            "no wheels for %s in %s: packaging this machine's installed dependencies instead "
            "(right for the local engine, not for AWS)",
            target.label,
            cache,
        )
        target = LambdaTarget.this_machine()
    copy_distributions(environment_closure(lines, target), target, vendor)
    return "environment", target
