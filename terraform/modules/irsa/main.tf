# IAM roles for service accounts (spec §2.2). Each role trusts exactly one Kubernetes
# service account through the cluster's OIDC provider: the token's `sub` must be
# system:serviceaccount:NAMESPACE:NAME and its `aud` must be sts.amazonaws.com.
# The statements (Sid and actions) mirror nexuskit/provision/policies.py, which the
# embedded engine enforces locally; tests/terraform checks that the two agree.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition     = data.aws_partition.current.partition
  account_id    = data.aws_caller_identity.current.account_id
  oidc_host     = replace(var.oidc_issuer_url, "https://", "")
  oidc_audience = "sts.amazonaws.com"

  bedrock_model_arns = [
    for model_id in var.bedrock_model_ids :
    "arn:${local.partition}:bedrock:${var.region}::foundation-model/${model_id}"
  ]
  lake_object_arns = [for arn in var.lake_bucket_arns : "${arn}/*"]
}

resource "aws_iam_openid_connect_provider" "eks" {
  url            = var.oidc_issuer_url
  client_id_list = [local.oidc_audience]

  tags = merge(var.tags, { Name = "${var.prefix}-eks-oidc" })
}

# --- nexus-agent-core/agent-orchestrator ----------------------------------------------------

data "aws_iam_policy_document" "agent_irsa_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["system:serviceaccount:nexus-agent-core:agent-orchestrator"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "agent_irsa" {
  name               = "${var.prefix}-agent-irsa"
  description        = "IRSA for nexus-agent-core/agent-orchestrator: Bedrock, streams, lake"
  assume_role_policy = data.aws_iam_policy_document.agent_irsa_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "agent_irsa" {
  statement {
    sid       = "BedrockInvoke"
    actions   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    resources = local.bedrock_model_arns
  }

  statement {
    sid       = "BedrockList"
    actions   = ["bedrock:ListFoundationModels", "bedrock:GetFoundationModel"]
    resources = ["*"]
  }

  statement {
    sid = "Streams"
    actions = [
      "kinesis:PutRecord",
      "kinesis:PutRecords",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:ListShards",
    ]
    resources = var.stream_arns
  }

  statement {
    sid       = "Firehose"
    actions   = ["firehose:PutRecord", "firehose:PutRecordBatch", "firehose:DescribeDeliveryStream"]
    resources = var.firehose_arns
  }

  # agent-core's run records and the stream consumer's per-shard checkpoints (KCL-style).
  statement {
    sid = "AgentState"
    actions = [
      "dynamodb:CreateTable",
      "dynamodb:DescribeTable",
      "dynamodb:UpdateTimeToLive",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
      "dynamodb:Scan",
    ]
    resources = [
      "arn:${local.partition}:dynamodb:${var.region}:${local.account_id}:table/${var.prefix}-agent-runs",
      "arn:${local.partition}:dynamodb:${var.region}:${local.account_id}:table/${var.prefix}-agent-checkpoints",
    ]
  }

  statement {
    sid       = "LakeBuckets"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"]
    resources = var.lake_bucket_arns
  }

  statement {
    sid       = "LakeObjects"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = local.lake_object_arns
  }
}

resource "aws_iam_role_policy" "agent_irsa" {
  name   = "${aws_iam_role.agent_irsa.name}-policy"
  role   = aws_iam_role.agent_irsa.id
  policy = data.aws_iam_policy_document.agent_irsa.json
}

# --- nexus-mcp/aws-mcp ----------------------------------------------------------------------

data "aws_iam_policy_document" "aws_mcp_irsa_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["system:serviceaccount:nexus-mcp:aws-mcp"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "aws_mcp_irsa" {
  name               = "${var.prefix}-aws-mcp-irsa"
  description        = "IRSA for nexus-mcp/aws-mcp: Bedrock, Glue jobs, lake buckets"
  assume_role_policy = data.aws_iam_policy_document.aws_mcp_irsa_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "aws_mcp_irsa" {
  statement {
    sid       = "BedrockInvoke"
    actions   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    resources = local.bedrock_model_arns
  }

  statement {
    sid       = "BedrockList"
    actions   = ["bedrock:ListFoundationModels", "bedrock:GetFoundationModel"]
    resources = ["*"]
  }

  statement {
    sid = "GlueJobs"
    actions = [
      "glue:GetJob",
      "glue:StartJobRun",
      "glue:GetJobRun",
      "glue:GetJobRuns",
      "glue:BatchStopJobRun",
    ]
    resources = ["arn:${local.partition}:glue:${var.region}:${local.account_id}:job/*"]
  }

  statement {
    sid       = "GlueList"
    actions   = ["glue:GetJobs", "glue:ListJobs"]
    resources = ["*"]
  }

  statement {
    sid       = "S3ListAll"
    actions   = ["s3:ListAllMyBuckets"]
    resources = ["*"]
  }

  # Curated insights pushed to mission partners (spec §3.5).
  statement {
    sid       = "Dissemination"
    actions   = ["sns:CreateTopic", "sns:Publish", "sns:GetTopicAttributes"]
    resources = ["arn:${local.partition}:sns:${var.region}:${local.account_id}:${var.prefix}-dissemination"]
  }

  # lake_inventory reports each tier's versioning (the UI's lake and mappings views).
  statement {
    sid       = "LakeBuckets"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation", "s3:GetBucketVersioning"]
    resources = var.lake_bucket_arns
  }

  statement {
    sid       = "LakeObjects"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = local.lake_object_arns
  }
}

resource "aws_iam_role_policy" "aws_mcp_irsa" {
  name   = "${aws_iam_role.aws_mcp_irsa.name}-policy"
  role   = aws_iam_role.aws_mcp_irsa.id
  policy = data.aws_iam_policy_document.aws_mcp_irsa.json
}

# --- nexus-agent-core/nexus-ui --------------------------------------------------------------
# The web-facing operator UI: reads both data streams live and describes the deliveries and
# video streams (the mappings view). No writes, no Bedrock, no lake (it reads the lake
# through aws-mcp).

data "aws_iam_policy_document" "ui_irsa_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["system:serviceaccount:nexus-agent-core:nexus-ui"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ui_irsa" {
  name               = "${var.prefix}-ui-irsa"
  description        = "IRSA for nexus-agent-core/nexus-ui: read streams, describe deliveries and video"
  assume_role_policy = data.aws_iam_policy_document.ui_irsa_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "ui_irsa" {
  statement {
    sid = "ReadStreams"
    actions = [
      "kinesis:DescribeStreamSummary",
      "kinesis:ListShards",
      "kinesis:GetShardIterator",
      "kinesis:GetRecords",
    ]
    resources = var.stream_arns
  }

  statement {
    sid       = "DescribeDeliveries"
    actions   = ["firehose:DescribeDeliveryStream"]
    resources = var.firehose_arns
  }

  dynamic "statement" {
    for_each = length(var.video_stream_arns) > 0 ? [var.video_stream_arns] : []

    content {
      sid       = "DescribeVideoStreams"
      actions   = ["kinesisvideo:DescribeStream"]
      resources = statement.value
    }
  }
}

resource "aws_iam_role_policy" "ui_irsa" {
  name   = "${aws_iam_role.ui_irsa.name}-policy"
  role   = aws_iam_role.ui_irsa.id
  policy = data.aws_iam_policy_document.ui_irsa.json
}
