"""The network of spec §2.1: a VPC over three AZs, public and private subnets, an internet
gateway, a NAT gateway per AZ and their route tables.

Every piece carries a ``Name`` tag derived from the prefix; a second run finds the pieces
by those names (and by VPC), so it creates nothing. On the embedded engine these are
control-plane records: nothing routes packets.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from nexuskit.errors import ConfigError
from nexuskit.params import StackSpec
from nexuskit.provision.context import ProvisionContext, aws_call, partition_of, tag_list, wait_until
from nexuskit.provision.resources import (
    CREATED,
    EXISTS,
    UPDATED,
    ResourceState,
    control_plane,
)

log = logging.getLogger(__name__)

VPC_TYPE = "ec2.vpc"
SUBNET_TYPE = "ec2.subnet"
IGW_TYPE = "ec2.internet_gateway"
NAT_TYPE = "ec2.nat_gateway"
ROUTE_TABLE_TYPE = "ec2.route_table"
FLOW_LOG_TYPE = "ec2.flow_log"
ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class SubnetPlan:
    name: str
    zone: str
    cidr: str
    public: bool


@dataclass
class Network:
    """IDs of the provisioned network, keyed by Name tag."""

    vpc_id: str
    subnets: dict[str, str] = field(default_factory=dict)
    nat_gateways: dict[str, str] = field(default_factory=dict)
    igw_id: str = ""
    #: the VPC was created by this run: nothing is in it yet (no need to look)
    new: bool = False

    def private_subnet_ids(self, spec: StackSpec) -> list[str]:
        return [self.subnets[p.name] for p in subnet_plan(spec) if not p.public]


def subnet_plan(spec: StackSpec) -> list[SubnetPlan]:
    """A public and a private subnet per AZ, as Terraform's network module cuts the /16.

    Private subnets carry the EKS nodes and pods (the VPC CNI gives every pod an address), so
    they get the three first /18s; public subnets hold only NAT gateways and load balancers:
    /22s from the last quarter (``cidrsubnet(vpc, 2, i)`` and ``cidrsubnet(vpc, 6, 48 + i)``).
    """
    try:
        vpc = ipaddress.ip_network(spec.params.vpc_cidr)
    except ValueError as exc:
        raise ConfigError(f"vpc_cidr {spec.params.vpc_cidr!r}: {exc}") from None
    if vpc.prefixlen > 26:
        raise ConfigError(
            f"vpc_cidr {spec.params.vpc_cidr!r} is too small for six subnets",
            "use a /16 CIDR block such as 10.0.0.0/16",
        )
    private = list(vpc.subnets(prefixlen_diff=2))
    public = list(vpc.subnets(prefixlen_diff=6))
    plans = []
    for i, zone in enumerate(spec.params.availability_zones):
        plans.append(SubnetPlan(f"{spec.vpc_name}-public-{zone}", zone, str(public[48 + i]), True))
    for i, zone in enumerate(spec.params.availability_zones):
        plans.append(SubnetPlan(f"{spec.vpc_name}-private-{zone}", zone, str(private[i]), False))
    return plans


def igw_name(spec: StackSpec) -> str:
    return f"{spec.vpc_name}-igw"


def nat_name(spec: StackSpec, zone: str) -> str:
    return f"{spec.vpc_name}-nat-{zone}"


def public_route_table_name(spec: StackSpec) -> str:
    return f"{spec.vpc_name}-public"


def private_route_table_name(spec: StackSpec, zone: str) -> str:
    return f"{spec.vpc_name}-private-{zone}"


def flow_log_group(spec: StackSpec) -> str:
    return f"/aws/vpc/{spec.vpc_name}/flow-logs"


def flow_log_role(spec: StackSpec) -> str:
    return f"{spec.prefix}-vpc-flow-logs"


def name_tag(resource: dict[str, Any]) -> str:
    return next((t["Value"] for t in resource.get("Tags", []) if t["Key"] == "Name"), "")


def _tagged(ctx: ProvisionContext, kind: str, name: str, **extra: str) -> list[dict[str, Any]]:
    tags = {**ctx.tags, **extra, "Name": name}
    return [{"ResourceType": kind, "Tags": tag_list(tags)}]


def _in_vpc(vpc_id: str) -> list[dict[str, Any]]:
    return [{"Name": "vpc-id", "Values": [vpc_id]}]


def _find_vpc(ec2: Any, name: str) -> dict[str, Any] | None:
    found = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]
    return dict(found[0]) if found else None


def _vpc(ctx: ProvisionContext) -> tuple[ResourceState, Network]:
    ec2 = ctx.client("ec2")
    name, cidr = ctx.spec.vpc_name, ctx.spec.params.vpc_cidr
    with aws_call(VPC_TYPE, name):
        vpc = _find_vpc(ec2, name)
        if vpc is not None:
            detail = vpc["CidrBlock"]
            return ResourceState(VPC_TYPE, name, EXISTS, detail), Network(vpc["VpcId"])
        vpc_id = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=_tagged(ctx, "vpc", name))["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    log.info("created VPC %s (%s)", name, cidr)
    return ResourceState(VPC_TYPE, name, CREATED, cidr), Network(vpc_id, new=True)


def _subnets(ctx: ProvisionContext, net: Network) -> list[ResourceState]:
    ec2 = ctx.client("ec2")
    cluster_tag = f"kubernetes.io/cluster/{ctx.spec.cluster_name}"
    with aws_call(SUBNET_TYPE, ctx.spec.vpc_name):
        found = [] if net.new else ec2.describe_subnets(Filters=_in_vpc(net.vpc_id))["Subnets"]
    existing = {name_tag(s): s["SubnetId"] for s in found}
    states = []
    for plan in subnet_plan(ctx.spec):
        kind = "public" if plan.public else "private"
        detail = f"{plan.cidr}, {plan.zone}, {kind}"
        if plan.name in existing:
            net.subnets[plan.name] = existing[plan.name]
            states.append(ResourceState(SUBNET_TYPE, plan.name, EXISTS, detail))
            continue
        role_tag = "kubernetes.io/role/elb" if plan.public else "kubernetes.io/role/internal-elb"
        extra = {role_tag: "1", cluster_tag: "shared", "Tier": kind}
        if not plan.public:
            extra["karpenter.sh/discovery"] = ctx.spec.cluster_name  # Karpenter finds its subnets by it
        # no public IPs on launch even in public subnets: only NAT gateways and load balancers live there
        with aws_call(SUBNET_TYPE, plan.name):
            subnet_id = ec2.create_subnet(
                VpcId=net.vpc_id,
                CidrBlock=plan.cidr,
                AvailabilityZone=plan.zone,
                TagSpecifications=_tagged(ctx, "subnet", plan.name, **extra),
            )["Subnet"]["SubnetId"]
        net.subnets[plan.name] = subnet_id
        states.append(ResourceState(SUBNET_TYPE, plan.name, CREATED, detail))
    return states


def _internet_gateway(ctx: ProvisionContext, net: Network) -> ResourceState:
    ec2 = ctx.client("ec2")
    name = igw_name(ctx.spec)
    with aws_call(IGW_TYPE, name):
        attached = []
        if not net.new:
            attached = ec2.describe_internet_gateways(
                Filters=[{"Name": "attachment.vpc-id", "Values": [net.vpc_id]}]
            )["InternetGateways"]
        if attached:
            net.igw_id = attached[0]["InternetGatewayId"]
            return ResourceState(IGW_TYPE, name, EXISTS, ctx.spec.vpc_name)
        net.igw_id = ec2.create_internet_gateway(TagSpecifications=_tagged(ctx, "internet-gateway", name))[
            "InternetGateway"
        ]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=net.igw_id, VpcId=net.vpc_id)
    return ResourceState(IGW_TYPE, name, CREATED, ctx.spec.vpc_name)


def _elastic_ip(ctx: ProvisionContext, name: str) -> str:
    """A free Elastic IP tagged ``name`` (left by an interrupted run), or a new one."""
    ec2 = ctx.client("ec2")
    addresses = ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": [name]}])
    for address in addresses.get("Addresses", []):
        if not address.get("AssociationId"):
            return str(address["AllocationId"])
    allocated = ec2.allocate_address(Domain="vpc", TagSpecifications=_tagged(ctx, "elastic-ip", name))
    return str(allocated["AllocationId"])


def _nat_gateways(ctx: ProvisionContext, net: Network) -> list[ResourceState]:
    ec2 = ctx.client("ec2")
    live = [{"Name": "state", "Values": ["pending", "available"]}]
    with aws_call(NAT_TYPE, ctx.spec.vpc_name):
        found = (
            [] if net.new else ec2.describe_nat_gateways(Filters=_in_vpc(net.vpc_id) + live)["NatGateways"]
        )
    existing = {name_tag(n): n["NatGatewayId"] for n in found}
    states = []
    pending = bool(existing)  # gateways found may still be pending; new ones say so when made
    for zone in ctx.spec.params.availability_zones:
        name = nat_name(ctx.spec, zone)
        public = net.subnets[f"{ctx.spec.vpc_name}-public-{zone}"]
        detail = f"{zone}, public subnet"
        if name in existing:
            net.nat_gateways[zone] = existing[name]
            states.append(ResourceState(NAT_TYPE, name, EXISTS, detail))
            continue
        with aws_call(NAT_TYPE, name):
            allocation = _elastic_ip(ctx, name)
            made = ec2.create_nat_gateway(
                SubnetId=public,
                AllocationId=allocation,
                TagSpecifications=_tagged(ctx, "natgateway", name),
            )["NatGateway"]
            net.nat_gateways[zone] = made["NatGatewayId"]
            pending = pending or made.get("State") != "available"
        log.info("created NAT gateway %s", name)
        states.append(ResourceState(NAT_TYPE, name, CREATED, detail))
    ids = list(net.nat_gateways.values())
    if not pending:
        return states
    with aws_call(NAT_TYPE, ctx.spec.vpc_name):
        wait_until(
            lambda: ec2.describe_nat_gateways(NatGatewayIds=ids)["NatGateways"],
            lambda gateways: all(g["State"] == "available" for g in gateways),
            f"NAT gateways of {ctx.spec.vpc_name}",
        )
    return states


def _route_table(
    ctx: ProvisionContext,
    net: Network,
    existing: dict[str, dict[str, Any]],
    *,
    name: str,
    route: dict[str, str],
    subnet_ids: list[str],
    detail: str,
) -> ResourceState:
    """A route table with a default route (``route``) associated to ``subnet_ids``."""
    ec2 = ctx.client("ec2")
    with aws_call(ROUTE_TABLE_TYPE, name):
        table = existing.get(name)
        outcome = EXISTS
        if table is None:
            table = ec2.create_route_table(
                VpcId=net.vpc_id, TagSpecifications=_tagged(ctx, "route-table", name)
            )["RouteTable"]
            outcome = CREATED
        table_id = table["RouteTableId"]
        default = next(
            (r for r in table.get("Routes", []) if r.get("DestinationCidrBlock") == ANYWHERE), None
        )
        target_key, target = next(iter(route.items()))
        if default is None:
            ec2.create_route(RouteTableId=table_id, DestinationCidrBlock=ANYWHERE, **route)
            outcome = outcome if outcome == CREATED else UPDATED
        elif default.get(target_key) != target:
            ec2.replace_route(RouteTableId=table_id, DestinationCidrBlock=ANYWHERE, **route)
            outcome = UPDATED
        associated = {a.get("SubnetId") for a in table.get("Associations", [])}
        for subnet_id in subnet_ids:
            if subnet_id not in associated:
                ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)
                outcome = outcome if outcome == CREATED else UPDATED
    return ResourceState(ROUTE_TABLE_TYPE, name, outcome, detail)


def _route_tables(ctx: ProvisionContext, net: Network) -> list[ResourceState]:
    ec2 = ctx.client("ec2")
    spec = ctx.spec
    with aws_call(ROUTE_TABLE_TYPE, spec.vpc_name):
        # a new VPC holds only its main route table, which has no Name tag
        found = [] if net.new else ec2.describe_route_tables(Filters=_in_vpc(net.vpc_id))["RouteTables"]
    existing = {name_tag(t): t for t in found if name_tag(t)}
    public_ids = [net.subnets[p.name] for p in subnet_plan(spec) if p.public]
    states = [
        _route_table(
            ctx,
            net,
            existing,
            name=public_route_table_name(spec),
            route={"GatewayId": net.igw_id},
            subnet_ids=public_ids,
            detail="public subnets -> internet gateway",
        )
    ]
    for zone in spec.params.availability_zones:
        states.append(
            _route_table(
                ctx,
                net,
                existing,
                name=private_route_table_name(spec, zone),
                route={"NatGatewayId": net.nat_gateways[zone]},
                subnet_ids=[net.subnets[f"{spec.vpc_name}-private-{zone}"]],
                detail=f"private subnet {zone} -> its NAT gateway",
            )
        )
    return states


def flow_log_role_policies(spec: StackSpec, account_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(trust, inline policy) of the flow logs' delivery role (Terraform's ``aws_iam_role.flow_logs``)."""
    group_arn = (
        f"arn:{partition_of(spec.region)}:logs:{spec.region}:{account_id}:log-group:{flow_log_group(spec)}"
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DeliverFlowLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": f"{group_arn}:*",
            }
        ],
    }
    return trust, policy


