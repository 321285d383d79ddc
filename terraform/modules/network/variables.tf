variable "prefix" {
  description = "Naming prefix of every resource: project-environment, such as nexus-dev."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; must be a /16 (spec §2.1)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && endswith(var.vpc_cidr, "/16")
    error_message = "vpc_cidr must be a valid IPv4 /16 block, such as 10.0.0.0/16."
  }
}

variable "availability_zones" {
  description = "The three availability zones the VPC spans; one public and one private subnet and one NAT gateway in each."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 3 && length(distinct(var.availability_zones)) == 3
    error_message = "availability_zones must list exactly three distinct zones."
  }
}

variable "cluster_name" {
  description = "Name of the EKS cluster that uses the subnets (for the kubernetes.io/cluster and karpenter.sh/discovery tags)."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group, in days."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Extra tags for the module's resources (provider default_tags apply too)."
  type        = map(string)
  default     = {}
}
