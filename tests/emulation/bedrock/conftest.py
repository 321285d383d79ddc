"""One local-mode engine shared by the Bedrock tests of a module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulation.bedrock.bedrock_support import start_engine
from tests.helpers import EngineProcess


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """An engine in local mode (no quota) running the Bedrock extension."""
    process = start_engine(tmp_path_factory.mktemp("bedrock"))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def runtime(engine: EngineProcess) -> Any:
    """A bedrock-runtime client that surfaces errors instead of retrying them."""
    return engine.target().client("bedrock-runtime", max_attempts=0)
