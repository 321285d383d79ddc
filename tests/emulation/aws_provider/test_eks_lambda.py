"""EKS and Lambda as the Terraform AWS provider reads them back."""

from __future__ import annotations

from typing import Any

from tests.emulation.aws_provider.support import python_zip, trust


def _network(aws: Any) -> tuple[str, list[str]]:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{n}.0/24", AvailabilityZone=f"us-west-2{zone}")[
            "Subnet"
        ]["SubnetId"]
        for n, zone in ((1, "a"), (2, "b"))
    ]
    return vpc, subnets


def _role(aws: Any, name: str, service: str) -> str:
    return str(
        aws("iam").create_role(RoleName=name, AssumeRolePolicyDocument=trust({"Service": service}))["Role"][
            "Arn"
        ]
    )


def test_cluster_answers_its_access_config(aws: Any) -> None:
    """DescribeCluster has the accessConfig asked for at creation (and AWS's defaults otherwise)."""
    eks = aws("eks")
    vpc, subnets = _network(aws)
    role = _role(aws, "eks-access-fidelity", "eks.amazonaws.com")
    created = eks.create_cluster(
        name="access-fidelity",
        roleArn=role,
        resourcesVpcConfig={"subnetIds": subnets},
        accessConfig={"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True},
    )["cluster"]
    expected = {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}
    assert created["accessConfig"] == expected
    cluster = eks.describe_cluster(name="access-fidelity")["cluster"]
    assert cluster["accessConfig"] == expected
    assert cluster["resourcesVpcConfig"]["vpcId"] == vpc
    assert cluster["upgradePolicy"] == {"supportType": "EXTENDED"}
    eks.create_cluster(name="default-fidelity", roleArn=role, resourcesVpcConfig={"subnetIds": subnets})
    defaults = eks.describe_cluster(name="default-fidelity")["cluster"]["accessConfig"]
    assert defaults == {"authenticationMode": "CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": True}


def test_node_group_has_no_remote_access_it_was_not_given(aws: Any) -> None:
    """A node group created without remoteAccess has none (no ec2SshKey) and AWS's updateConfig."""
    eks = aws("eks")
    _, subnets = _network(aws)
    eks.create_cluster(
        name="nodes-fidelity",
        roleArn=_role(aws, "eks-nodes-cluster", "eks.amazonaws.com"),
        resourcesVpcConfig={"subnetIds": subnets},
    )
    node_role = _role(aws, "eks-nodes-fidelity", "ec2.amazonaws.com")
    eks.create_nodegroup(
        clusterName="nodes-fidelity", nodegroupName="general", subnets=subnets, nodeRole=node_role
    )
    group = eks.describe_nodegroup(clusterName="nodes-fidelity", nodegroupName="general")["nodegroup"]
    assert "remoteAccess" not in group
    assert group["updateConfig"] == {"maxUnavailable": 1}
    eks.create_nodegroup(
        clusterName="nodes-fidelity",
        nodegroupName="ssh",
        subnets=subnets,
        nodeRole=node_role,
        remoteAccess={"ec2SshKey": "ops"},
        updateConfig={"maxUnavailablePercentage": 25},
    )
    group = eks.describe_nodegroup(clusterName="nodes-fidelity", nodegroupName="ssh")["nodegroup"]
    assert group["remoteAccess"]["ec2SshKey"] == "ops"
    assert group["updateConfig"] == {"maxUnavailablePercentage": 25}


def test_function_answers_its_logging_config(aws: Any) -> None:
    """GetFunction has the LoggingConfig given at creation, AWS's default before, and updates."""
    awslambda = aws("lambda")
    role = _role(aws, "fn-logging-fidelity", "lambda.amazonaws.com")
    spec = {
        "Runtime": "python3.12",
        "Role": role,
        "Handler": "handler.handler",
        "Code": {"ZipFile": python_zip()},
    }
    awslambda.create_function(FunctionName="plain-fidelity", **spec)
    default = awslambda.get_function(FunctionName="plain-fidelity")["Configuration"]["LoggingConfig"]
    assert default == {"LogFormat": "Text", "LogGroup": "/aws/lambda/plain-fidelity"}
    created = awslambda.create_function(
        FunctionName="logged-fidelity", LoggingConfig={"LogFormat": "Text", "LogGroup": "/nexus/auth"}, **spec
    )
    assert created["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/nexus/auth"}
    configuration = awslambda.get_function(FunctionName="logged-fidelity")["Configuration"]
    assert configuration["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/nexus/auth"}
    awslambda.get_waiter("function_active_v2").wait(FunctionName="logged-fidelity")
    awslambda.update_function_configuration(
        FunctionName="logged-fidelity", LoggingConfig={"LogFormat": "JSON"}
    )
    updated = awslambda.get_function_configuration(FunctionName="logged-fidelity")["LoggingConfig"]
    assert updated == {
        "LogFormat": "JSON",
        "LogGroup": "/nexus/auth",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
    }
