"""The CLI loads a command's module only when the command runs; ``--help`` still lists them all."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from nexuskit.cli import app
from nexuskit.cli.common import COMMAND_MODULES, load_command_modules


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_importing_the_cli_loads_no_other_area() -> None:
    loaded = _modules_after("import nexuskit.cli")
    assert "nexuskit.cli.lifecycle" in loaded
    for module in set(COMMAND_MODULES.values()) - {"lifecycle"}:
        assert f"nexuskit.cli.{module}" not in loaded, module
    assert "nexuskit.promote" not in loaded
    assert "boto3" not in loaded


def test_a_command_loads_only_its_module() -> None:
    loaded = _modules_after(
        "import sys\nfrom nexuskit.cli import app\n"
        "try:\n    app(['lake', '--help'])\nexcept SystemExit:\n    pass"
    )
    assert "nexuskit.cli.lake" in loaded
    assert "nexuskit.cli.promote" not in loaded


def test_every_command_has_its_module_in_the_table() -> None:
    """A command added to a module must be named in COMMAND_MODULES (else it is never loaded)."""
    from nexuskit.cli.common import app as typer_app

    load_command_modules()
    names = {info.name or info.callback.__name__.replace("_", "-") for info in typer_app.registered_commands}  # type: ignore[union-attr]
    names |= {group.name for group in typer_app.registered_groups if group.name}
    assert names == set(COMMAND_MODULES)


def test_help_lists_every_command_with_its_help() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in COMMAND_MODULES:
        row = next((line for line in lines if line.startswith(f"│ {name} ")), None)
        assert row is not None, f"{name} missing from --help"
        assert row.removeprefix(f"│ {name} ").strip(" │"), f"{name} has no help text"


def test_unknown_command_is_an_error() -> None:
    result = CliRunner().invoke(app, ["no-such-command"])
    assert result.exit_code != 0


def test_provisioning_and_inventory_of_the_lake_jobs_load_no_pyarrow() -> None:
    """``up`` and ``status`` validate the dataset files and name the jobs' assets without
    pyarrow (about 0.2 s of CPU on each call); the jobs' library loads it when it runs."""
    loaded = _modules_after(
        "import nexuskit.lifecycle, nexuskit.provision.provisioner\n"
        "from nexuskit.lake.config import load_lake_config\n"
        "from nexuskit.lake.glue import config_key, default_arguments, build_wheel\n"
        "from nexuskit.params import load_stack\n"
        "key = config_key(load_lake_config())\n"
        "assert key.startswith('medallion/lake-config-'), key\n"
        "args = default_arguments(load_stack(), 0.8, 'v')\n"
        "assert args['--additional-python-modules'].startswith('pyarrow=='), args\n"
        "assert build_wheel()"
    )
    assert "nexuskit.lake.glue" in loaded and "services.medallion.lib.datasets" in loaded
    assert "pyarrow" not in loaded


def test_up_starts_the_engine_before_it_imports_boto3() -> None:
    """What ``up`` runs before it spawns the engine (the CLI, its settings, the lifecycle
    and the engine's launcher) imports neither boto3 nor botocore's clients and sessions
    (about 0.15 s of CPU; only botocore's exception classes): the engine's start and that
    import run side by side."""
    loaded = _modules_after(
        "import nexuskit.cli, nexuskit.lifecycle\n"
        "from nexuskit.config import KitSettings\n"
        "from nexuskit.engine import EmbeddedEngine\n"
        "settings = KitSettings()\n"
        "settings.stack()\n"
        "EmbeddedEngine(settings).is_running()"
    )
    assert "nexuskit.engine" in loaded and "nexuskit.aws" in loaded
    assert not {"boto3", "botocore.session", "botocore.client", "botocore.loaders"} & loaded
