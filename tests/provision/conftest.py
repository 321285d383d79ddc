"""A real engine over HTTP, the local stack spec, and the stack provisioned once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nexuskit.aws import AwsTarget
from nexuskit.params import StackSpec, load_stack
from nexuskit.provision.provisioner import provision
from nexuskit.provision.resources import ResourceState
from tests.helpers import ADMIN_KEY, ADMIN_SECRET, EngineProcess


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto behind the embedded engine's front (``python -m emulation`` with only the S3
    extension: ``--iam off`` turns off the IAM one) on a free port of 127.0.0.1, for the whole
    session. The provisioning tests describe moto with the bucket configuration answered as
    AWS answers it (moto's GetBucketNotificationConfiguration leaves EventBridge out, so a
    provisioner could never see it on); a process of its own starts from nothing (no reset
    through an admin API needed)."""
    engine = EngineProcess(
        tmp_path_factory.mktemp("provision-engine"), "--iam", "off", "--extensions", "iam,s3"
    )
    engine.start()
    yield engine.endpoint
    engine.stop()


@pytest.fixture(scope="session")
def spec() -> StackSpec:
    """The ``local`` environment's parameters (prefix nexus-dev)."""
    return load_stack(env="local")


@pytest.fixture(scope="session")
def make_spec(spec: StackSpec) -> Callable[..., StackSpec]:
    """A variant of the local spec, e.g. ``make_spec(environment="drift")``: its own prefix,
    so it shares the server without touching the main stack's resources."""

    def build(**changes: Any) -> StackSpec:
        return StackSpec(spec.params.model_copy(update=changes))

    return build


@pytest.fixture(scope="session")
def target(moto_endpoint: str, spec: StackSpec) -> AwsTarget:
    return AwsTarget(
        region=spec.region,
        access_key_id=ADMIN_KEY,
        secret_access_key=ADMIN_SECRET,
        endpoint_url=moto_endpoint,
    )


@pytest.fixture(scope="session")
def aws(target: AwsTarget) -> Callable[[str], Any]:
    """``aws("s3")``: a boto3 client on the server, as a user would make one."""
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = target.client(service)
        return clients[service]

    return client


@pytest.fixture(scope="session")
def first_run(spec: StackSpec, target: AwsTarget) -> list[ResourceState]:
    """The main stack, provisioned once for the session."""
    return provision(spec, target)


@pytest.fixture(scope="session")
def second_run(spec: StackSpec, target: AwsTarget, first_run: list[ResourceState]) -> list[ResourceState]:
    """``provision`` called again on the already provisioned main stack."""
    return provision(spec, target)


@pytest.fixture(scope="session")
def account_id(aws: Callable[[str], Any]) -> str:
    return str(aws("sts").get_caller_identity()["Account"])
