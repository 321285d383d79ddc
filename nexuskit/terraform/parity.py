"""Runtime parity: describe a provisioned stack through the AWS APIs, and diff two of them.

The two provisioners (the embedded one, :mod:`nexuskit.provision`, and the real terraform of
``stacks/platform``) must build the same stack. :func:`describe_stack` asks the target, with
ordinary boto3 describe/get/list calls, what it holds for every resource of the stack: streams
and their shards, retention, encryption and tags; video streams; Firehose sources, buffering,
prefixes and compression; buckets with versioning, encryption, public access block, policy,
lifecycle, ownership, notifications and tags; IAM roles with trust, inline and managed
policies; the OIDC provider; the auth Lambda's configuration; the HTTP API's routes,
integrations and stages; log groups; the network with its subnets, NAT gateways, route tables
and flow logs; the EKS cluster and node groups; the signing secret's policy; Lake Formation
admins, registrations and grants; the Glue databases and the medallion jobs (name, role,
command, Python version, default arguments but the per-run ones, capacity); the DynamoDB tables.

The description is plain JSON keyed by resource names, normalised only where two correct
stacks legitimately differ (each normalisation says why). :func:`diff_descriptions` lists
every difference as ``path: left=... right=...`` lines; ``nexuskit tf parity --local`` prints
them for a Terraform-made stack against a fresh embedded one.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from nexuskit.aws import AwsTarget
from nexuskit.params import TIERS, StackSpec

if TYPE_CHECKING:
    from nexuskit.config import KitSettings

log = logging.getLogger(__name__)

Description = dict[str, Any]

# -- normalisation -------------------------------------------------------------------------------
# Secrets Manager appends six random characters to a secret's ARN.
_SECRET_SUFFIX = re.compile(r"(:secret:[^\"]+?)-[A-Za-z0-9]{6}\b")
# Kinesis Video stream ARNs end in /<creation time in ms>. Terraform names the one it got; the
# embedded provisioner writes its policies before the stream exists and names any (``/*``):
# both allow exactly that stream.
_VIDEO_CREATED = re.compile(r"(:kinesisvideo:[^\"]+?:stream/[^/\"]+)/(\d+|\*)")
# An HTTP API's AWS_PROXY integration takes the function's ARN or its invoke ARN
# (arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations):
# both call the same function, and API Gateway answers with what it was given.
_INVOKE_ARN = re.compile(
    r"^arn:[\w-]+:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/(.+)/invocations$"
)
# API Gateway assigns each API a random ID (10 characters in AWS, 8 in the engine).
_API_ID = re.compile(r"(:execute-api:[^:\"]+:\d+:)[a-z0-9]+")
# EKS assigns each cluster's OIDC issuer a random ID; the name in the path is the ARN's.
_OIDC_ID = re.compile(r"(oidc\.eks\.[a-z0-9-]+\.amazonaws\.com/id/)[A-Za-z0-9]+")


def normalise_text(text: str) -> str:
    """Replace the parts of ARNs and URLs that AWS (or the engine) picks at random."""
    text = _SECRET_SUFFIX.sub(r"\1-??????", text)
    text = _VIDEO_CREATED.sub(r"\1/<created>", text)
    text = _API_ID.sub(r"\1<api-id>", text)
    text = _INVOKE_ARN.sub(r"\1", text)
    return _OIDC_ID.sub(r"\1<issuer-id>", text)


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, dict):  # keys too: IRSA trust conditions are keyed by the issuer
        return {normalise_text(str(key)): _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    return value


def canonical_policy(document: Any) -> Any:
    """A policy in a form where equal meaning compares equal: one-item lists are scalars,
    lists are sorted, ``Sid``s dropped (Terraform's ``aws_iam_policy_document`` and JSON
    written by hand name the same statements differently only in layout)."""
    if document is None:
        return None
    if isinstance(document, str):
        document = json.loads(unquote(document))
    return _canonical(_normalise(document))


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in sorted(value.items()) if key != "Sid"}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def _tags(items: list[dict[str, str]] | dict[str, str] | None, key: str = "Key", value: str = "Value") -> Any:
    if isinstance(items, dict):
        return dict(sorted(items.items()))
    return dict(sorted((t[key], t[value]) for t in items or []))


def _call(call: Callable[..., Any], *missing: str, **kwargs: Any) -> Any:
    """``call(**kwargs)``, or None when AWS answers one of the ``missing`` error codes."""
    try:
        return call(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in missing:
            return None
        raise


# -- the sections ----------------------------------------------------------------------------------
class StackDescriber:
    """Describe the resources of ``spec`` on ``target`` (see the module docstring)."""

    def __init__(self, spec: StackSpec, target: AwsTarget) -> None:
        self.spec = spec
        self.target = target
        self.prefix = spec.prefix

    def client(self, service: str) -> Any:
        return self.target.client(service)

    def describe(self) -> Description:
        sections: dict[str, Callable[[], Any]] = {
            "kinesis_streams": self.kinesis_streams,
            "video_streams": self.video_streams,
            "firehose": self.firehose,
            "buckets": self.buckets,
            "iam_roles": self.iam_roles,
            "oidc_providers": self.oidc_providers,
            "lambda": self.lambda_functions,
            "http_api": self.http_api,
            "log_groups": self.log_groups,
            "secrets": self.secrets,
            "network": self.network,
            "eks": self.eks,
            "lake_formation": self.lake_formation,
            "glue": self.glue,
            "dynamodb": self.dynamodb,
        }
        return {name: section() for name, section in sections.items()}

    # streams -------------------------------------------------------------------------------------
    def kinesis_streams(self) -> Description:
        kinesis = self.client("kinesis")
        found: Description = {}
        for name in kinesis.list_streams().get("StreamNames", []):
            if not name.startswith(self.prefix):
                continue
            summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
            tags = kinesis.list_tags_for_stream(StreamName=name).get("Tags", [])
            found[name] = {
                "status": summary["StreamStatus"],
                "open_shards": summary.get("OpenShardCount"),
                "retention_hours": summary.get("RetentionPeriodHours"),
                "mode": summary.get("StreamModeDetails", {}).get("StreamMode"),
                "encryption": summary.get("EncryptionType", "NONE"),
                "kms_key": summary.get("KeyId"),
                "tags": _tags(tags),
            }
        return found

    def video_streams(self) -> Description:
        kv = self.client("kinesisvideo")
        found: Description = {}
        for stream in kv.list_streams().get("StreamInfoList", []):
            name = stream["StreamName"]
            if not name.startswith(self.prefix):
                continue
            tags = kv.list_tags_for_stream(StreamName=name).get("Tags", {})
            found[name] = {
                "status": stream.get("Status"),
                "retention_hours": stream.get("DataRetentionInHours"),
                "media_type": stream.get("MediaType"),
                "tags": _tags(tags),
            }
        return found

    def firehose(self) -> Description:
        client = self.client("firehose")
        found: Description = {}
        for name in client.list_delivery_streams(Limit=10000).get("DeliveryStreamNames", []):
            if not name.startswith(self.prefix):
                continue
            doc = client.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
            source = doc.get("Source", {}).get("KinesisStreamSourceDescription", {})
            destination = doc["Destinations"][0].get("ExtendedS3DestinationDescription", {})
            tags = client.list_tags_for_delivery_stream(DeliveryStreamName=name).get("Tags", [])
            found[name] = _normalise(
                {
                    "type": doc.get("DeliveryStreamType"),
                    "status": doc.get("DeliveryStreamStatus"),
                    "encryption": doc.get("DeliveryStreamEncryptionConfiguration", {}).get(
                        "Status", "DISABLED"
                    ),
                    "source_stream": source.get("KinesisStreamARN"),
                    "source_role": source.get("RoleARN"),
                    "role": destination.get("RoleARN"),
                    "bucket": destination.get("BucketARN"),
                    # AWS leaves an empty prefix out of the description
                    "prefix": destination.get("Prefix", ""),
                    "error_prefix": destination.get("ErrorOutputPrefix", ""),
                    "buffering": destination.get("BufferingHints"),
                    "compression": destination.get("CompressionFormat"),
                    "logging": destination.get("CloudWatchLoggingOptions"),
                    "tags": _tags(tags),
                }
            )
        return found

    # buckets -------------------------------------------------------------------------------------
    def buckets(self) -> Description:
        s3 = self.client("s3")
        found: Description = {}
        for bucket in s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            if name.startswith(self.prefix):
                found[name] = self.bucket(s3, name)
        return found

    def bucket(self, s3: Any, name: str) -> Description:
        missing_policy = ("NoSuchBucketPolicy",)
        encryption = _call(
            s3.get_bucket_encryption, "ServerSideEncryptionConfigurationNotFoundError", Bucket=name
        )
        block = _call(s3.get_public_access_block, "NoSuchPublicAccessBlockConfiguration", Bucket=name)
        policy = _call(s3.get_bucket_policy, *missing_policy, Bucket=name)
        lifecycle = _call(s3.get_bucket_lifecycle_configuration, "NoSuchLifecycleConfiguration", Bucket=name)
        tagging = _call(s3.get_bucket_tagging, "NoSuchTagSet", Bucket=name)
        ownership = _call(s3.get_bucket_ownership_controls, "OwnershipControlsNotFoundError", Bucket=name)
        notification = s3.get_bucket_notification_configuration(Bucket=name)
        notification.pop("ResponseMetadata", None)
        rules = sorted((lifecycle or {}).get("Rules", []), key=lambda r: str(r.get("ID")))
        return {
            "versioning": s3.get_bucket_versioning(Bucket=name).get("Status", "Disabled"),
            "encryption": [
                r.get("ApplyServerSideEncryptionByDefault")
                for r in (encryption or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
            ],
            "public_access_block": (block or {}).get("PublicAccessBlockConfiguration"),
            "policy": canonical_policy((policy or {}).get("Policy")),
            "lifecycle": rules,
            "ownership": [
                r.get("ObjectOwnership")
                for r in (ownership or {}).get("OwnershipControls", {}).get("Rules", [])
            ],
            "notification": notification,
            "tags": _tags((tagging or {}).get("TagSet")),
        }

    # identity ------------------------------------------------------------------------------------
    def iam_roles(self) -> Description:
        iam = self.client("iam")
        found: Description = {}
        for page in iam.get_paginator("list_roles").paginate():
            for role in page["Roles"]:
                name = role["RoleName"]
                if not name.startswith(self.prefix):
                    continue
                full = iam.get_role(RoleName=name)["Role"]
                inline = {
                    policy: canonical_policy(
                        iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                    )
                    for policy in iam.list_role_policies(RoleName=name).get("PolicyNames", [])
                }
                managed = sorted(
                    p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
                )
                found[name] = {
                    "description": full.get("Description", ""),
                    "trust": canonical_policy(full.get("AssumeRolePolicyDocument")),
                    "max_session_seconds": full.get("MaxSessionDuration"),
                    "inline": inline,
                    "managed": managed,
                    "tags": _tags(iam.list_role_tags(RoleName=name).get("Tags", [])),
                }
        return found

    def oidc_providers(self) -> Description:
        iam = self.client("iam")
        found: Description = {}
        for provider in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
            doc = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider["Arn"])
            # Thumbprints are left out: IAM trusts the EKS issuers through its own root CAs
            # (since 2023 it ignores the list for them), and Terraform lets IAM fill it in.
            found[normalise_text(provider["Arn"])] = {"audiences": sorted(doc.get("ClientIDList", []))}
        return found

    # edge ----------------------------------------------------------------------------------------
    def lambda_functions(self) -> Description:
        client = self.client("lambda")
        found: Description = {}
        for page in client.get_paginator("list_functions").paginate():
            for function in page["Functions"]:
                name = function["FunctionName"]
                if not name.startswith(self.prefix):
                    continue
                config = client.get_function_configuration(FunctionName=name)
                concurrency = client.get_function_concurrency(FunctionName=name)
                policy = _call(client.get_policy, "ResourceNotFoundException", FunctionName=name)
                found[name] = _normalise(
                    {
                        "runtime": config.get("Runtime"),
                        "handler": config.get("Handler"),
                        "architectures": config.get("Architectures"),
                        "memory": config.get("MemorySize"),
                        "timeout": config.get("Timeout"),
                        "role": config.get("Role"),
                        "environment": config.get("Environment", {}).get("Variables", {}),
                        "logging": config.get("LoggingConfig"),
                        "layers": [layer["Arn"] for layer in config.get("Layers", [])],
                        "reserved_concurrency": concurrency.get("ReservedConcurrentExecutions"),
                        "resource_policy": canonical_policy((policy or {}).get("Policy")),
                    }
                )
        return found

    def http_api(self) -> Description:
        client = self.client("apigatewayv2")
        found: Description = {}
        for api in client.get_apis().get("Items", []):
            name = api["Name"]
            if not name.startswith(self.prefix):
                continue
            api_id = api["ApiId"]
            integrations = {
                i["IntegrationId"]: i for i in client.get_integrations(ApiId=api_id).get("Items", [])
            }
            routes = {}
            for route in client.get_routes(ApiId=api_id).get("Items", []):
                target = route.get("Target", "")
                # integration IDs are random: a route is compared by what its integration calls
                integration = integrations.get(target.removeprefix("integrations/"), {})
                routes[route["RouteKey"]] = {
                    "authorization": route.get("AuthorizationType"),
                    "integration": {
                        "type": integration.get("IntegrationType"),
                        "method": integration.get("IntegrationMethod"),
                        "uri": normalise_text(str(integration.get("IntegrationUri", ""))),
                        "payload_format": integration.get("PayloadFormatVersion"),
                        "timeout_ms": integration.get("TimeoutInMillis"),
                    },
                }
            stages = {}
            for stage in client.get_stages(ApiId=api_id).get("Items", []):
                logs = stage.get("AccessLogSettings") or {}
                stages[stage["StageName"]] = _normalise(
                    {
                        "auto_deploy": stage.get("AutoDeploy", False),
                        "default_route_settings": stage.get("DefaultRouteSettings"),
                        "access_log_destination": logs.get("DestinationArn"),
                        "access_log_format": json.loads(logs["Format"]) if logs.get("Format") else None,
                    }
                )
            found[name] = {
                "protocol": api.get("ProtocolType"),
                "description": api.get("Description", ""),
                "cors": api.get("CorsConfiguration"),
                "routes": routes,
                "stages": stages,
                "tags": _tags(api.get("Tags")),
            }
        return found

    # observability ---------------------------------------------------------------------------------
    def log_groups(self) -> Description:
        logs = self.client("logs")
        found: Description = {}
        for page in logs.get_paginator("describe_log_groups").paginate():
            for group in page["logGroups"]:
                name = group["logGroupName"]
                if self.prefix not in name:
                    continue
                streams = logs.describe_log_streams(logGroupName=name).get("logStreams", [])
                found[name] = {
                    "retention_days": group.get("retentionInDays"),
                    "kms_key": group.get("kmsKeyId"),
                    # streams written at run time (Lambda invocations, deliveries) are not provisioning
                    "provisioned_streams": sorted(
                        s["logStreamName"] for s in streams if s["logStreamName"] == "DestinationDelivery"
                    ),
                }
        return found

    def secrets(self) -> Description:
        client = self.client("secretsmanager")
        found: Description = {}
        for page in client.get_paginator("list_secrets").paginate():
            for secret in page["SecretList"]:
                name = secret["Name"]
                if not name.startswith(self.prefix):
                    continue
                policy = client.get_resource_policy(SecretId=name).get("ResourcePolicy")
                found[name] = {
                    "description": secret.get("Description", ""),
                    "policy": canonical_policy(policy),
                    "tags": _tags(secret.get("Tags")),
                }
        return found

    # network and cluster ------------------------------------------------------------------------------
    def network(self) -> Description:
        if not self.spec.params.enable_eks:
            return {}
        ec2 = self.client("ec2")
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [self.spec.vpc_name]}])["Vpcs"]
        if not vpcs:
            return {"vpc": None}
        vpc = vpcs[0]
        where = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
        names = {
            s["SubnetId"]: _name(s) for s in ec2.describe_subnets(Filters=where)["Subnets"]
        }  # IDs are random: everything is keyed and linked by Name tag
        subnets = {
            _name(s): {
                "cidr": s["CidrBlock"],
                "zone": s["AvailabilityZone"],
                "public_ip_on_launch": s.get("MapPublicIpOnLaunch", False),
                "tags": _tags(s.get("Tags")),
            }
            for s in ec2.describe_subnets(Filters=where)["Subnets"]
        }
        live = [{"Name": "state", "Values": ["pending", "available"]}]
        nats = {
            _name(n): {"subnet": names.get(n["SubnetId"])}
            for n in ec2.describe_nat_gateways(Filters=where + live)["NatGateways"]
        }
        nat_names = {
            n["NatGatewayId"]: _name(n) for n in ec2.describe_nat_gateways(Filters=where)["NatGateways"]
        }
        tables = {}
        for table in ec2.describe_route_tables(Filters=where)["RouteTables"]:
            if any(a.get("Main") for a in table.get("Associations", [])) and not _name(table):
                continue  # the VPC's main route table: AWS makes it with the VPC
            routes = {}
            for route in table.get("Routes", []):
                if route.get("GatewayId") == "local":
                    continue
                via = nat_names.get(route.get("NatGatewayId", "")) or (
                    "internet gateway" if str(route.get("GatewayId", "")).startswith("igw-") else None
                )
                routes[route.get("DestinationCidrBlock", "")] = via
            tables[_name(table)] = {
                "routes": routes,
                "subnets": sorted(
                    names.get(a.get("SubnetId", ""), "") for a in table["Associations"] if a.get("SubnetId")
                ),
            }
        igws = ec2.describe_internet_gateways(
            Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}]
        )
        flow_logs = [
            {
                "traffic_type": f.get("TrafficType"),
                "destination_type": f.get("LogDestinationType"),
                "destination": f.get("LogDestination") or f.get("LogGroupName"),
                "role": f.get("DeliverLogsPermissionArn"),
            }
            for f in ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}])[
                "FlowLogs"
            ]
        ]
        attributes = {
            key: ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attr)[key]["Value"]
            for key, attr in (
                ("EnableDnsSupport", "enableDnsSupport"),
                ("EnableDnsHostnames", "enableDnsHostnames"),
            )
        }
        return {
            "vpc": {"cidr": vpc["CidrBlock"], **attributes, "tags": _tags(vpc.get("Tags"))},
            "subnets": subnets,
            "internet_gateways": sorted(_name(g) for g in igws["InternetGateways"]),
            "nat_gateways": nats,
            "route_tables": tables,
            "flow_logs": flow_logs,
        }

    def eks(self) -> Description:
        if not self.spec.params.enable_eks:
            return {}
        eks = self.client("eks")
        cluster = _call(eks.describe_cluster, "ResourceNotFoundException", name=self.spec.cluster_name)
        if cluster is None:
            return {"cluster": None}
        doc = cluster["cluster"]
        groups = {}
        for group in eks.list_nodegroups(clusterName=self.spec.cluster_name).get("nodegroups", []):
            ng = eks.describe_nodegroup(clusterName=self.spec.cluster_name, nodegroupName=group)["nodegroup"]
            groups[group] = {
                "instance_types": ng.get("instanceTypes"),
                "scaling": ng.get("scalingConfig"),
                "labels": ng.get("labels", {}),
                "taints": ng.get("taints", []),
                "role": ng.get("nodeRole"),
            }
        return {
            "cluster": {
                "version": doc.get("version"),
                "role": doc.get("roleArn"),
                "endpoint_public": doc.get("resourcesVpcConfig", {}).get("endpointPublicAccess"),
                "endpoint_private": doc.get("resourcesVpcConfig", {}).get("endpointPrivateAccess"),
                # enabled log types only (AWS lists the disabled ones in a second entry, or not)
                "logging": sorted(
                    kind
                    for entry in doc.get("logging", {}).get("clusterLogging", [])
                    if entry.get("enabled")
                    for kind in entry.get("types", [])
                ),
            },
            "node_groups": groups,
        }

    # lake ---------------------------------------------------------------------------------------------
    def lake_formation(self) -> Description:
        if not self.spec.params.enable_lake_formation:
            return {}
        lf = self.client("lakeformation")
        settings = lf.get_data_lake_settings()["DataLakeSettings"]
        buckets = {f"arn:aws:s3:::{self.spec.bucket(tier)}" for tier in TIERS}
        registered = sorted(
            r["ResourceArn"]
            for r in lf.list_resources().get("ResourceInfoList", [])
            if r["ResourceArn"] in buckets
        )
        grants: dict[str, set[str]] = {}
        kwargs: dict[str, Any] = {}
        databases = {f"{self.prefix.replace('-', '_')}_{tier}" for tier in TIERS}
        while True:
            page = lf.list_permissions(**kwargs)
            for grant in page.get("PrincipalResourcePermissions", []):
                resource = _strip_catalog(grant.get("Resource", {}))
                if not _lake_resource(resource, databases, buckets):
                    continue
                principal = grant.get("Principal", {}).get("DataLakePrincipalIdentifier", "")
                key = f"{principal} {json.dumps(resource, sort_keys=True)}"
                grants.setdefault(key, set()).update(grant.get("Permissions", []))
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        return {
            "admins": sorted(a["DataLakePrincipalIdentifier"] for a in settings.get("DataLakeAdmins", [])),
            "create_database_default_permissions": settings.get("CreateDatabaseDefaultPermissions", []),
            "create_table_default_permissions": settings.get("CreateTableDefaultPermissions", []),
            "registered": registered,
            "grants": {key: sorted(perms) for key, perms in sorted(grants.items())},
        }

    def glue(self) -> Description:
        from nexuskit.lake.glue import PER_RUN_ARGUMENTS

        glue = self.client("glue")
        prefix = self.prefix.replace("-", "_")
        databases = {
            d["Name"]: {"location": d.get("LocationUri"), "description": d.get("Description", "")}
            for d in glue.get_databases().get("DatabaseList", [])
            if d["Name"].startswith(prefix)
        }
        jobs = {}
        for name in glue.list_jobs().get("JobNames", []):
            if not name.startswith(self.prefix):
                continue
            job = glue.get_job(JobName=name)["Job"]
            jobs[name] = {
                "role": job.get("Role"),
                "command": job.get("Command"),
                # what `lake promote --glue` sets per run (Terraform ignores their drift)
                "default_arguments": {
                    k: v for k, v in job.get("DefaultArguments", {}).items() if k not in PER_RUN_ARGUMENTS
                },
                "max_concurrent_runs": job.get("ExecutionProperty", {}).get("MaxConcurrentRuns"),
                "max_capacity": job.get("MaxCapacity"),
                "timeout": job.get("Timeout"),
                "glue_version": job.get("GlueVersion"),
                "description": job.get("Description", ""),
            }
        return {"databases": databases, "jobs": jobs}

    def dynamodb(self) -> Description:
        client = self.client("dynamodb")
        found: Description = {}
        for name in client.list_tables().get("TableNames", []):
            if not name.startswith(self.prefix):
                continue
            table = client.describe_table(TableName=name)["Table"]
            ttl = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
            found[name] = {
                "key_schema": table.get("KeySchema"),
                "attributes": sorted(table.get("AttributeDefinitions", []), key=lambda a: a["AttributeName"]),
                "billing": table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
                "ttl": {"status": ttl.get("TimeToLiveStatus"), "attribute": ttl.get("AttributeName")},
                "encryption": table.get("SSEDescription", {}).get("SSEType"),
            }
        return found


def _name(resource: dict[str, Any]) -> str:
    return next((t["Value"] for t in resource.get("Tags", []) if t["Key"] == "Name"), "")


def _strip_catalog(value: Any) -> Any:
    # the catalog ID is the account in both stacks; some callers name it, some leave it out
    if isinstance(value, dict):
        return {k: _strip_catalog(v) for k, v in value.items() if k != "CatalogId"}
    return value


def _lake_resource(resource: dict[str, Any], databases: set[str], buckets: set[str]) -> bool:
    if "Table" in resource:
        return resource["Table"].get("DatabaseName") in databases
    if "Database" in resource:
        return resource["Database"].get("Name") in databases
    if "DataLocation" in resource:
        return resource["DataLocation"].get("ResourceArn") in buckets
    return False


def describe_stack(spec: StackSpec, target: AwsTarget) -> Description:
    """Every resource of the stack as the target describes it (normalised JSON)."""
    return StackDescriber(spec, target).describe()


def diff_descriptions(left: Any, right: Any, names: tuple[str, str] = ("terraform", "embedded")) -> list[str]:
    """``path: terraform=... embedded=...`` for every leaf where the two descriptions differ."""
    lines: list[str] = []
    _diff(left, right, "", names, lines)
    return lines


_ABSENT = object()


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value, sort_keys=True, default=str)


def _diff(left: Any, right: Any, path: str, names: tuple[str, str], lines: list[str]) -> None:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right), key=str):
            _diff(
                left.get(key, _ABSENT),
                right.get(key, _ABSENT),
                f"{path}.{key}" if path else str(key),
                names,
                lines,
            )
        return
    if left != right:
        lines.append(f"{path}: {names[0]}={_show(left)} {names[1]}={_show(right)}")


@dataclass
class ParityReport:
    """The running stack against a fresh embedded one: every difference, one line each."""

    env: str
    differences: list[str]
    described: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "ok": self.ok,
            "differences": self.differences,
            "described": self.described,
        }


def compare_with_embedded(settings: KitSettings) -> ParityReport:
    """``nexuskit tf parity --local``: describe the running stack of ``settings`` (typically
    made by ``up --provisioner terraform``) and a fresh one the embedded provisioner builds
    from the same parameters on a scratch engine (free port, state in a temporary folder
    under the state dir, no control plane; stopped and wiped afterwards), and diff them."""
    from nexuskit import lifecycle
    from nexuskit.engine import EmbeddedEngine, free_stack_port
    from nexuskit.errors import EngineError

    spec = settings.stack()
    engine = EmbeddedEngine(settings)
    if not engine.is_running():
        raise EngineError(
            f"no engine answers on {settings.endpoint}", "start the stack first: nexuskit up --local"
        )
    running = describe_stack(spec, engine.target(spec.region))
    folder = settings.resolved_state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="parity-", dir=folder) as scratch_dir:
        scratch = settings.model_copy(
            update={
                "port": free_stack_port(),
                "state_dir": Path(scratch_dir),
                "provisioner": "embedded",
                "control_plane": False,
            }
        )
        log.info("parity: embedded stack on a scratch engine at %s", scratch.endpoint)
        try:
            lifecycle.up(scratch)
            embedded = describe_stack(spec, EmbeddedEngine(scratch).target(spec.region))
        finally:
            lifecycle.down(scratch, purge=True)
    return ParityReport(
        env=settings.env,
        differences=diff_descriptions(running, embedded, names=("running", "embedded")),
        described={section: len(items or {}) for section, items in running.items()},
    )
