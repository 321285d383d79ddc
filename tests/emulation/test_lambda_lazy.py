"""The Lambda runtime is made when first needed: health reads the same before and after."""

from __future__ import annotations

from pathlib import Path

from emulation.awslambda.extension import IDLE_STATS, LambdaRuntimeExtension
from emulation.awslambda.models import LambdaRuntime
from emulation.core.settings import EngineSettings


def test_idle_figures_are_a_fresh_runtimes(tmp_path: Path) -> None:
    runtime = LambdaRuntime(engine=object(), code_root=tmp_path, endpoint="http://127.0.0.1:1")  # type: ignore[arg-type]
    assert runtime.stats() == IDLE_STATS


def test_the_runtime_is_made_on_first_use_and_not_after_the_stop(tmp_path: Path) -> None:
    extension = LambdaRuntimeExtension(EngineSettings(state_dir=tmp_path))
    assert extension.health() == {}  # not started
    extension.start(engine=object())  # type: ignore[arg-type]
    assert extension._runtime is None and extension.health() == IDLE_STATS
    runtime = extension.runtime
    assert runtime is not None and extension.runtime is runtime
    assert runtime.code.root == tmp_path / "lambda" and extension.health() == IDLE_STATS
    extension.stop()
    assert extension.runtime is None and extension.health() == {}
