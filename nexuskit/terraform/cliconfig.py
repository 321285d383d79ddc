"""nexuskit's own Terraform CLI configuration, written under the state dir.

Every terraform process nexuskit starts gets ``TF_CLI_CONFIG_FILE`` pointing at this
file, whatever the user's environment says: the user's ``~/.terraformrc`` and the file
``TF_CLI_CONFIG_FILE`` names (which may not even exist) are never read by those
processes and never written. The file holds:

* one ``filesystem_mirror`` per mirror found (:mod:`nexuskit.terraform.mirrors`), limited
  to the providers it holds for this platform;
* ``direct { exclude = [...] }`` for every mirrored provider, so Terraform never asks the
  registry for them (other providers still go to the registry, when it is reachable);
* ``plugin_cache_dir`` under the state dir, so each stack links the provider instead of
  copying it.
"""

from __future__ import annotations

import os
from pathlib import Path

from nexuskit.terraform.mirrors import MirrorSearch, current_platform

CLI_CONFIG_NAME = "terraform.tfrc"
PLUGIN_CACHE_NAME = "plugin-cache"


def _hcl(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${").replace("%{", "%%{")
    return f'"{escaped}"'


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_hcl(v) for v in values) + "]"


def render_cli_config(search: MirrorSearch, plugin_cache_dir: Path, for_platform: str | None = None) -> str:
    """The CLI configuration's text for the mirrors of ``search``."""
    plat = for_platform or current_platform()
    blocks = []
    mirrored: list[str] = []
    for mirror in search.mirrors:
        addresses = mirror.addresses(plat)
        if not addresses:
            continue
        blocks.append(
            "  filesystem_mirror {\n"
            f"    path    = {_hcl(str(mirror.path))}\n"
            f"    include = {_list(addresses)}\n"
            "  }\n"
        )
        mirrored += [a for a in addresses if a not in mirrored]
    direct = f"  direct {{\n    exclude = {_list(sorted(mirrored))}\n  }}\n" if mirrored else "  direct {}\n"
    return (
        "# Written by nexuskit for the terraform processes it runs (TF_CLI_CONFIG_FILE).\n"
        "# Regenerated on every run from the provider mirrors found; do not edit.\n\n"
        "provider_installation {\n" + "".join(blocks) + direct + "}\n\n"
        f"plugin_cache_dir = {_hcl(str(plugin_cache_dir))}\n"
    )


def write_cli_config(search: MirrorSearch, folder: Path) -> Path:
    """Write the CLI configuration (and make the plugin cache) in ``folder``; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    cache = folder / PLUGIN_CACHE_NAME
    cache.mkdir(exist_ok=True)
    path = folder / CLI_CONFIG_NAME
    text = render_cli_config(search, cache.resolve())
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return path