def _flow_logs(ctx: ProvisionContext, net: Network) -> ResourceState:
    """Accepted and rejected traffic of the VPC to CloudWatch Logs, through its own role."""
    ec2, logs, iam = ctx.client("ec2"), ctx.client("logs"), ctx.client("iam")
    spec = ctx.spec
    group, role = flow_log_group(spec), flow_log_role(spec)
    name = f"{spec.vpc_name} flow logs"
    group_arn = f"arn:{partition_of(spec.region)}:logs:{spec.region}:{ctx.account_id}:log-group:{group}"
    trust, policy = flow_log_role_policies(spec, ctx.account_id)
    with aws_call(FLOW_LOG_TYPE, name):
        found = []
        if not net.new:
            where = [{"Name": "resource-id", "Values": [net.vpc_id]}]
            found = ec2.describe_flow_logs(Filters=where)["FlowLogs"]
        if found:
            return ResourceState(FLOW_LOG_TYPE, name, EXISTS, group)
        existing = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
        if not any(g["logGroupName"] == group for g in existing):
            logs.create_log_group(logGroupName=group, tags=ctx.tags)
        logs.put_retention_policy(logGroupName=group, retentionInDays=spec.params.log_retention_days)
        try:
            role_arn = iam.get_role(RoleName=role)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role_arn = iam.create_role(
                RoleName=role,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description="VPC flow logs delivery to CloudWatch Logs",
                Tags=tag_list(ctx.tags),
            )["Role"]["Arn"]
        iam.put_role_policy(RoleName=role, PolicyName=f"{role}-policy", PolicyDocument=json.dumps(policy))
        ec2.create_flow_logs(
            ResourceIds=[net.vpc_id],
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="cloud-watch-logs",
            LogDestination=group_arn,
            DeliverLogsPermissionArn=role_arn,
            TagSpecifications=[{"ResourceType": "vpc-flow-log", "Tags": tag_list(ctx.tags)}],
        )
    log.info("created flow logs of %s into %s", spec.vpc_name, group)
    return ResourceState(FLOW_LOG_TYPE, name, CREATED, group)


