"""One engine with the Glue extension for the job-run tests of a module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulation.glue.glue_support import BRONZE, ROLE, SCRIPTS_BUCKET, SILVER
from tests.helpers import EngineProcess

#: Timeout minutes are enforced x0.02 (a 1-minute Timeout is 1.2 s) in these engines
TIMEOUT_SCALE = "0.02"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEXUSKIT_GLUE_TIMEOUT_SCALE", TIMEOUT_SCALE)
        process = EngineProcess(tmp_path_factory.mktemp("glue"), "--extensions", "glue").start()
    target = process.target()
    s3 = target.client("s3")
    for bucket in (SCRIPTS_BUCKET, BRONZE, SILVER):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": target.region})
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "glue.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    target.client("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def aws(engine: EngineProcess) -> Any:
    """``aws("glue")``: a boto3 client on the engine (no retries)."""
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = engine.target().client(service, max_attempts=0)
        return clients[service]

    return client
