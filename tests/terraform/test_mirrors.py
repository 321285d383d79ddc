"""Provider mirrors found at run time, and nexuskit's own CLI config (no terraform needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexuskit.terraform.cliconfig import render_cli_config, write_cli_config
from nexuskit.terraform.mirrors import current_platform, discover_mirrors
from nexuskit.terraform.runner import TerraformRunner

AWS = "registry.terraform.io/hashicorp/aws"
PLATFORM = current_platform()


def unpacked(root: Path, ptype: str, version: str, platform: str = PLATFORM) -> Path:
    """A provider build in the unpacked mirror layout under ``root``."""
    folder = root / "registry.terraform.io" / "hashicorp" / ptype / version / platform
    folder.mkdir(parents=True)
    (folder / f"terraform-provider-{ptype}_v{version}_x5").write_text("binary")
    return root


def packed(root: Path, ptype: str, version: str, platform: str = PLATFORM) -> Path:
    """A provider build in the packed mirror layout under ``root``."""
    folder = root / "registry.terraform.io" / "hashicorp" / ptype
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"terraform-provider-{ptype}_{version}_{platform}.zip").write_bytes(b"PK")
    return root


def only(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment that looks nowhere but where the test says (HOME inside tmp_path)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "XDG_DATA_DIRS": str(tmp_path / "no-data"), "NEXUSKIT_TF_SEARCH_PREFIXES": ""}
    env.update(extra)
    return env


def test_plugin_dir_variable_names_a_mirror_and_its_versions(tmp_path: Path) -> None:
    """NEXUSKIT_TF_PLUGIN_DIR: every provider and version of both layouts is reported."""
    mirror = unpacked(tmp_path / "m", "aws", "5.100.0")
    packed(mirror, "kubernetes", "2.36.0")
    search = discover_mirrors(only(tmp_path, NEXUSKIT_TF_PLUGIN_DIR=str(mirror)))
    (found,) = search.mirrors
    assert found.path == mirror and found.found_by == "NEXUSKIT_TF_PLUGIN_DIR"
    assert found.versions(AWS, PLATFORM) == ["5.100.0"]
    assert found.versions("hashicorp/kubernetes", PLATFORM) == ["2.36.0"]


def test_cli_config_mirrors_are_read_and_a_missing_config_is_ignored(tmp_path: Path) -> None:
    """The user's CLI config (TF_CLI_CONFIG_FILE) names mirrors; a config that does not exist
    is no error, and the ~/.terraformrc fallback is read the same way."""
    mirror = unpacked(tmp_path / "from-config", "aws", "5.100.0")
    config = tmp_path / "user.tfrc"
    config.write_text(
        '# a comment with filesystem_mirror { path = "/nowhere" }\n'
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
    )
    search = discover_mirrors(only(tmp_path, TF_CLI_CONFIG_FILE=str(config)))
    assert [(m.path, m.found_by) for m in search.mirrors] == [(mirror, f"CLI config {config}")]
    missing = discover_mirrors(only(tmp_path, TF_CLI_CONFIG_FILE=str(tmp_path / "absent.tfrc")))
    assert missing.mirrors == []
    (tmp_path / "home" / ".terraformrc").write_text(config.read_text())
    fallback = discover_mirrors(only(tmp_path, TF_CLI_CONFIG_FILE=str(tmp_path / "absent.tfrc")))
    assert [m.path for m in fallback.mirrors] == [mirror]


def test_implied_local_mirror_directories_are_searched(tmp_path: Path) -> None:
    """~/.terraform.d/plugins and $XDG_DATA_DIRS/terraform/plugins are Terraform's implied mirrors."""
    env = only(tmp_path)
    home_mirror = unpacked(Path(env["HOME"]) / ".terraform.d" / "plugins", "aws", "5.100.0")
    data = tmp_path / "share"
    shared = unpacked(data / "terraform" / "plugins", "aws", "6.2.0")
    search = discover_mirrors({**env, "XDG_DATA_DIRS": str(data)})
    assert [(m.path, m.found_by) for m in search.mirrors] == [
        (home_mirror, "implied local mirror"),
        (shared, "implied local mirror"),
    ]


