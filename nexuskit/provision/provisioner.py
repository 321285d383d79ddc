"""The provisioner: the whole Nexus stack of spec §2 on an engine (or AWS), and its inventory.

:func:`provision` creates, in dependency order, every AWS resource the engine can hold:
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
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from nexuskit.aws import AwsTarget
from nexuskit.params import StackSpec
from nexuskit.provision.cluster import inventory_cluster, provision_cluster
from nexuskit.provision.context import ProvisionContext
from nexuskit.provision.identity import inventory_identity, provision_identity
from nexuskit.provision.network import inventory_network, provision_network
from nexuskit.provision.observability import inventory_observability, provision_observability
from nexuskit.provision.resources import CREATED, UPDATED, ResourceState
from nexuskit.provision.signing_key import inventory_signing_key, provision_signing_key
from nexuskit.provision.storage import inventory_storage, provision_storage
from nexuskit.provision.streaming import inventory_streaming, provision_streaming
from nexuskit.provision.tables import inventory_tables, provision_tables

__all__ = ["PROVISION_SERVICES", "inventory", "provision"]

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


def provision(spec: StackSpec, target: AwsTarget, *, admin_arn: str | None = None) -> list[ResourceState]:
    """Create or correct every resource of the stack; one state per resource, in order.

    ``admin_arn`` is the Lake Formation admin when ``lakeformation_admins`` is empty, and
    the signing key's admin when ``token_signing_key_admins`` is (default: the calling
    identity).
    """
    started = time.monotonic()
    ctx = ProvisionContext.connect(spec, target)
    log.info("provisioning %s in %s as %s", spec.prefix, spec.region, ctx.caller_arn)
    # Two chains side by side: the data platform in dependency order, and the network with
    # the cluster (which only names the cluster roles by ARN, so it does not wait for IAM).

    def platform() -> list[ResourceState]:
        states = provision_observability(ctx)
        states += provision_identity(ctx)
        states += provision_storage(ctx, admin_arn)
        states += provision_streaming(ctx)
        states += provision_signing_key(ctx, admin_arn)
        states += provision_tables(ctx)
        states += _provision_jobs(ctx)
        return states

    def cluster() -> list[ResourceState]:
        network_states, network = provision_network(ctx)
        return network_states + provision_cluster(ctx, network)

    if spec.params.enable_eks:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="provision-network") as pool:
            side = pool.submit(cluster)
            try:
                states = platform()
            except BaseException:
                wait([side])  # the main chain's error is the one reported
                raise
            states += side.result()
    else:
        states = platform()
    created = sum(1 for s in states if s.state == CREATED)
    updated = sum(1 for s in states if s.state == UPDATED)
    log.info(
        "provisioned %d resources (%d created, %d updated) in %.2f s",
        len(states),
        created,
        updated,
        time.monotonic() - started,
    )
    return states


def _provision_jobs(ctx: ProvisionContext) -> list[ResourceState]:
    # nexuskit.lake.glue imports this package's modules: imported when used
    from nexuskit.lake.glue import provision_jobs

    return provision_jobs(ctx)


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
