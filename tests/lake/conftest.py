"""A real engine for the lake tests, and a fresh stack (own prefix, buckets, grants) per test."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from nexuskit.lake import sample
from nexuskit.lake.access import Lake
from nexuskit.lake.grants import apply_grants
from nexuskit.provision.context import ProvisionContext
from nexuskit.provision.identity import provision_identity
from nexuskit.provision.storage import provision_storage
from nexuskit.stack import StackSpec, load_stack
from tests.helpers import EngineProcess

_names = itertools.count(1)


@pytest.fixture(scope="session")
def lake_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """One engine process (``python -m emulation``) shared by the lake tests.

    IAM enforcement is off here: these tests exercise the lake access layer's own grant
    checks; ``test_enforcement`` starts an enforcing engine for the engine-side hook.
    """
    engine = EngineProcess(tmp_path_factory.mktemp("lake-engine"), "--no-persist", "--iam", "off").start()
    yield engine
    engine.stop()


def provision_lake(spec: StackSpec, engine: EngineProcess, roles: bool = False) -> None:
    """The parts of the stack the lake needs: buckets, Lake Formation, catalogue, grants
    (and, with ``roles``, the stack's IAM roles; without, an engine that does not enforce
    IAM still lets the tests assume them)."""
    ctx = ProvisionContext.connect(spec, engine.target())
    if roles:
        provision_identity(ctx)
    provision_storage(ctx)
    apply_grants(spec, engine.target())


def new_lake(engine: EngineProcess, cache_dir: Path, **changes: Any) -> Lake:
    """A lake of its own (environment ``l<n>``: its own buckets, catalogue and grants), as admin."""
    base = load_stack(env="local")
    params = base.params.model_copy(update={"environment": f"l{next(_names)}", **changes})
    spec = StackSpec(params)
    provision_lake(spec, engine)
    return Lake(spec, engine.target(), cache_dir=cache_dir)


@pytest.fixture
def make_lake(lake_engine: EngineProcess, tmp_path: Path) -> Callable[..., Lake]:
    """``make_lake()``: a fresh lake per call (see :func:`new_lake`)."""

    def build(**changes: Any) -> Lake:
        return new_lake(lake_engine, tmp_path / "cache", **changes)

    return build


@pytest.fixture
def lake(make_lake: Callable[..., Lake]) -> Lake:
    return make_lake()


def put_bronze(lake: Lake, payload: bytes, prefix: str = "", when: datetime | None = None) -> str:
    """One Firehose-shaped GZIP object in the lake's bronze bucket; its key."""
    return sample.put_bronze(
        lake.client("s3"),
        lake.bucket("bronze"),
        payload,
        stream=lake.spec.primary_firehose,
        prefix=prefix,
        when=when or sample.DEFAULT_START,
    )


def all_versions(lake: Lake, tier: str) -> list[tuple[str, str]]:
    """Every (key, version id) and delete marker in a tier's bucket."""
    s3 = lake.client("s3")
    found = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=lake.bucket(tier)):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            found.append((entry["Key"], entry["VersionId"]))
    return sorted(found)


def params_file(lake: Lake, folder: Path) -> Path:
    """The lake's parameters as a file, for ``NEXUSKIT_PARAMS_FILE`` (CLI tests)."""
    path = folder / "params.json"
    path.write_text(json.dumps(lake.spec.params.model_dump()))
    return path
