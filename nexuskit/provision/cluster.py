"""The EKS cluster of spec §2.1 with its managed node groups ``general`` and ``mcp``.

On the embedded engine the cluster and node groups are control-plane records only; the
workloads run in nexuskit's local runtime.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from nexuskit.errors import ProvisionError
from nexuskit.params import StackSpec
from nexuskit.provision.context import ProvisionContext, aws_call, error_code, wait_until
from nexuskit.provision.network import Network
from nexuskit.provision.policies import StackArns
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState, control_plane

log = logging.getLogger(__name__)

CLUSTER_TYPE = "eks.cluster"
NODEGROUP_TYPE = "eks.nodegroup"
CLUSTER_TIMEOUT = 30 * 60.0
NODE_GROUPS: tuple[Literal["general", "mcp"], ...] = ("general", "mcp")
#: control-plane logs sent to CloudWatch (Terraform's eks module, enabled_log_types)
CLUSTER_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
_FAILED = {"FAILED", "CREATE_FAILED", "DEGRADED", "DELETING", "DELETE_FAILED"}


@dataclass(frozen=True)
class NodeGroupPlan:
    name: str
    instance_types: list[str]
    min_size: int
    max_size: int
    desired_size: int
    labels: dict[str, str]
    taints: list[dict[str, str]]

    @property
    def scaling(self) -> dict[str, int]:
        return {
            "minSize": self.min_size,
            "maxSize": self.max_size,
            "desiredSize": self.desired_size,
        }

    @property
    def detail(self) -> str:
        types = ",".join(self.instance_types)
        parts = [f"{types} x{self.desired_size} ({self.min_size}-{self.max_size})"]
        parts += [f"label {k}={v}" for k, v in self.labels.items()]
        parts += [f"taint {t['key']}={t['value']}:{t['effect']}" for t in self.taints]
        return ", ".join(parts)


def node_group_plans(spec: StackSpec) -> list[NodeGroupPlan]:
    """``general`` (label role=general) and ``mcp`` (taint dedicated=mcp:NoSchedule)."""
    plans = []
    for name in NODE_GROUPS:
        sizes = spec.params.node_groups[name]
        taints = [{"key": "dedicated", "value": "mcp", "effect": "NO_SCHEDULE"}] if name == "mcp" else []
        plans.append(
            NodeGroupPlan(
                name=name,
                instance_types=list(sizes.instance_types),
                min_size=sizes.min_size,
                max_size=sizes.max_size,
                desired_size=sizes.desired_size,
                labels={"role": name},
                taints=taints,
            )
        )
    return plans


def _describe(call: Any, key: str, **kwargs: Any) -> dict[str, Any] | None:
    try:
        return dict(call(**kwargs)[key])
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def _active(what: str) -> Any:
    def ready(resource: dict[str, Any] | None) -> bool:
        status = (resource or {}).get("status", "")
        if status in _FAILED:
            raise ProvisionError(f"{what} is {status}", "inspect it in the EKS console")
        return bool(status == "ACTIVE")

    return ready


def _cluster(ctx: ProvisionContext, net: Network) -> ResourceState:
    eks = ctx.client("eks")
    spec = ctx.spec
    name = spec.cluster_name
    version = spec.params.eks_cluster_version
    with aws_call(CLUSTER_TYPE, name):
        current = _describe(eks.describe_cluster, "cluster", name=name)
        if current is not None:
            if current.get("status") != "ACTIVE":  # left CREATING by an interrupted run
                wait_until(
                    lambda: _describe(eks.describe_cluster, "cluster", name=name),
                    _active(f"EKS cluster {name}"),
                    f"EKS cluster {name}",
                    CLUSTER_TIMEOUT,
                )
            detail = f"Kubernetes {current.get('version', version)}"
            return ResourceState(CLUSTER_TYPE, name, EXISTS, detail)
        _cluster_log_group(ctx)
        made = eks.create_cluster(
            name=name,
            version=version,
            logging={"clusterLogging": [{"types": list(CLUSTER_LOG_TYPES), "enabled": True}]},
            roleArn=StackArns(spec, ctx.account_id).role("eks_cluster"),
            resourcesVpcConfig={
                "subnetIds": net.private_subnet_ids(spec),
                "endpointPublicAccess": True,
                "endpointPrivateAccess": True,
            },
            tags=ctx.tags,
        )["cluster"]
        log.info("creating EKS cluster %s (Kubernetes %s)", name, version)
        if made.get("status") != "ACTIVE":  # AWS: CREATING for about ten minutes
            wait_until(
                lambda: _describe(eks.describe_cluster, "cluster", name=name),
                _active(f"EKS cluster {name}"),
                f"EKS cluster {name}",
                CLUSTER_TIMEOUT,
            )
    return ResourceState(CLUSTER_TYPE, name, CREATED, f"Kubernetes {version}")


def cluster_log_group(spec: StackSpec) -> str:
    return f"/aws/eks/{spec.cluster_name}/cluster"


def _cluster_log_group(ctx: ProvisionContext) -> None:
    """Made before the cluster, so its retention is ours and not "never expire"."""
    logs = ctx.client("logs")
    group = cluster_log_group(ctx.spec)
    existing = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
    if not any(g["logGroupName"] == group for g in existing):
        logs.create_log_group(logGroupName=group, tags=ctx.tags)
    logs.put_retention_policy(logGroupName=group, retentionInDays=ctx.spec.params.log_retention_days)


def _taint_key(taint: dict[str, Any]) -> tuple[str, str, str]:
    return (str(taint.get("key")), str(taint.get("value", "")), str(taint.get("effect")))


def _settle_nodegroup(ctx: ProvisionContext, plan: NodeGroupPlan, current: dict[str, Any]) -> list[str]:
    """Fix scaling, labels and taints in place; what changed."""
    eks = ctx.client("eks")
    cluster = ctx.spec.cluster_name
    updates: dict[str, Any] = {}
    fixed = []
    scaling = current.get("scalingConfig", {})
    if any(scaling.get(k) != v for k, v in plan.scaling.items()):
        updates["scalingConfig"] = plan.scaling
        fixed.append("scaling")
    labels = current.get("labels") or {}
    stale = {k: v for k, v in plan.labels.items() if labels.get(k) != v}
    if stale:
        updates["labels"] = {"addOrUpdateLabels": stale}
        fixed.append("labels")
    have = {_taint_key(t) for t in current.get("taints") or []}
    missing = [t for t in plan.taints if _taint_key(t) not in have]
    if missing:
        updates["taints"] = {"addOrUpdateTaints": missing}
        fixed.append("taints")
    if updates:
        eks.update_nodegroup_config(clusterName=cluster, nodegroupName=plan.name, **updates)
    return fixed


def _nodegroup(
    ctx: ProvisionContext, plan: NodeGroupPlan, net: Network, new_cluster: bool = False
) -> ResourceState:
    """The node group (``new_cluster``: the cluster was created by this run, so it has none)."""
    eks = ctx.client("eks")
    spec = ctx.spec
    name = f"{spec.cluster_name}/{plan.name}"
    with aws_call(NODEGROUP_TYPE, name):
        kwargs = {"clusterName": spec.cluster_name, "nodegroupName": plan.name}
        current = None if new_cluster else _describe(eks.describe_nodegroup, "nodegroup", **kwargs)
        if current is not None:
            fixed = _settle_nodegroup(ctx, plan, current)
            if fixed:
                log.info("updated node group %s: %s", name, ", ".join(fixed))
                detail = f"{plan.detail}; fixed {', '.join(fixed)}"
                return ResourceState(NODEGROUP_TYPE, name, UPDATED, detail)
            return ResourceState(NODEGROUP_TYPE, name, EXISTS, plan.detail)
        made = eks.create_nodegroup(
            **kwargs,
            scalingConfig=plan.scaling,
            subnets=net.private_subnet_ids(spec),
            instanceTypes=plan.instance_types,
            nodeRole=StackArns(spec, ctx.account_id).role("eks_nodes"),
            labels=plan.labels,
            taints=plan.taints,
            capacityType="ON_DEMAND",
            tags=ctx.tags,
        )["nodegroup"]
        if made.get("status") != "ACTIVE":  # AWS: CREATING for a few minutes
            wait_until(
                lambda: _describe(eks.describe_nodegroup, "nodegroup", **kwargs),
                _active(f"EKS node group {name}"),
                f"EKS node group {name}",
                CLUSTER_TIMEOUT,
            )
    log.info("created node group %s", name)
    return ResourceState(NODEGROUP_TYPE, name, CREATED, plan.detail)


def provision_cluster(ctx: ProvisionContext, net: Network) -> list[ResourceState]:
    """The cluster in the private subnets (waits for ACTIVE), then its node groups."""
    states = [_cluster(ctx, net)]
    new = states[0].state == CREATED
    states += [_nodegroup(ctx, plan, net, new) for plan in node_group_plans(ctx.spec)]
    return states


def inventory_cluster(ctx: ProvisionContext) -> list[ResourceState]:
    eks = ctx.client("eks")
    spec = ctx.spec
    name = spec.cluster_name
    with aws_call(CLUSTER_TYPE, name):
        cluster = _describe(eks.describe_cluster, "cluster", name=name)
        groups: set[str] = set()
        if cluster is not None:
            groups = set(eks.list_nodegroups(clusterName=name).get("nodegroups", []))
    version = f"Kubernetes {cluster.get('version')}" if cluster else ""
    states = [control_plane(CLUSTER_TYPE, name, cluster is not None, version)]
    for plan in node_group_plans(spec):
        states.append(control_plane(NODEGROUP_TYPE, f"{name}/{plan.name}", plan.name in groups, plan.detail))
    return states
