# EKS cluster "${prefix}-eks" (spec §2.1) with two managed node groups:
#   general - on-demand, label role=general, runs everything without a toleration;
#   mcp     - tainted dedicated=mcp:NoSchedule, runs only the MCP pods that tolerate it.
# Secrets are envelope-encrypted with a customer managed KMS key; control plane logs go to
# CloudWatch. Authentication uses EKS access entries (no aws-auth ConfigMap).

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  cluster_name = "${var.prefix}-eks"
  partition    = data.aws_partition.current.partition

  cluster_managed_policies = ["AmazonEKSClusterPolicy"]
  node_managed_policies = [
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
  ]
}

# --- IAM ------------------------------------------------------------------------------------

data "aws_iam_policy_document" "cluster_trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "eks_cluster" {
  name               = "${var.prefix}-eks-cluster"
  description        = "EKS control plane"
  assume_role_policy = data.aws_iam_policy_document.cluster_trust.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "eks_cluster" {
  for_each = toset(local.cluster_managed_policies)

  role       = aws_iam_role.eks_cluster.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.key}"
}

data "aws_iam_policy_document" "nodes_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "eks_nodes" {
  name               = "${var.prefix}-eks-nodes"
  description        = "EKS managed node groups"
  assume_role_policy = data.aws_iam_policy_document.nodes_trust.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "eks_nodes" {
  for_each = toset(local.node_managed_policies)

  role       = aws_iam_role.eks_nodes.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.key}"
}

# --- Secrets encryption key -----------------------------------------------------------------

# A key policy is a resource policy: "*" stands for this key. The account administers the
# key through IAM; the cluster role may use it (and only it) for envelope encryption.
locals {
  secrets_key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "ClusterRoleEncrypts"
        Effect    = "Allow"
        Principal = { AWS = aws_iam_role.eks_cluster.arn }
        Action = [
          "kms:Encrypt",
          "kms:Decrypt",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:DescribeKey",
          "kms:CreateGrant",
          "kms:ListGrants",
        ]
        Resource = "*"
      },
    ]
  }
}

resource "aws_kms_key" "secrets" {
  description             = "Envelope encryption of Kubernetes secrets in ${local.cluster_name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = jsonencode(local.secrets_key_policy)

  tags = var.tags
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${local.cluster_name}-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

# --- Cluster --------------------------------------------------------------------------------

# Created before the cluster so that its retention is ours, not "never expire".
resource "aws_cloudwatch_log_group" "cluster" {
  name              = "/aws/eks/${local.cluster_name}/cluster"
  retention_in_days = var.log_retention_days

  tags = var.tags
}

resource "aws_eks_cluster" "this" {
  name     = local.cluster_name
  version  = var.cluster_version
  role_arn = aws_iam_role.eks_cluster.arn

  enabled_cluster_log_types = var.enabled_log_types

  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = true
  }

  vpc_config {
    subnet_ids              = var.private_subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = true
    public_access_cidrs     = var.endpoint_public_access_cidrs
  }

  encryption_config {
    resources = ["secrets"]

    provider {
      key_arn = aws_kms_key.secrets.arn
    }
  }

  tags = merge(var.tags, { "karpenter.sh/discovery" = local.cluster_name })

  depends_on = [
    aws_iam_role_policy_attachment.eks_cluster,
    aws_cloudwatch_log_group.cluster,
  ]
}

# --- Managed node groups --------------------------------------------------------------------

resource "aws_eks_node_group" "general" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "general"
  node_role_arn   = aws_iam_role.eks_nodes.arn
  subnet_ids      = var.private_subnet_ids
  capacity_type   = "ON_DEMAND"
  instance_types  = var.general_node_group.instance_types

  scaling_config {
    min_size     = var.general_node_group.min_size
    max_size     = var.general_node_group.max_size
    desired_size = var.general_node_group.desired_size
  }

  update_config {
    max_unavailable = 1
  }

  labels = {
    role = "general"
  }

  tags = merge(var.tags, { Name = "${local.cluster_name}-general" })

  # The cluster autoscaler (or Karpenter) owns desired_size once the group exists.
  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [aws_iam_role_policy_attachment.eks_nodes]
}

resource "aws_eks_node_group" "mcp" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "mcp"
  node_role_arn   = aws_iam_role.eks_nodes.arn
  subnet_ids      = var.private_subnet_ids
  capacity_type   = "ON_DEMAND"
  instance_types  = var.mcp_node_group.instance_types

  scaling_config {
    min_size     = var.mcp_node_group.min_size
    max_size     = var.mcp_node_group.max_size
    desired_size = var.mcp_node_group.desired_size
  }

  update_config {
    max_unavailable = 1
  }

  labels = {
    role = "mcp"
  }

  taint {
    key    = "dedicated"
    value  = "mcp"
    effect = "NO_SCHEDULE"
  }

  tags = merge(var.tags, { Name = "${local.cluster_name}-mcp" })

  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [aws_iam_role_policy_attachment.eks_nodes]
}
