"""Spec §2.1 network and EKS: 3 AZs, NAT per AZ, node groups, taint and label, Karpenter."""

from __future__ import annotations

from conftest import module_config
from tfstatic import Scope, expression, literal, load_tfvars


def test_parameters_name_three_zones_and_a_slash_16(env: str) -> None:
    """The tfvars give three distinct zones in the region and a /16 VPC."""
    tfvars = load_tfvars(env)
    zones = tfvars["availability_zones"]
    assert len(set(zones)) == 3
    assert all(zone.startswith(tfvars["region"]) for zone in zones)
    assert tfvars["vpc_cidr"].endswith("/16")


def test_three_zones_are_enforced_by_validation(platform) -> None:
    """Both the stack and the network module reject anything but three zones."""
    for config in (platform, module_config("network")):
        conditions = [
            expression(v["condition"]) for v in config.variables["availability_zones"]["validation"]
        ]
        assert any("length(var.availability_zones) == 3" in c for c in conditions), config.path


def test_subnets_and_nat_gateways_one_per_zone() -> None:
    """Public/private subnets, EIPs and NAT gateways are created for_each zone."""
    network = module_config("network")
    assert expression(network.locals["azs"]) == "toset(var.availability_zones)"
    for rtype, name in [
        ("aws_subnet", "public"),
        ("aws_subnet", "private"),
        ("aws_eip", "nat"),
        ("aws_nat_gateway", "this"),
        ("aws_route_table", "private"),
    ]:
        assert expression(network.resource(rtype, name)["for_each"]) == "local.azs", f"{rtype}.{name}"


def test_each_zone_egresses_through_its_own_nat() -> None:
    """NAT in the zone's public subnet with the zone's EIP; the zone's private route uses it."""
    network = module_config("network")
    nat = network.resource("aws_nat_gateway", "this")
    assert expression(nat["allocation_id"]) == "aws_eip.nat[each.key].id"
    assert expression(nat["subnet_id"]) == "aws_subnet.public[each.key].id"
    route = network.resource("aws_route_table", "private")["route"][0]
    assert literal(route["cidr_block"]) == "0.0.0.0/0"
    assert expression(route["nat_gateway_id"]) == "aws_nat_gateway.this[each.key].id"
    public_route = network.resource("aws_route_table", "public")["route"][0]
    assert expression(public_route["gateway_id"]) == "aws_internet_gateway.this.id"


def test_cluster_runs_in_the_private_subnets(platform) -> None:
    """The EKS module gets the network's private subnets."""
    eks = platform.module("eks")
    assert expression(eks["private_subnet_ids"]) == "module.network.private_subnet_ids"


def test_general_node_group_is_on_demand_and_labelled() -> None:
    """Node group general: ON_DEMAND, label role=general, no taint."""
    group = module_config("eks").resource("aws_eks_node_group", "general")
    assert literal(group["node_group_name"]) == "general"
    assert literal(group["capacity_type"]) == "ON_DEMAND"
    assert literal(group["labels"]["role"]) == "general"
    assert "taint" not in group


def test_mcp_node_group_is_tainted_dedicated_mcp_noschedule() -> None:
    """Node group mcp carries the taint dedicated=mcp:NoSchedule."""
    group = module_config("eks").resource("aws_eks_node_group", "mcp")
    assert literal(group["node_group_name"]) == "mcp"
    assert [{k: literal(v) for k, v in t.items()} for t in group["taint"]] == [
        {"key": "dedicated", "value": "mcp", "effect": "NO_SCHEDULE"}
    ]


def test_node_group_sizes_come_from_the_parameters(stack: Scope, platform) -> None:
    """The stack passes node_groups["general"] and ["mcp"] to the matching node group."""
    eks = platform.module("eks")
    assert expression(eks["general_node_group"]) == 'var.node_groups["general"]'
    assert expression(eks["mcp_node_group"]) == 'var.node_groups["mcp"]'


def test_eks_and_karpenter_follow_their_flags(platform) -> None:
    """EKS and IRSA exist with enable_eks; Karpenter's resources with enable_karpenter."""
    for name in ("eks", "irsa"):
        assert expression(platform.module(name)["count"]) == "var.enable_eks ? 1 : 0"
        assert expression(platform.module(name)["enable_karpenter"]) == "var.enable_karpenter"
    eks = module_config("eks")
    assert expression(eks.resource("aws_sqs_queue", "karpenter")["count"]) == ("var.enable_karpenter ? 1 : 0")
    irsa = module_config("irsa")
    assert expression(irsa.resource("aws_iam_role", "karpenter_controller")["count"]) == (
        "var.enable_karpenter ? 1 : 0"
    )


def test_cluster_secrets_are_encrypted_and_logs_enabled() -> None:
    """Kubernetes secrets use the module's rotating KMS key; control plane logs are on."""
    eks = module_config("eks")
    cluster = eks.resource("aws_eks_cluster", "this")
    encryption = cluster["encryption_config"][0]
    assert [literal(r) for r in encryption["resources"]] == ["secrets"]
    assert expression(encryption["provider"][0]["key_arn"]) == "aws_kms_key.secrets.arn"
    assert literal(eks.resource("aws_kms_key", "secrets")["enable_key_rotation"]) is True
    assert expression(cluster["enabled_cluster_log_types"]) == "var.enabled_log_types"
