"""Where Terraform providers lie on this machine: provider mirrors, found at run time.

A *filesystem mirror* is a folder in Terraform's mirror layout, either unpacked
(``HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE...``) or packed
(``HOST/NAMESPACE/TYPE/terraform-provider-TYPE_VERSION_OS_ARCH.zip``). Nothing here knows
where a mirror is; :func:`discover_mirrors` looks, in this order:

1. ``NEXUSKIT_TF_PLUGIN_DIR`` (one folder, or several separated by ``os.pathsep``);
2. the ``filesystem_mirror`` paths of the user's Terraform CLI configuration
   (``TF_CLI_CONFIG_FILE`` when it names a file that exists, else ``~/.terraformrc``),
   read only, never written;
3. Terraform's implied local mirror directories: ``~/.terraform.d/plugins``,
   ``$XDG_DATA_HOME/terraform/plugins`` and ``<each of $XDG_DATA_DIRS>/terraform/plugins``;
4. a search of the usual install prefixes (``/opt``, ``/usr/local``, ``/usr/share``, or
   ``NEXUSKIT_TF_SEARCH_PREFIXES``; empty turns the search off) for a registry folder
   (``registry.terraform.io``, ``registry.opentofu.org``) at most four levels down.

The same folder found twice counts once, under the first way it was found.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLUGIN_DIR_ENV = "NEXUSKIT_TF_PLUGIN_DIR"
SEARCH_PREFIXES_ENV = "NEXUSKIT_TF_SEARCH_PREFIXES"
DEFAULT_SEARCH_PREFIXES = ("/opt", "/usr/local", "/usr/share")
REGISTRY_HOSTS = ("registry.terraform.io", "registry.opentofu.org")
SEARCH_DEPTH = 4
DEFAULT_HOST = "registry.terraform.io"

_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$")
_PLATFORM = re.compile(r"^[a-z0-9]+_[a-z0-9]+$")
_PACKED = re.compile(
    r"^terraform-provider-(?P<type>[^_]+)_(?P<version>[^_]+)_(?P<platform>[a-z0-9]+_[a-z0-9]+)\.zip$"
)
_MIRROR_PATH = re.compile(r"filesystem_mirror\s*\{[^{}]*?\bpath\s*=\s*\"((?:[^\"\\]|\\.)*)\"", re.S)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_LINE_COMMENT = re.compile(r"(?m)(?:#|//).*$")

_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i386": "386",
    "i686": "386",
}


def current_platform() -> str:
    """This machine as Terraform names platforms: ``linux_amd64``, ``darwin_arm64``, ..."""
    system = "windows" if sys.platform.startswith("win") else sys.platform.rstrip("0123456789")
    machine = platform.machine().lower()
    return f"{system}_{_ARCH.get(machine, machine)}"


def provider_address(source: str) -> str:
    """``hashicorp/aws`` -> ``registry.terraform.io/hashicorp/aws`` (full addresses pass)."""
    parts = source.strip().lower().split("/")
    return "/".join([DEFAULT_HOST, *parts]) if len(parts) == 2 else "/".join(parts)


@dataclass(frozen=True)
class ProviderMirror:
    """One mirror folder: how it was found and every provider build it holds."""

    path: Path
    found_by: str
    #: provider address -> version -> platforms (``linux_amd64``, ...)
    providers: Mapping[str, Mapping[str, tuple[str, ...]]]

    def versions(self, address: str, for_platform: str | None = None) -> list[str]:
        """Versions of ``address`` held here (for ``for_platform`` only, when given)."""
        builds = self.providers.get(provider_address(address), {})
        return sorted(
            (v for v, plats in builds.items() if for_platform is None or for_platform in plats),
            key=_version_key,
        )

    def addresses(self, for_platform: str | None = None) -> list[str]:
        return sorted(a for a in self.providers if self.versions(a, for_platform))

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "found_by": self.found_by,
            "providers": {
                address: {version: list(plats) for version, plats in sorted(builds.items())}
                for address, builds in sorted(self.providers.items())
            },
        }


@dataclass
class MirrorSearch:
    """Every mirror found, and every place looked at (for ``nexuskit doctor``)."""

    mirrors: list[ProviderMirror] = field(default_factory=list)
    #: (place, how it came up, what was there)
    looked: list[tuple[str, str, str]] = field(default_factory=list)

    def holding(self, address: str, for_platform: str | None = None) -> list[ProviderMirror]:
        """The mirrors that hold a build of ``address`` (for ``for_platform``)."""
        return [m for m in self.mirrors if m.versions(address, for_platform)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": current_platform(),
            "mirrors": [m.as_dict() for m in self.mirrors],
            "looked": [{"path": p, "found_by": how, "result": what} for p, how, what in self.looked],
        }


def _version_key(version: str) -> tuple[int, ...]:
    release = version.split("-", maxsplit=1)[0].split("+", maxsplit=1)[0]
    return tuple(int(n) for n in re.findall(r"\d+", release)[:3])


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir())
    except OSError:
        return []


def _files(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_file())
    except OSError:
        return []


def scan_mirror(root: Path) -> dict[str, dict[str, tuple[str, ...]]]:
    """Every provider build in the mirror at ``root`` (both layouts)."""
    found: dict[str, dict[str, set[str]]] = {}
    for host in _subdirs(root):
        if "." not in host.name:
            continue
        for namespace in _subdirs(host):
            for ptype in _subdirs(namespace):
                address = f"{host.name}/{namespace.name}/{ptype.name}".lower()
                builds = found.setdefault(address, {})
                for item in _files(ptype):  # packed: terraform-provider-TYPE_VERSION_OS_ARCH.zip
                    match = _PACKED.match(item.name)
                    if match and match["type"] == ptype.name:
                        builds.setdefault(match["version"], set()).add(match["platform"])
                for version in _subdirs(ptype):  # unpacked: VERSION/OS_ARCH/terraform-provider-*
                    if not _VERSION.match(version.name):
                        continue
                    for target in _subdirs(version):
                        if _PLATFORM.match(target.name) and any(
                            f.name.startswith("terraform-provider-") for f in _files(target)
                        ):
                            builds.setdefault(version.name, set()).add(target.name)
                if not builds:
                    del found[address]
    return {a: {v: tuple(sorted(p)) for v, p in b.items()} for a, b in found.items()}


def user_cli_config(env: Mapping[str, str]) -> Path | None:
    """The user's own CLI configuration file, if one exists (read only)."""
    named = env.get("TF_CLI_CONFIG_FILE")
    if named and Path(named).expanduser().is_file():
        return Path(named).expanduser()
    home = env.get("HOME")
    if home and (Path(home) / ".terraformrc").is_file():
        return Path(home) / ".terraformrc"
    return None


