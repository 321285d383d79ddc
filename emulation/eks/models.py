"""What AWS records about a new cluster or node group and moto does not.

* A cluster's ``accessConfig``: the ``authenticationMode`` asked for (AWS's default is
  ``CONFIG_MAP``) and ``bootstrapClusterCreatorAdminPermissions`` (default true). moto drops
  both, so Terraform, which must replace a cluster to change the latter, replaced the
  cluster at every plan.
* A cluster's ``upgradePolicy`` (AWS's default support type is ``EXTENDED``), the
  ``ipFamily`` of its Kubernetes network (``ipv4``) and the ``vpcId`` of its subnets.
* A node group's ``updateConfig`` (AWS's default is one node unavailable at a time), and no
  ``remoteAccess`` unless one was asked for (moto invents an ``ec2SshKey`` named
  ``eksKeypair``, which forced Terraform to replace node groups).

The functions take moto's objects and the request's parameters, change the objects (so
``DescribeCluster``/``DescribeNodegroup`` answer from them) and return the fields to add to
the create call's own answer. This module is the one place that touches moto's EKS models.
"""

from __future__ import annotations

from typing import Any

from emulation.core.moto_compat import existing_backend

DEFAULT_AUTHENTICATION_MODE = "CONFIG_MAP"
DEFAULT_SUPPORT_TYPE = "EXTENDED"
DEFAULT_UPDATE_CONFIG = {"maxUnavailable": 1}


def eks_backend(account: str, region: str) -> Any:
    from moto.eks.models import eks_backends

    return eks_backends[account][region]


def _subnet_vpc(account: str, region: str, subnet_ids: list[str]) -> str | None:
    from moto.ec2.models import ec2_backends

    ec2 = existing_backend(ec2_backends, account, region)
    if ec2 is None:
        return None
    for subnet_id in subnet_ids:
        for subnets in list(ec2.subnets.values()):
            subnet = subnets.get(subnet_id)
            if subnet is not None:
                return str(subnet.vpc_id)
    return None


#: what a ``complete_*`` function returns: fields to set in the answer, fields to remove
Completion = tuple[dict[str, Any], list[str]]


def complete_cluster(account: str, region: str, name: str, params: dict[str, Any]) -> Completion:
    """Record accessConfig, upgradePolicy, the network's ipFamily and the VPC on the cluster."""
    cluster = eks_backend(account, region).clusters[name]
    asked = params.get("accessConfig") or {}
    cluster.access_config = {
        "authenticationMode": asked.get("authenticationMode", DEFAULT_AUTHENTICATION_MODE),
        "bootstrapClusterCreatorAdminPermissions": bool(
            asked.get("bootstrapClusterCreatorAdminPermissions", True)
        ),
    }
    cluster.upgrade_policy = dict(params.get("upgradePolicy") or {"supportType": DEFAULT_SUPPORT_TYPE})
    network = dict(cluster.kubernetes_network_config or {})
    network.setdefault("ipFamily", "ipv4")
    cluster.kubernetes_network_config = network
    vpc = dict(cluster.resources_vpc_config or {})
    vpc.setdefault("securityGroupIds", [])
    vpc_id = _subnet_vpc(account, region, list(vpc.get("subnetIds") or []))
    if vpc_id:
        vpc.setdefault("vpcId", vpc_id)
    cluster.resources_vpc_config = vpc
    added = {
        "accessConfig": cluster.access_config,
        "upgradePolicy": cluster.upgrade_policy,
        "kubernetesNetworkConfig": network,
        "resourcesVpcConfig": vpc,
    }
    return added, []


def complete_nodegroup(
    account: str, region: str, cluster_name: str, name: str, params: dict[str, Any]
) -> Completion:
    """Record updateConfig and drop moto's invented remoteAccess: (fields to set, to remove)."""
    nodegroup = eks_backend(account, region).clusters[cluster_name].nodegroups[name]
    nodegroup.update_config = dict(params.get("updateConfig") or DEFAULT_UPDATE_CONFIG)
    removed: list[str] = []
    if not params.get("remoteAccess"):
        nodegroup.remote_access = None
        removed.append("remoteAccess")
    return {"updateConfig": nodegroup.update_config}, removed
