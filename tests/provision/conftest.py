"""A real moto server over HTTP, the local stack spec, and the stack provisioned once."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from nexuskit.aws import AwsTarget
from nexuskit.provision import ResourceState, provision
from nexuskit.stack import StackSpec, load_stack


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on a free port of 127.0.0.1, for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto's state is global to the process: start from nothing whatever ran before.
    urllib.request.urlopen(
        urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST"), timeout=30
    ).close()
    yield f"http://{host}:{port}"
    server.stop()


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
        access_key_id="test",
        secret_access_key="test",
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
