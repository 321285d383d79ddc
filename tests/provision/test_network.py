"""The VPC, subnets, NAT gateways and EKS cluster as control-plane records (spec §2.1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("first_run")
Aws = Callable[[str], Any]
ZONES = ["us-west-2a", "us-west-2b", "us-west-2c"]


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


@pytest.fixture(scope="module")
def vpc(aws: Aws) -> dict[str, Any]:
    vpcs = aws("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["nexus-dev-vpc"]}])
    (found,) = vpcs["Vpcs"]
    return dict(found)


@pytest.fixture(scope="module")
def subnets(aws: Aws, vpc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = aws("ec2").describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    return {_tags(s)["Name"]: s for s in found["Subnets"]}


def test_vpc_is_a_tagged_slash_16(vpc: dict[str, Any]) -> None:
    """One VPC named nexus-dev-vpc with CIDR 10.0.0.0/16."""
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    assert _tags(vpc)["Name"] == "nexus-dev-vpc"


def test_each_zone_has_a_private_slash_18_and_a_public_slash_22(subnets: dict[str, dict[str, Any]]) -> None:
    """Six subnets, as Terraform's network module cuts them: a private /18 (EKS pods take an
    address each) and a public /22 (NAT gateways, load balancers) in each of the three AZs; no
    subnet hands out public IPs on launch."""
    expected = {f"nexus-dev-vpc-{kind}-{z}" for kind in ("public", "private") for z in ZONES}
    assert set(subnets) == expected
    for name, subnet in subnets.items():
        assert subnet["AvailabilityZone"] == "-".join(name.split("-")[-3:])
        assert subnet["CidrBlock"].endswith("/22" if "-public-" in name else "/18")
    assert [subnets[f"nexus-dev-vpc-private-{z}"]["CidrBlock"] for z in ZONES] == [
        "10.0.0.0/18",
        "10.0.64.0/18",
        "10.0.128.0/18",
    ]
    assert not any(subnet["MapPublicIpOnLaunch"] for subnet in subnets.values())


def test_a_nat_gateway_sits_in_each_public_subnet(
    aws: Aws, vpc: dict[str, Any], subnets: dict[str, dict[str, Any]]
) -> None:
    """Three available NAT gateways, one per AZ, each in that AZ's public subnet with an EIP."""
    found = aws("ec2").describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
        "NatGateways"
    ]
    by_name = {_tags(n)["Name"]: n for n in found}
    assert set(by_name) == {f"nexus-dev-vpc-nat-{z}" for z in ZONES}
    for zone in ZONES:
        nat = by_name[f"nexus-dev-vpc-nat-{zone}"]
        assert nat["State"] == "available"
        assert nat["SubnetId"] == subnets[f"nexus-dev-vpc-public-{zone}"]["SubnetId"]
        assert nat["NatGatewayAddresses"][0]["AllocationId"].startswith("eipalloc-")


def test_private_subnets_route_through_their_own_nat(
    aws: Aws, vpc: dict[str, Any], subnets: dict[str, dict[str, Any]]
) -> None:
    """Each private subnet's route table sends 0.0.0.0/0 to the NAT of its AZ; public to IGW."""
    ec2 = aws("ec2")
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    nat_zone = {
        n["NatGatewayId"]: _tags(n)["Name"].removeprefix("nexus-dev-vpc-nat-") for n in nats["NatGateways"]
    }
    igw = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])[
        "InternetGateways"
    ]
    assert len(igw) == 1
    subnet_name = {s["SubnetId"]: name for name, s in subnets.items()}
    for table in tables["RouteTables"]:
        default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        for association in table.get("Associations", []):
            if not association.get("SubnetId"):
                continue
            name = subnet_name[association["SubnetId"]]
            if name.startswith("nexus-dev-vpc-public-"):
                assert default[0]["GatewayId"] == igw[0]["InternetGatewayId"]
            else:
                assert nat_zone[default[0]["NatGatewayId"]] == name.removeprefix("nexus-dev-vpc-private-")


def test_cluster_runs_in_the_private_subnets(
    aws: Aws, account_id: str, subnets: dict[str, dict[str, Any]]
) -> None:
    """nexus-dev-eks: version from params, the cluster role, the three private subnets."""
    cluster = aws("eks").describe_cluster(name="nexus-dev-eks")["cluster"]
    assert cluster["version"] == "1.31"
    assert cluster["roleArn"] == f"arn:aws:iam::{account_id}:role/nexus-dev-eks-cluster"
    private = {subnets[f"nexus-dev-vpc-private-{z}"]["SubnetId"] for z in ZONES}
    assert set(cluster["resourcesVpcConfig"]["subnetIds"]) == private


def test_general_node_group_is_labelled_role_general(aws: Aws, account_id: str) -> None:
    """Node group general: label role=general, no taint, sizes and type from params."""
    group = aws("eks").describe_nodegroup(clusterName="nexus-dev-eks", nodegroupName="general")["nodegroup"]
    assert group["labels"]["role"] == "general"
    assert not group.get("taints")
    assert group["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 2}
    assert group["instanceTypes"] == ["m6i.large"]
    assert group["nodeRole"] == f"arn:aws:iam::{account_id}:role/nexus-dev-eks-nodes"


def test_mcp_node_group_is_tainted_dedicated_mcp(aws: Aws) -> None:
    """Node group mcp: taint dedicated=mcp:NoSchedule, sizes from params."""
    group = aws("eks").describe_nodegroup(clusterName="nexus-dev-eks", nodegroupName="mcp")["nodegroup"]
    assert group["taints"] == [{"key": "dedicated", "value": "mcp", "effect": "NO_SCHEDULE"}]
    assert group["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 1}
