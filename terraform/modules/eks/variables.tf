variable "prefix" {
  description = "Naming prefix of every resource: project-environment, such as nexus-dev."
  type        = string
}

variable "cluster_version" {
  description = "Kubernetes version of the control plane, such as 1.31."
  type        = string

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.cluster_version))
    error_message = "cluster_version must look like 1.31."
  }
}

variable "vpc_id" {
  description = "VPC that hosts the cluster."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (one per availability zone) for the control plane ENIs and the nodes."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) == 3
    error_message = "The cluster spans exactly three private subnets, one per availability zone."
  }
}

variable "general_node_group" {
  description = "Sizing of the on-demand node group \"general\" (label role=general)."
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
  })

  validation {
    condition     = var.general_node_group.min_size <= var.general_node_group.desired_size && var.general_node_group.desired_size <= var.general_node_group.max_size
    error_message = "general_node_group must satisfy min_size <= desired_size <= max_size."
  }
}

variable "mcp_node_group" {
  description = "Sizing of the node group \"mcp\" (tainted dedicated=mcp:NoSchedule) for MCP pods."
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
  })

  validation {
    condition     = var.mcp_node_group.min_size <= var.mcp_node_group.desired_size && var.mcp_node_group.desired_size <= var.mcp_node_group.max_size
    error_message = "mcp_node_group must satisfy min_size <= desired_size <= max_size."
  }
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint (the workloads stack applies manifests through it). Narrow this to your CI egress where it is fixed."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "enabled_log_types" {
  description = "Control plane log types sent to CloudWatch Logs."
  type        = list(string)
  default     = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
}

variable "log_retention_days" {
  description = "Retention of the control plane log group, in days."
  type        = number
  default     = 30
}

variable "enable_karpenter" {
  description = "Create the AWS side of Karpenter: the interruption queue and its EventBridge rules (the controller role lives in the irsa module)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags for the module's resources (provider default_tags apply too)."
  type        = map(string)
  default     = {}
}
