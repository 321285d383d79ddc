"""Shared plumbing for the provisioner: clients, caller identity, error mapping, waiting."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from nexuskit.aws import AwsTarget
from nexuskit.errors import EngineError, ProvisionError
from nexuskit.params import StackSpec

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: how many independent resources are settled at once (AWS and the engine both take it)
PARALLEL_CALLS = 4

_UNREACHABLE = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)


def error_code(exc: Any) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` when absent)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


@contextmanager
def aws_call(type_: str, name: str) -> Iterator[None]:
    """Turn botocore failures inside the block into errors that name the resource."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        hint = None
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            hint = "the caller lacks permission for this call; check the credentials in use"
        raise ProvisionError(f"{type_} {name}: {code}: {error_message(exc)}", hint) from exc
    except _UNREACHABLE as exc:
        raise EngineError(
            f"{type_} {name}: no answer from the AWS endpoint ({exc})",
            "start the engine with `nexuskit up --local`, or check AWS_ENDPOINT_URL",
        ) from exc
    except ParamValidationError as exc:
        raise ProvisionError(f"{type_} {name}: invalid request: {exc}") from exc


def stack_tags(spec: StackSpec) -> dict[str, str]:
    """The tags every resource carries: the parameters' ``tags`` plus ``Project`` and
    ``Environment`` (as Terraform's ``local.tags``, the provider's ``default_tags``)."""
    return {**spec.params.tags, "Project": spec.params.project, "Environment": spec.params.environment}


def tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """``{"a": "b"}`` -> ``[{"Key": "a", "Value": "b"}]`` (AWS's list form of tags)."""
    return [{key: k, value: v} for k, v in tags.items()]


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def wait_until(
    probe: Callable[[], T],
    ready: Callable[[T], bool],
    what: str,
    timeout: float = 600.0,
) -> T:
    """Call ``probe`` until ``ready`` holds: at once, then with a growing pause (max 5 s).

    The emulator answers ready on the first probe, so there is no sleep there; real AWS
    (EKS, NAT gateways) gets polled without hammering it.
    """
    deadline = time.monotonic() + timeout
    pause = 0.1
    while True:
        value = probe()
        if ready(value):
            return value
        if time.monotonic() + pause > deadline:
            raise ProvisionError(
                f"{what} did not become ready within {timeout:.0f} s",
                "check its status in the AWS console and run the command again",
            )
        log.debug("waiting %.1f s for %s", pause, what)
        time.sleep(pause)
        pause = min(pause * 2, 5.0)


@dataclass
class ProvisionContext:
    """The spec, the target and who the caller is (clients are the target's, made once each)."""

    spec: StackSpec
    target: AwsTarget
    account_id: str
    caller_arn: str

    @classmethod
    def connect(cls, spec: StackSpec, target: AwsTarget) -> ProvisionContext:
        sts = target.client("sts")
        with aws_call("sts.caller_identity", target.endpoint_url or "AWS"):
            identity = sts.get_caller_identity()
        return cls(spec, target, str(identity["Account"]), str(identity["Arn"]))

    @property
    def region(self) -> str:
        return self.spec.region

    @property
    def tags(self) -> dict[str, str]:
        return stack_tags(self.spec)

    def client(self, service: str) -> Any:
        return self.target.client(service)

    def each(self, settle: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[settle(item) for item in items]`` with independent items settled side by side.

        Results keep the items' order; when several fail, the first item's error is raised
        (after every call has ended, so nothing is left half-done in the background).
        """
        todo = list(items)
        if len(todo) < 2:
            return [settle(item) for item in todo]
        workers = min(PARALLEL_CALLS, len(todo))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="provision") as pool:
            futures = [pool.submit(settle, item) for item in todo]
            wait(futures)
        return [future.result() for future in futures]
