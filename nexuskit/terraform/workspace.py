"""A Terraform workspace: a folder nexuskit runs terraform in, never the repository itself.

Layout of a workspace folder (``<state>/terraform`` for local runs, a folder of the
promotion's run dir for its gates)::

    terraform.tfrc     nexuskit's CLI configuration (mirrors, plugin cache)
    plugin-cache/      providers, linked from the mirrors
    src/terraform/     a copy of the repository's terraform/ (modules, stacks, envs),
                       refreshed before every command; local runs add an override here
    data/<stack>/      TF_DATA_DIR of each stack (.terraform)
    state/<stack>.tfstate  local state (local runs only)
    logs/terraform.log every command and its output

Running from a copy keeps the checkout clean (no ``.terraform/``, lock file or override
appears in it, which the promotion's clean-tree gate would refuse) and lets two stacks
with different state dirs run side by side. The copy holds the same bytes as the
checkout: module sources are relative, so ``../../modules`` resolves inside the copy.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nexuskit.errors import ConfigError
from nexuskit.terraform.cliconfig import PLUGIN_CACHE_NAME, write_cli_config
from nexuskit.terraform.mirrors import MirrorSearch, current_platform, discover_mirrors, provider_address
from nexuskit.terraform.runner import TerraformRunner

STACKS = ("platform", "workloads")
OVERRIDE_NAME = "nexuskit_override.tf"
LOCK_FILE = ".terraform.lock.hcl"
#: never copied from the checkout: terraform's working files and local overrides
_IGNORED = (
    ".terraform",
    ".build",
    "*.tfstate",
    "*.tfstate.*",
    "*.tfplan",
    "crash.log",
    "*_override.tf",
    "*_override.tf.json",
)
#: kept in the copy although the checkout lacks them
_KEPT = (OVERRIDE_NAME, LOCK_FILE)
_SOURCE = re.compile(r'\bsource\s*=\s*"([^"]+)"')


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in _IGNORED)


def sync_tree(source: Path, dest: Path) -> None:
    """Make ``dest`` hold ``source``'s files (terraform's working files left out)."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted: set[str] = set()
    for entry in sorted(source.iterdir()):
        if _ignored(entry.name):
            continue
        wanted.add(entry.name)
        target = dest / entry.name
        if entry.is_dir():
            if target.exists() and not target.is_dir():
                target.unlink()
            sync_tree(entry, target)
        elif not target.is_file() or target.read_bytes() != entry.read_bytes():
            if target.is_dir():
                shutil.rmtree(target)
            shutil.copyfile(entry, target)
    for entry in dest.iterdir():
        if entry.name in wanted or entry.name in _KEPT:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _block(text: str, keyword: str) -> str:
    """The body of the first ``keyword { ... }`` block of ``text`` (braces balanced)."""
    start = re.search(rf"\b{keyword}\s*\{{", text)
    if not start:
        return ""
    depth, index = 1, start.end()
    while index < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        index += 1
    return text[start.end() : index - 1]


def required_providers(stack_dir: Path) -> list[str]:
    """Addresses of the providers a stack's ``required_providers`` names."""
    found: list[str] = []
    for path in sorted(stack_dir.glob("*.tf")):
        if path.name.endswith("_override.tf"):
            continue
        text = re.sub(r"(?m)(#|//).*$", "", path.read_text(encoding="utf-8"))
        for source in _SOURCE.findall(_block(_block(text, "terraform"), "required_providers")):
            address = provider_address(source)
            if address not in found:
                found.append(address)
    return found


@dataclass
class Workspace:
    """One workspace folder for the checkout at ``root`` (see the module docstring)."""

    folder: Path
    root: Path
    mirrors: MirrorSearch | None = None
    env: Mapping[str, str] | None = None
    binary: str | None = None

    def __post_init__(self) -> None:
        self.folder = self.folder.resolve()
        self.root = self.root.resolve()
        if not (self.root / "terraform" / "stacks").is_dir():
            raise ConfigError(f"{self.root / 'terraform' / 'stacks'} not found: not a nexuskit checkout")
        self._runner: TerraformRunner | None = None

    @property
    def source(self) -> Path:
        return self.folder / "src" / "terraform"

    @property
    def log_file(self) -> Path:
        return self.folder / "logs" / "terraform.log"

    def stack_dir(self, stack: str) -> Path:
        if stack not in STACKS:
            raise ConfigError(f"unknown stack {stack!r}", f"use one of {', '.join(STACKS)}")
        return self.source / "stacks" / stack

    def state_file(self, stack: str) -> Path:
        return self.folder / "state" / f"{stack}.tfstate"

    def mirror_search(self) -> MirrorSearch:
        if self.mirrors is None:
            self.mirrors = discover_mirrors(self.env)
        return self.mirrors

    def prepare(self) -> TerraformRunner:
        """Refresh the copy of terraform/ and the CLI config; the runner for this workspace."""
        sync_tree(self.root / "terraform", self.source)
        for stack in STACKS:
            lock = self.root / "terraform" / "stacks" / stack / LOCK_FILE
            if lock.is_file():  # the checkout's provider builds win over the copy's own
                shutil.copyfile(lock, self.stack_dir(stack) / LOCK_FILE)
        cli_config = write_cli_config(self.mirror_search(), self.folder)
        if self._runner is None:
            self._runner = TerraformRunner(
                self.source / "stacks",
                self.folder / "data",
                cli_config,
                binary=self.binary,
                env=self.env,
                log_file=self.log_file,
            )
        return self._runner

    def write_override(self, stack: str, text: str | None) -> Path:
        """Put (or with None, remove) the override file of ``stack`` in the copy."""
        path = self.stack_dir(stack) / OVERRIDE_NAME
        if text is None:
            path.unlink(missing_ok=True)
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o600)  # it may hold the engine's keys
        os.replace(tmp, path)
        return path

    def missing_providers(self, stack: str) -> list[str]:
        """Providers the stack needs that no mirror (nor the plugin cache) holds for this platform."""
        plat = current_platform()
        cache = self.folder / PLUGIN_CACHE_NAME
        missing = []
        for address in required_providers(self.root / "terraform" / "stacks" / stack):
            if self.mirror_search().holding(address, plat):
                continue
            if any((cache / address).glob(f"*/{plat}")):
                continue
            missing.append(address)
        return missing

    def missing_reason(self, stack: str, missing: list[str]) -> str:
        """The one line that says why ``stack`` cannot be initialised here."""
        names = ", ".join(a.removeprefix("registry.terraform.io/") for a in missing)
        held = sorted({a for m in self.mirror_search().mirrors for a in m.addresses(current_platform())})
        where = (
            "mirrors hold only " + ", ".join(a.removeprefix("registry.terraform.io/") for a in held)
            if held
            else "no provider mirror was found"
        )
        return (
            f"{stack}: provider {names} is in no mirror and the registry is unreachable ({where}; "
            f"put it in a mirror, e.g. one named by NEXUSKIT_TF_PLUGIN_DIR)"
        )
