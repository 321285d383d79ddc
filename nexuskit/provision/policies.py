"""IAM policy documents of spec §2.2, as pure functions of the stack spec and an account.

Nothing here calls AWS: the provisioner puts these documents on the roles, the Terraform
stack and the IAM-enforcement tests read the same functions, so there is one source for
who may do what. Every statement names real resource ARNs; ``"*"`` appears only where
AWS offers no resource-level permission (``bedrock:ListFoundationModels``,
``s3:ListAllMyBuckets``, ``glue:GetJobs``/``ListJobs``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from nexuskit.params import StackSpec
from nexuskit.provision.context import partition_of

PolicyDocument = dict[str, Any]

ROLE_KEYS = (
    "agent_irsa",
    "aws_mcp_irsa",
    "ui_irsa",
    "lambda_exec",
    "kinesis_bearer",
    "firehose",
    "eks_cluster",
    "eks_nodes",
)
# Kubernetes service account (namespace, name) bound to each IRSA role.
IRSA_SERVICE_ACCOUNTS = {
    "agent_irsa": ("nexus-agent-core", "agent-orchestrator"),
    "aws_mcp_irsa": ("nexus-mcp", "aws-mcp"),
    "ui_irsa": ("nexus-agent-core", "nexus-ui"),
}
OIDC_AUDIENCE = "sts.amazonaws.com"
# Thumbprint of the root CA behind every oidc.eks.<region>.amazonaws.com issuer.
EKS_OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
BEARER_MAX_SESSION_SECONDS = 3600
DEFAULT_MAX_SESSION_SECONDS = 3600
BEARER_TRUST_ACTIONS = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]

_MANAGED = {
    "eks_cluster": ["AmazonEKSClusterPolicy"],
    "eks_nodes": [
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
    ],
}
_DESCRIPTIONS = {
    "agent_irsa": "IRSA for nexus-agent-core/agent-orchestrator: Bedrock, streams, lake",
    "aws_mcp_irsa": "IRSA for nexus-mcp/aws-mcp: Bedrock, Glue jobs, lake buckets",
    "ui_irsa": "IRSA for nexus-agent-core/nexus-ui: read streams, describe deliveries and video",
    "lambda_exec": "Execution role of the auth Lambda: logs, signing key, assume bearer role",
    "kinesis_bearer": "Bearer-token role: client data stream, client video stream, client Firehose",
    "firehose": "Firehose delivery: read both data streams, write bronze, log delivery",
    "eks_cluster": "EKS control plane",
    "eks_nodes": "EKS managed node groups",
}


def oidc_issuer_host(spec: StackSpec) -> str:
    """``oidc.eks.REGION.amazonaws.com/id/<32 hex>``, derived from the prefix (stable)."""
    digest = hashlib.sha256(spec.prefix.encode()).hexdigest()[:32].upper()
    return f"oidc.eks.{spec.region}.amazonaws.com/id/{digest}"


@dataclass(frozen=True)
class StackArns:
    """ARNs of the stack's resources in one account."""

    spec: StackSpec
    account_id: str

    @property
    def partition(self) -> str:
        return partition_of(self.spec.region)

    def _arn(self, service: str, resource: str, region: bool = True) -> str:
        where = self.spec.region if region else ""
        return f"arn:{self.partition}:{service}:{where}:{self.account_id}:{resource}"

    def kinesis_stream(self, name: str) -> str:
        return self._arn("kinesis", f"stream/{name}")

    def video_stream(self, name: str) -> str:
        """Kinesis Video ARNs end in ``/<creation time>``; this matches any of them."""
        return self._arn("kinesisvideo", f"stream/{name}/*")

    def firehose(self, name: str) -> str:
        return self._arn("firehose", f"deliverystream/{name}")

    def bucket(self, name: str) -> str:
        return f"arn:{self.partition}:s3:::{name}"

    def objects(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}/*"

    def log_group(self, name: str) -> str:
        return self._arn("logs", f"log-group:{name}")

    def log_streams(self, group: str) -> str:
        return self._arn("logs", f"log-group:{group}:log-stream:*")

    def secret(self, name: str) -> str:
        """Secrets Manager appends six random characters to a secret's ARN."""
        return self._arn("secretsmanager", f"secret:{name}-??????")

    def role(self, key: str) -> str:
        return self._arn("iam", f"role/{self.spec.roles[key]}", region=False)

    def oidc_provider(self) -> str:
        return self._arn("iam", f"oidc-provider/{oidc_issuer_host(self.spec)}", region=False)

    def foundation_model(self, model_id: str) -> str:
        return f"arn:{self.partition}:bedrock:{self.spec.region}::foundation-model/{model_id}"

    def glue_jobs(self) -> str:
        return self._arn("glue", "job/*")


def _allow(sid: str, actions: list[str], resources: list[str] | str) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def _document(*statements: dict[str, Any]) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _service_trust(service: str, condition: dict[str, Any] | None = None) -> PolicyDocument:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return _document(statement)


def trust_policy(spec: StackSpec, account_id: str, role_key: str) -> PolicyDocument:
    """Who may assume the role ``spec.roles[role_key]``."""
    arns = StackArns(spec, account_id)
    if role_key in IRSA_SERVICE_ACCOUNTS:
        namespace, account = IRSA_SERVICE_ACCOUNTS[role_key]
        host = oidc_issuer_host(spec)
        return _document(
            {
                "Effect": "Allow",
                "Principal": {"Federated": arns.oidc_provider()},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{host}:sub": f"system:serviceaccount:{namespace}:{account}",
                        f"{host}:aud": OIDC_AUDIENCE,
                    }
                },
            }
        )
    if role_key == "lambda_exec":
        return _service_trust("lambda.amazonaws.com")
    if role_key == "kinesis_bearer":
        return _document(
            {
                "Effect": "Allow",
                "Principal": {"AWS": arns.role("lambda_exec")},
                "Action": list(BEARER_TRUST_ACTIONS),
            }
        )
    if role_key == "firehose":
        return _service_trust("firehose.amazonaws.com", {"StringEquals": {"sts:ExternalId": account_id}})
    if role_key == "eks_cluster":
        # EKS tags its sessions (EKS Auto Mode, Pod Identity); AWS's cluster role trust has both
        return _document(
            {
                "Effect": "Allow",
                "Principal": {"Service": "eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        )
    if role_key == "eks_nodes":
        return _service_trust("ec2.amazonaws.com")
    raise KeyError(role_key)


def _bedrock(spec: StackSpec, arns: StackArns) -> list[dict[str, Any]]:
    models = spec.params.bedrock_model_ids
    return [
        _allow(
            "BedrockInvoke",
            ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            [arns.foundation_model(m) for m in (models.reasoning, models.text, models.embedding)],
        ),
        _allow("BedrockList", ["bedrock:ListFoundationModels", "bedrock:GetFoundationModel"], "*"),
    ]


def _lake(spec: StackSpec, arns: StackArns, *bucket_actions: str) -> list[dict[str, Any]]:
    """Lake buckets and objects; ``bucket_actions`` are extra bucket-level reads of one role."""
    buckets = list(spec.buckets.values())
    return [
        _allow(
            "LakeBuckets",
            ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation", *bucket_actions],
            [arns.bucket(b) for b in buckets],
        ),
        _allow(
            "LakeObjects",
            [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
            ],
            [arns.objects(b) for b in buckets],
        ),
    ]


def role_policy(spec: StackSpec, account_id: str, role_key: str) -> PolicyDocument | None:
    """The inline policy of the role, or None for roles with managed policies only."""
    arns = StackArns(spec, account_id)
    streams = [arns.kinesis_stream(spec.primary_stream), arns.kinesis_stream(spec.client_stream)]
    if role_key == "agent_irsa":
        return _document(
            *_bedrock(spec, arns),
            _allow(
                "Streams",
                [
                    "kinesis:PutRecord",
                    "kinesis:PutRecords",
                    "kinesis:GetRecords",
                    "kinesis:GetShardIterator",
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:ListShards",
                ],
                streams,
            ),
            _allow(
                "Firehose",
                [
                    "firehose:PutRecord",
                    "firehose:PutRecordBatch",
                    "firehose:DescribeDeliveryStream",
                ],
                [arns.firehose(spec.primary_firehose), arns.firehose(spec.client_firehose)],
            ),
            _allow(
                "AgentState",
                [
                    "dynamodb:CreateTable",
                    "dynamodb:DescribeTable",
                    "dynamodb:UpdateTimeToLive",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                    "dynamodb:Scan",
                ],
                [
                    f"arn:aws:dynamodb:{spec.region}:{account_id}:table/{spec.prefix}-agent-runs",
                    f"arn:aws:dynamodb:{spec.region}:{account_id}:table/{spec.prefix}-agent-checkpoints",
                ],
            ),
            *_lake(spec, arns),
        )
    if role_key == "aws_mcp_irsa":
        return _document(
            *_bedrock(spec, arns),
            _allow(
                "GlueJobs",
                [
                    "glue:GetJob",
                    "glue:StartJobRun",
                    "glue:GetJobRun",
                    "glue:GetJobRuns",
                    "glue:BatchStopJobRun",
                ],
                arns.glue_jobs(),
            ),
            _allow("GlueList", ["glue:GetJobs", "glue:ListJobs"], "*"),
            _allow("S3ListAll", ["s3:ListAllMyBuckets"], "*"),
            _allow(
                "Dissemination",
                ["sns:CreateTopic", "sns:Publish", "sns:GetTopicAttributes"],
                f"arn:aws:sns:{spec.region}:{account_id}:{spec.prefix}-dissemination",
            ),
            # lake_inventory reports each tier's versioning (the UI's lake and mappings views)
            *_lake(spec, arns, "s3:GetBucketVersioning"),
        )
    if role_key == "ui_irsa":
        # nexus-ui is web-facing: it reads the two data streams live and describes the
        # deliveries and video streams (the mappings view); it reads the lake through aws-mcp.
        statements = [
            _allow(
                "ReadStreams",
                [
                    "kinesis:DescribeStreamSummary",
                    "kinesis:ListShards",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords",
                ],
                streams,
            ),
            _allow(
                "DescribeDeliveries",
                ["firehose:DescribeDeliveryStream"],
                [arns.firehose(spec.primary_firehose), arns.firehose(spec.client_firehose)],
            ),
        ]
        if spec.params.enable_video_streams:
            statements.append(
                _allow(
                    "DescribeVideoStreams",
                    ["kinesisvideo:DescribeStream"],
                    [
                        arns.video_stream(spec.telemetry_video_stream),
                        arns.video_stream(spec.client_telemetry_video_stream),
                    ],
                )
            )
        return _document(*statements)
    if role_key == "lambda_exec":
        group = spec.lambda_log_group
        return _document(
            _allow(
                "Logs",
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                [arns.log_group(group), arns.log_streams(group)],
            ),
            _allow(
                "SigningKey",
                ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                arns.secret(spec.token_signing_secret),
            ),
            _allow("AssumeBearer", list(BEARER_TRUST_ACTIONS), arns.role("kinesis_bearer")),
        )
    if role_key == "kinesis_bearer":
        statements = [
            _allow(
                "ClientStream",
                [
                    "kinesis:PutRecord",
                    "kinesis:PutRecords",
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:ListShards",
                ],
                arns.kinesis_stream(spec.client_stream),
            )
        ]
        if spec.params.enable_video_streams:
            statements.append(
                _allow(
                    "ClientVideoStream",
                    [
                        "kinesisvideo:PutMedia",
                        "kinesisvideo:GetDataEndpoint",
                        "kinesisvideo:DescribeStream",
                    ],
                    arns.video_stream(spec.client_telemetry_video_stream),
                )
            )
        statements.append(
            _allow(
                "ClientFirehose",
                ["firehose:PutRecord", "firehose:PutRecordBatch"],
                arns.firehose(spec.client_firehose),
            )
        )
        return _document(*statements)
    if role_key == "firehose":
        bronze = spec.buckets["bronze"]
        return _document(
            _allow(
                "ReadStreams",
                [
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords",
                    "kinesis:ListShards",
                ],
                streams,
            ),
            _allow(
                "WriteBronze",
                [
                    "s3:AbortMultipartUpload",
                    "s3:GetBucketLocation",
                    "s3:GetObject",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                    "s3:PutObject",
                ],
                [arns.bucket(bronze), arns.objects(bronze)],
            ),
            _allow(
                "DeliveryLogs",
                ["logs:PutLogEvents"],
                [
                    arns.log_streams(spec.primary_firehose_log_group),
                    arns.log_streams(spec.client_firehose_log_group),
                ],
            ),
        )
    if role_key in _MANAGED:
        return None
    raise KeyError(role_key)


#: who reads the token signing key: the auth Lambda's role and the key's admins
SIGNING_KEY_READ_ACTIONS = ["secretsmanager:GetSecretValue"]
#: who writes it (a key written by anyone else would sign tokens): the admins
SIGNING_KEY_WRITE_ACTIONS = ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"]


def _deny_all_but(sid: str, actions: list[str], principal_arns: list[str]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions,
        "Resource": "*",
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": principal_arns}},
    }


def signing_key_resource_policy(spec: StackSpec, account_id: str, admins: list[str]) -> PolicyDocument:
    """The signing secret's resource policy: explicit denies, so no identity policy of any
    role (a stray ``secretsmanager:*`` on ``*``) reaches the key. Only the auth Lambda's
    execution role and ``admins`` read it; only ``admins`` write it. Terraform's
    ``aws_iam_policy_document.token_signing`` (modules/edge) has the same statements."""
    readers = [StackArns(spec, account_id).role("lambda_exec"), *admins]
    return _document(
        _deny_all_but("OnlyTheAuthFunctionReadsTheKey", list(SIGNING_KEY_READ_ACTIONS), readers),
        _deny_all_but("OnlyAdminsWriteTheKey", list(SIGNING_KEY_WRITE_ACTIONS), list(admins)),
    )


def role_policy_name(spec: StackSpec, role_key: str) -> str:
    return f"{spec.roles[role_key]}-policy"


def managed_policy_arns(spec: StackSpec, role_key: str) -> list[str]:
    """AWS-managed policies attached to the role (the EKS roles only)."""
    partition = partition_of(spec.region)
    return [f"arn:{partition}:iam::aws:policy/{name}" for name in _MANAGED.get(role_key, [])]


@dataclass(frozen=True)
class RoleDefinition:
    """Everything that defines one IAM role of the stack."""

    key: str
    name: str
    arn: str
    description: str
    trust_policy: PolicyDocument
    policy_name: str
    policy: PolicyDocument | None
    managed_policy_arns: list[str]
    max_session_seconds: int


def role_definitions(spec: StackSpec, account_id: str) -> list[RoleDefinition]:
    """The stack's roles in creation order (the Lambda role before the bearer role)."""
    arns = StackArns(spec, account_id)
    return [
        RoleDefinition(
            key=key,
            name=spec.roles[key],
            arn=arns.role(key),
            description=_DESCRIPTIONS[key],
            trust_policy=trust_policy(spec, account_id, key),
            policy_name=role_policy_name(spec, key),
            policy=role_policy(spec, account_id, key),
            managed_policy_arns=managed_policy_arns(spec, key),
            max_session_seconds=(
                BEARER_MAX_SESSION_SECONDS if key == "kinesis_bearer" else DEFAULT_MAX_SESSION_SECONDS
            ),
        )
        for key in ROLE_KEYS
    ]
