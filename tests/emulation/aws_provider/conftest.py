"""One engine (IAM enforced, as ``nexuskit up`` runs it) for the provider-fidelity tests.

Each test names its own resources, so they share the engine without meeting.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nexuskit.aws import AwsTarget
from tests.helpers import EngineProcess


@pytest.fixture(scope="package")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    process = EngineProcess(tmp_path_factory.mktemp("aws-provider"), "--no-persist").start()
    yield process
    process.stop()


@pytest.fixture(scope="package")
def admin(engine: EngineProcess) -> AwsTarget:
    """The bootstrap admin's identity."""
    return engine.target()


@pytest.fixture(scope="package")
def aws(admin: AwsTarget) -> Any:
    """``aws("eks")``: an admin client that surfaces the first error (no retries)."""

    def client(service: str) -> Any:
        return admin.client(service, max_attempts=1)

    return client
