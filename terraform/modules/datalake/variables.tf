variable "prefix" {
  description = "Naming prefix of every resource: project-environment, such as nexus-dev."
  type        = string
}

variable "region" {
  description = "AWS region; part of every bucket name (S3 names are global)."
  type        = string
}

variable "bucket_tiers" {
  description = "Medallion tiers, one bucket each: bronze, silver, gold, vibranium."
  type        = list(string)

  validation {
    condition     = length(var.bucket_tiers) == 4 && length(setsubtract(toset(["bronze", "silver", "gold", "vibranium"]), toset(var.bucket_tiers))) == 0
    error_message = "bucket_tiers must list bronze, silver, gold and vibranium, each once."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a non-current object version is deleted (versioning keeps overwritten data this long)."
  type        = number
  default     = 90
}

variable "enable_lake_formation" {
  description = "Register the buckets with Lake Formation and grant DATA_LOCATION_ACCESS to the administrators."
  type        = bool
  default     = true
}

variable "lakeformation_admins" {
  description = "IAM principal ARNs of the Lake Formation administrators; empty means the identity running Terraform."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.lakeformation_admins : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", arn))])
    error_message = "lakeformation_admins must be IAM role or user ARNs."
  }
}

variable "tags" {
  description = "Extra tags for the module's resources (provider default_tags apply too)."
  type        = map(string)
  default     = {}
}
