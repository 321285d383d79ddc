"""The provisioner: the whole Nexus stack of spec §2 on an engine (or AWS), and its inventory.

:func:`provision` creates every AWS resource the engine can hold, each area as a step that
starts as soon as the areas it needs are made (:func:`run_steps`; independent areas overlap):
log groups, the EKS OIDC provider and IAM roles, the medallion buckets and Lake
Formation, the Kinesis data and video streams and the Firehose streams to bronze, the
token-signing secret (with the resource policy that keeps its key to the auth Lambda),
agent-core's DynamoDB tables, the medallion Glue jobs with their role, code and assets bucket
(:func:`nexuskit.lake.glue.provision_jobs`), and the network and EKS cluster as control-plane records. It is
idempotent: a second call creates nothing and reports every resource as ``exists``, and
cheap drift (retention, versioning, encryption, tags, policies, scaling) is corrected and
reported as ``updated``.

:func:`inventory` reports every resource as ``ready`` or ``missing`` with list-style calls
(network and cluster as ``emulated: control plane only``). The edge (auth Lambda and HTTP
API) is deployed and listed by :mod:`nexuskit.edge.auth`.

A botocore ``ClientError`` becomes :class:`~nexuskit.errors.ProvisionError` naming the
resource and the AWS error; an unreachable endpoint becomes
:class:`~nexuskit.errors.EngineError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from nexuskit.aws import AwsTarget
from nexuskit.params import StackSpec
from nexuskit.provision.cluster import inventory_cluster, provision_cluster
from nexuskit.provision.context import ProvisionContext
from nexuskit.provision.identity import inventory_identity, provision_identity
from nexuskit.provision.network import inventory_network, provision_network
from nexuskit.provision.observability import inventory_observability, provision_observability
from nexuskit.provision.resources import CREATED, UPDATED, ResourceState
from nexuskit.provision.signing_key import inventory_signing_key, provision_signing_key
from nexuskit.provision.storage import inventory_storage, provision_buckets, provision_lake_formation
from nexuskit.provision.streaming import inventory_streaming, provision_firehoses, provision_streams
from nexuskit.provision.tables import inventory_tables, provision_tables

__all__ = ["PROVISION_SERVICES", "Step", "inventory", "provision", "provision_steps", "run_steps"]

log = logging.getLogger(__name__)

#: the AWS services the provisioner calls
PROVISION_SERVICES = (
    "logs",
    "iam",
    "s3",
    "lakeformation",
    "kinesis",
    "kinesisvideo",
    "firehose",
    "secretsmanager",
    "ec2",
    "eks",
    "dynamodb",
    "glue",
)


#: a step of :func:`provision_steps`: what it runs, and the steps it waits for
Step = tuple[Callable[[], Any], tuple[str, ...]]


def run_steps(steps: dict[str, Step]) -> dict[str, Any]:
    """Run each step in its own thread as soon as the steps it names have finished.

    Independent steps overlap (the engine answers while the client prepares the next
    request). A step whose dependency failed does not start; once every started step has
    ended, the error of the first failed step (in ``steps`` order) is raised.
    """
    ordered: list[str] = []  # a step after every step it waits for: no cycle
    while len(ordered) < len(steps):
        ready = [n for n, (_, deps) in steps.items() if n not in ordered and set(deps) <= set(ordered)]
        if not ready:
            stuck = {n: deps for n, (_, deps) in steps.items() if n not in ordered}
            raise ValueError(f"steps wait for unknown steps or for each other: {stuck}")
        ordered += ready
    done: dict[str, threading.Event] = {name: threading.Event() for name in steps}
    results: dict[str, Any] = {}
    errors: dict[str, BaseException] = {}

    def run(name: str, call: Callable[[], Any], deps: tuple[str, ...]) -> None:
        try:
            for dep in deps:
                done[dep].wait()
            failed = [dep for dep in deps if dep in errors]
            if failed:
                errors[name] = _SkippedError(failed)
                return
            results[name] = call()
        except BaseException as exc:  # reported by the caller, after every step ended
            errors[name] = exc
        finally:
            done[name].set()

    threads = [
        threading.Thread(target=run, args=(name, call, deps), name=f"provision-{name}", daemon=True)
        for name, (call, deps) in steps.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in steps:
        error = errors.get(name)
        if error is not None and not isinstance(error, _SkippedError):
            raise error
    return results


class _SkippedError(Exception):
    """A step that did not run because a step it waits for failed."""


def provision_steps(
    spec: StackSpec,
    target: AwsTarget,
    *,
    admin_arn: str | None = None,
    extra: dict[str, Step] | None = None,
) -> tuple[list[ResourceState], dict[str, Any]]:
    """:func:`provision`, plus ``extra`` steps that may wait for its steps (by name:
    observability, identity, buckets, lake_formation, streams, firehoses, signing_key, tables,
    job_role, jobs, cluster); returns
    the states of the stack and the results of the extra steps."""
    started = time.monotonic()
    ctx = ProvisionContext.connect(spec, target)
    log.info("provisioning %s in %s as %s", spec.prefix, spec.region, ctx.caller_arn)
    # What each area needs made first (on AWS too): Firehose writes to the bronze bucket as
    # the firehose role and logs to its log streams; the signing key's policy names the
    # stack's roles. The cluster only names its roles by ARN, so it does not wait for IAM.
    steps: dict[str, Step] = {
        "observability": (lambda: provision_observability(ctx), ()),
        "identity": (lambda: provision_identity(ctx), ()),
        "buckets": (lambda: provision_buckets(ctx), ()),
        "lake_formation": (lambda: provision_lake_formation(ctx, admin_arn), ("buckets",)),
        "streams": (lambda: provision_streams(ctx), ()),
        "firehoses": (lambda: provision_firehoses(ctx), ("observability", "identity", "buckets", "streams")),
        "signing_key": (lambda: provision_signing_key(ctx, admin_arn), ("identity",)),
        "tables": (lambda: provision_tables(ctx), ()),
        # the jobs' role alone first: the Lake Formation grants wait for it, not for the jobs
        "job_role": (lambda: _provision_job_role(ctx), ()),
        "jobs": (lambda: _provision_jobs(ctx), ("job_role",)),
    }
    if spec.params.enable_eks:
        steps["cluster"] = (lambda: _provision_cluster(ctx), ())
    platform = list(steps)
    for name in extra or {}:
        if name in steps:
            raise ValueError(f"extra step {name} has the name of a provisioning step")
    results = run_steps({**steps, **(extra or {})})
    states: list[ResourceState] = [state for name in platform for state in results[name]]
    created = sum(1 for s in states if s.state == CREATED)
    updated = sum(1 for s in states if s.state == UPDATED)
    log.info(
        "provisioned %d resources (%d created, %d updated) in %.2f s",
        len(states),
        created,
        updated,
        time.monotonic() - started,
    )
    return states, {name: results[name] for name in extra or {}}


def provision(spec: StackSpec, target: AwsTarget, *, admin_arn: str | None = None) -> list[ResourceState]:
    """Create or correct every resource of the stack; one state per resource, in order.

    ``admin_arn`` is the Lake Formation admin when ``lakeformation_admins`` is empty, and
    the signing key's admin when ``token_signing_key_admins`` is (default: the calling
    identity).
    """
    return provision_steps(spec, target, admin_arn=admin_arn)[0]


def _provision_cluster(ctx: ProvisionContext) -> list[ResourceState]:
    network_states, network = provision_network(ctx)
    return network_states + provision_cluster(ctx, network)


def _provision_job_role(ctx: ProvisionContext) -> list[ResourceState]:
    # nexuskit.lake.glue imports this package's modules: imported when used
    from nexuskit.lake.glue import ensure_job_role

    return ensure_job_role(ctx)


def _provision_jobs(ctx: ProvisionContext) -> list[ResourceState]:
    from nexuskit.lake.glue import provision_jobs

    return provision_jobs(ctx, role=False)


def _inventory_jobs(ctx: ProvisionContext) -> list[ResourceState]:
    from nexuskit.lake.glue import inventory_jobs

    return inventory_jobs(ctx)


def inventory(spec: StackSpec, target: AwsTarget, *, admin_arn: str | None = None) -> list[ResourceState]:
    """How every resource of the stack stands on the target, without changing anything.

    Lake Formation admins and grants are checked for the same principals :func:`provision`
    uses: ``lakeformation_admins``, else ``admin_arn``, else the calling identity.
    """
    ctx = ProvisionContext.connect(spec, target)
    sections: list[Callable[[], list[ResourceState]]] = [
        lambda: inventory_observability(ctx),
        lambda: inventory_identity(ctx),
        lambda: inventory_storage(ctx, admin_arn),
        lambda: inventory_streaming(ctx),
        lambda: inventory_signing_key(ctx),
        lambda: inventory_tables(ctx),
        lambda: _inventory_jobs(ctx),
    ]
    if spec.params.enable_eks:
        sections += [lambda: inventory_network(ctx), lambda: inventory_cluster(ctx)]
    with ThreadPoolExecutor(max_workers=len(sections), thread_name_prefix="inventory") as pool:
        futures = [pool.submit(section) for section in sections]
        states = [state for future in futures for state in future.result()]
    return states
