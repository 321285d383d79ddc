"""A producer run in a child process (``python -m nexuskit.producers.child``), without a stack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nexuskit.config import KitSettings
from nexuskit.producers.child import UNTIL_STOPPED_COUNT, ChildRequest, ProducerChild, settings_environment
from tests.helpers import free_port


def test_settings_go_to_the_child_through_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the child reads back from its environment is the parent's settings, unset ones unset."""
    settings = KitSettings(port=4999, state_dir=tmp_path / "state", iam="log", k8s=None, control_plane=False)
    env = settings_environment(settings, base={"NEXUSKIT_K8S": "kind", "OTHER": "kept"})
    assert env["OTHER"] == "kept" and "NEXUSKIT_K8S" not in env
    for name in [n for n in os.environ if n.startswith("NEXUSKIT_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("NEXUSKIT_"):
            monkeypatch.setenv(name, value)
    assert KitSettings() == settings.model_copy(update={"state_dir": settings.resolved_state_dir()})


def test_a_request_becomes_the_options_nexuskit_produce_would_make() -> None:
    """Until stopped is a count no run reaches; otherwise the duration; the CLI's concurrency."""
    forever = ChildRequest(rate=50, duration_s=None).produce_options("run-a")
    assert (forever.count, forever.duration, forever.rate) == (UNTIL_STOPPED_COUNT, None, 50.0)
    timed = ChildRequest(duration_s=2.5, seed=7).produce_options("run-b")
    assert (timed.count, timed.duration, timed.seed, timed.run_id) == (None, 2.5, 7, "run-b")
    assert timed.concurrency == 4


def test_a_child_that_cannot_start_says_why(tmp_path: Path) -> None:
    """No engine on the port: the child's error line (and hint) becomes the run's error; failed."""
    settings = KitSettings(port=free_port(), state_dir=tmp_path)
    child = ProducerChild(settings, ChildRequest(channel="internal")).start()
    child.join(timeout=60)
    counters = child.counters()
    assert counters["state"] == "failed" and not counters["proof_ready"]
    assert f"no engine answers on {settings.endpoint}" in str(counters["error"])
    assert "(hint: start the stack" in str(counters["error"])
    assert child.process is not None and child.process.returncode not in (0, None)
