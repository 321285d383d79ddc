variable "prefix" {
  description = "Naming prefix of every resource: project-environment, such as nexus-dev."
  type        = string
}

variable "region" {
  description = "AWS region of the stack (Bedrock model and Glue job ARNs)."
  type        = string
}

variable "oidc_issuer_url" {
  description = "OIDC issuer URL of the EKS cluster (https://oidc.eks.REGION.amazonaws.com/id/...)."
  type        = string

  validation {
    condition     = startswith(var.oidc_issuer_url, "https://")
    error_message = "oidc_issuer_url must be the https:// issuer URL of the cluster."
  }
}

variable "bedrock_model_ids" {
  description = "Bedrock foundation model IDs the agent and aws-mcp may invoke."
  type        = list(string)

  validation {
    condition     = length(var.bedrock_model_ids) > 0
    error_message = "List at least one Bedrock model ID."
  }
}

variable "stream_arns" {
  description = "ARNs of the primary and client Kinesis data streams."
  type        = list(string)
}

variable "firehose_arns" {
  description = "ARNs of the primary and client Firehose delivery streams."
  type        = list(string)
}

variable "video_stream_arns" {
  description = "ARNs of the telemetry and client telemetry Kinesis video streams (empty when video streams are off)."
  type        = list(string)
  default     = []
}

variable "lake_bucket_arns" {
  description = "ARNs of the medallion buckets (bronze, silver, gold, vibranium)."
  type        = list(string)
}

variable "enable_karpenter" {
  description = "Create the Karpenter controller's IRSA role."
  type        = bool
  default     = false
}

variable "karpenter_service_account" {
  description = "Namespace and name of Karpenter's controller service account."
  type = object({
    namespace = string
    name      = string
  })
  default = {
    namespace = "kube-system"
    name      = "karpenter"
  }
}

variable "cluster_name" {
  description = "Name of the EKS cluster (Karpenter's eks:DescribeCluster and discovery tag)."
  type        = string
}

variable "node_role_arn" {
  description = "Role of the nodes that Karpenter launches (it passes this role to EC2)."
  type        = string
  default     = null
}

variable "karpenter_queue_arn" {
  description = "Karpenter's interruption queue (from the eks module)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Extra tags for the module's resources (provider default_tags apply too)."
  type        = map(string)
  default     = {}
}