def test_install_prefixes_are_searched_a_few_levels_down(tmp_path: Path) -> None:
    """A registry folder up to four levels below a search prefix is found; deeper is not."""
    prefix = tmp_path / "opt"
    near = unpacked(prefix / "vendor" / "tf-plugins", "aws", "5.100.0")
    unpacked(prefix / "a" / "b" / "c" / "d" / "too-deep", "aws", "5.99.0")
    search = discover_mirrors(only(tmp_path, NEXUSKIT_TF_SEARCH_PREFIXES=str(prefix)))
    assert [(m.path, m.found_by) for m in search.mirrors] == [(near, f"search of {prefix}")]


def test_the_same_mirror_found_twice_counts_once(tmp_path: Path) -> None:
    """A mirror named by the variable and found by the search is listed once, by the variable."""
    prefix = tmp_path / "opt"
    mirror = unpacked(prefix / "tf", "aws", "5.100.0")
    env = only(tmp_path, NEXUSKIT_TF_PLUGIN_DIR=str(mirror), NEXUSKIT_TF_SEARCH_PREFIXES=str(prefix))
    assert [m.found_by for m in discover_mirrors(env).mirrors] == ["NEXUSKIT_TF_PLUGIN_DIR"]


def test_builds_for_another_platform_do_not_count(tmp_path: Path) -> None:
    """A mirror holding only another platform's build offers nothing for this machine."""
    mirror = unpacked(tmp_path / "m", "aws", "5.100.0", platform="windows_386")
    search = discover_mirrors(only(tmp_path, NEXUSKIT_TF_PLUGIN_DIR=str(mirror)))
    assert search.holding(AWS) and not search.holding(AWS, PLATFORM)


def test_cli_config_excludes_mirrored_providers_from_direct_installation(tmp_path: Path) -> None:
    """The written config: a filesystem_mirror per mirror with its providers, the same providers
    excluded from direct installation, and the plugin cache inside the given folder."""
    mirror = unpacked(tmp_path / "m", "aws", "5.100.0")
    search = discover_mirrors(only(tmp_path, NEXUSKIT_TF_PLUGIN_DIR=str(mirror)))
    path = write_cli_config(search, tmp_path / "state" / "terraform")
    text = path.read_text()
    assert f'path    = "{mirror}"' in text
    assert f'include = ["{AWS}"]' in text
    assert f'direct {{\n    exclude = ["{AWS}"]\n  }}' in text
    assert f'plugin_cache_dir = "{(tmp_path / "state" / "terraform" / "plugin-cache").resolve()}"' in text
    assert (tmp_path / "state" / "terraform" / "plugin-cache").is_dir()


def test_without_mirrors_every_provider_goes_to_the_registry(tmp_path: Path) -> None:
    """No mirror at all: direct {} (a machine with network still installs providers)."""
    text = render_cli_config(discover_mirrors(only(tmp_path)), tmp_path / "cache")
    assert "filesystem_mirror" not in text and "direct {}" in text


@pytest.mark.parametrize("user_config", ["missing", "present"])
def test_terraform_gets_nexuskits_cli_config_whatever_the_user_set(tmp_path: Path, user_config: str) -> None:
    """TF_CLI_CONFIG_FILE of the terraform processes is nexuskit's, even when the user's points at
    a missing file or a real one; the user's file is left as it was."""
    user_file = tmp_path / "user.tfrc"
    if user_config == "present":
        user_file.write_text('plugin_cache_dir = "/somewhere"\n')
    ours = tmp_path / "terraform.tfrc"
    runner = TerraformRunner(
        tmp_path / "stacks",
        tmp_path / "data",
        ours,
        binary="terraform",
        env={"PATH": "/usr/bin", "TF_CLI_CONFIG_FILE": str(user_file), "TF_PLUGIN_CACHE_DIR": "/x"},
    )
    env = runner.environment("platform")
    assert env["TF_CLI_CONFIG_FILE"] == str(ours)
    assert env["TF_DATA_DIR"] == str(tmp_path / "data" / "platform")
    assert "TF_PLUGIN_CACHE_DIR" not in env
    assert user_file.exists() == (user_config == "present")