def cli_config_mirror_paths(config: Path) -> list[Path]:
    """The ``filesystem_mirror { path = ... }`` folders a CLI configuration names."""
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    text = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", text))
    return [Path(m.group(1).replace('\\"', '"')).expanduser() for m in _MIRROR_PATH.finditer(text)]


def implied_mirror_dirs(env: Mapping[str, str]) -> list[Path]:
    """Terraform's implied local mirror directories on Unix-like systems."""
    home = Path(env.get("HOME") or Path.home())
    data_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    data_dirs = [Path(d) for d in (env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":") if d]
    return [home / ".terraform.d" / "plugins", data_home / "terraform" / "plugins"] + [
        d / "terraform" / "plugins" for d in data_dirs
    ]


def search_prefixes(env: Mapping[str, str]) -> list[Path]:
    if SEARCH_PREFIXES_ENV in env:
        return [Path(p) for p in env[SEARCH_PREFIXES_ENV].split(os.pathsep) if p]
    return [Path(p) for p in DEFAULT_SEARCH_PREFIXES]


def _search(prefix: Path, depth: int = SEARCH_DEPTH) -> list[Path]:
    """Folders below ``prefix`` (at most ``depth`` levels) that hold a registry folder."""
    found: list[Path] = []
    stack = [(prefix, 0)]
    while stack:
        folder, level = stack.pop()
        try:
            with os.scandir(folder) as entries:
                children = sorted(
                    (e for e in entries if e.is_dir(follow_symlinks=False)), key=lambda e: e.name
                )
        except OSError:
            continue
        if any(e.name in REGISTRY_HOSTS for e in children):
            found.append(folder)
            continue
        if level + 1 < depth:
            stack.extend((Path(e.path), level + 1) for e in reversed(children) if not e.name.startswith("."))
    return sorted(found)


def discover_mirrors(env: Mapping[str, str] | None = None) -> MirrorSearch:
    """Every provider mirror on this machine, in the order of the module docstring."""
    env = dict(os.environ if env is None else env)
    places: list[tuple[Path, str]] = []
    for item in (env.get(PLUGIN_DIR_ENV) or "").split(os.pathsep):
        if item.strip():
            places.append((Path(item.strip()).expanduser(), PLUGIN_DIR_ENV))
    config = user_cli_config(env)
    if config is not None:
        places += [(p, f"CLI config {config}") for p in cli_config_mirror_paths(config)]
    places += [(p, "implied local mirror") for p in implied_mirror_dirs(env)]
    searched: list[tuple[Path, str]] = []
    for prefix in search_prefixes(env):
        searched += [(p, f"search of {prefix}") for p in _search(prefix)]
    return _collect([*places, *searched], explicit={p for p, how in places if how == PLUGIN_DIR_ENV})


def _collect(places: Iterable[tuple[Path, str]], explicit: set[Path]) -> MirrorSearch:
    result = MirrorSearch()
    seen: set[Path] = set()
    for path, how in places:
        try:
            real = path.resolve()
        except OSError:
            real = path
        if real in seen:
            continue
        seen.add(real)
        if not path.is_dir():
            if path in explicit or how.startswith("CLI config"):
                result.looked.append((str(path), how, "not a folder"))
            continue
        providers = scan_mirror(path)
        if not providers:
            result.looked.append((str(path), how, "no provider in mirror layout"))
            continue
        result.looked.append((str(path), how, f"{len(providers)} provider(s)"))
        result.mirrors.append(ProviderMirror(path, how, providers))
    return result