def provision_network(ctx: ProvisionContext) -> tuple[list[ResourceState], Network]:
    """VPC, subnets, internet gateway, NAT gateways, route tables (in that order)."""
    vpc_state, net = _vpc(ctx)
    states = [vpc_state]
    states += _subnets(ctx, net)
    states.append(_internet_gateway(ctx, net))
    states += _nat_gateways(ctx, net)
    states += _route_tables(ctx, net)
    states.append(_flow_logs(ctx, net))
    return states, net


def inventory_network(ctx: ProvisionContext) -> list[ResourceState]:
    spec = ctx.spec
    ec2 = ctx.client("ec2")
    zones = spec.params.availability_zones
    with aws_call(VPC_TYPE, spec.vpc_name):
        vpc = _find_vpc(ec2, spec.vpc_name)
        subnets: set[str] = set()
        nats: set[str] = set()
        tables: set[str] = set()
        has_igw = False
        has_flow_logs = False
        if vpc is not None:
            where = _in_vpc(vpc["VpcId"])
            subnets = {name_tag(s) for s in ec2.describe_subnets(Filters=where)["Subnets"]}
            live = [{"Name": "state", "Values": ["pending", "available"]}]
            found = ec2.describe_nat_gateways(Filters=where + live)["NatGateways"]
            nats = {name_tag(n) for n in found}
            tables = {name_tag(t) for t in ec2.describe_route_tables(Filters=where)["RouteTables"]}
            igws = ec2.describe_internet_gateways(
                Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}]
            )["InternetGateways"]
            has_igw = bool(igws)
            flows = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}])
            has_flow_logs = bool(flows["FlowLogs"])
    states = [control_plane(VPC_TYPE, spec.vpc_name, vpc is not None, spec.params.vpc_cidr)]
    for plan in subnet_plan(spec):
        detail = f"{plan.cidr}, {plan.zone}, {'public' if plan.public else 'private'}"
        states.append(control_plane(SUBNET_TYPE, plan.name, plan.name in subnets, detail))
    states.append(control_plane(IGW_TYPE, igw_name(spec), has_igw, spec.vpc_name))
    for zone in zones:
        name = nat_name(spec, zone)
        states.append(control_plane(NAT_TYPE, name, name in nats, f"{zone}, public subnet"))
    names = [public_route_table_name(spec)] + [private_route_table_name(spec, z) for z in zones]
    states += [control_plane(ROUTE_TABLE_TYPE, n, n in tables) for n in names]
    states.append(
        control_plane(FLOW_LOG_TYPE, f"{spec.vpc_name} flow logs", has_flow_logs, flow_log_group(spec))
    )
    return states
