# One variable per key of envs/<env>/terraform.tfvars.json: those files are the single
# source of names and sizes, read by Terraform and by nexuskit (nexuskit/params.py:
# StackParams mirrors these validations). The only other inputs are build artefacts,
# at the end of this file: the auth Lambda's package, which nexuskit builds.

# --- Identity -------------------------------------------------------------------------------

variable "project" {
  description = "Project name; first half of the naming prefix project-environment."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.project))
    error_message = "project must be 2-16 lowercase letters or digits, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name (dev, prod, ...); second half of the naming prefix."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lowercase letters or digits, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the stack (spec: us-west-2)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-west-2."
  }

  validation {
    condition     = var.environment != "prod" || var.region == "us-west-2"
    error_message = "prod runs in us-west-2 (spec §1)."
  }
}

variable "allowed_account_ids" {
  description = "AWS account IDs this environment may be applied to (the provider refuses any other)."
  type        = list(string)

  validation {
    condition     = alltrue([for id in var.allowed_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "allowed_account_ids must be 12-digit AWS account IDs."
  }

  validation {
    condition     = var.environment != "prod" || length(var.allowed_account_ids) > 0
    error_message = "prod must name the AWS account(s) it may be applied to."
  }
}

variable "tags" {
  description = "Tags applied to every resource (provider default_tags), besides Project and Environment."
  type        = map(string)
  default     = {}
}

# --- Network and cluster --------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR block of the VPC (a /16)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && endswith(var.vpc_cidr, "/16")
    error_message = "vpc_cidr must be a valid IPv4 /16 block, such as 10.0.0.0/16."
  }
}

variable "availability_zones" {
  description = "The three availability zones of the VPC, in var.region."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 3 && length(distinct(var.availability_zones)) == 3
    error_message = "availability_zones must list exactly three distinct zones."
  }

  validation {
    condition     = alltrue([for zone in var.availability_zones : startswith(zone, var.region)])
    error_message = "Every availability zone must be in var.region."
  }
}

variable "eks_cluster_version" {
  description = "Kubernetes version of the EKS control plane, such as 1.31."
  type        = string

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.eks_cluster_version))
    error_message = "eks_cluster_version must look like 1.31."
  }
}

variable "node_groups" {
  description = "Sizing of the managed node groups general and mcp."
  type = map(object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
  }))

  validation {
    condition     = length(setsubtract(toset(keys(var.node_groups)), toset(["general", "mcp"]))) == 0 && length(var.node_groups) == 2
    error_message = "node_groups must define exactly general and mcp."
  }

  validation {
    condition     = alltrue([for group in values(var.node_groups) : group.min_size <= group.desired_size && group.desired_size <= group.max_size && length(group.instance_types) > 0])
    error_message = "Each node group needs instance types and min_size <= desired_size <= max_size."
  }
}

# --- Streaming ------------------------------------------------------------------------------

variable "primary_stream_shards" {
  description = "Shards of the primary data stream PREFIX-intake (spec: 2)."
  type        = number

  validation {
    condition     = var.primary_stream_shards >= 1 && var.primary_stream_shards <= 500
    error_message = "primary_stream_shards must be between 1 and 500."
  }
}

variable "primary_stream_retention_hours" {
  description = "Retention of PREFIX-intake, in hours (spec: 48)."
  type        = number

  validation {
    condition     = var.primary_stream_retention_hours >= 24 && var.primary_stream_retention_hours <= 8760
    error_message = "Kinesis retention must be between 24 and 8760 hours."
  }
}

variable "client_stream_shards" {
  description = "Shards of the client data stream PREFIX-client-intake (spec: 1)."
  type        = number

  validation {
    condition     = var.client_stream_shards >= 1 && var.client_stream_shards <= 500
    error_message = "client_stream_shards must be between 1 and 500."
  }
}

variable "client_stream_retention_hours" {
  description = "Retention of PREFIX-client-intake, in hours (spec: 24)."
  type        = number

  validation {
    condition     = var.client_stream_retention_hours >= 24 && var.client_stream_retention_hours <= 8760
    error_message = "Kinesis retention must be between 24 and 8760 hours."
  }
}

variable "telemetry_video_retention_hours" {
  description = "Retention of the video stream PREFIX-telemetry, in hours (spec: 24)."
  type        = number

  validation {
    condition     = var.telemetry_video_retention_hours >= 1 && var.telemetry_video_retention_hours <= 87600
    error_message = "Video retention must be between 1 and 87600 hours."
  }
}

variable "client_telemetry_video_retention_hours" {
  description = "Retention of the video stream PREFIX-client-telemetry, in hours (spec: 12)."
  type        = number

  validation {
    condition     = var.client_telemetry_video_retention_hours >= 1 && var.client_telemetry_video_retention_hours <= 87600
    error_message = "Video retention must be between 1 and 87600 hours."
  }
}

variable "firehose_buffering_size_mb" {
  description = "Firehose buffer size before each S3 delivery, in MiB."
  type        = number

  validation {
    condition     = var.firehose_buffering_size_mb >= 1 && var.firehose_buffering_size_mb <= 128
    error_message = "firehose_buffering_size_mb must be between 1 and 128."
  }
}

variable "firehose_buffering_interval_seconds" {
  description = "Firehose buffer interval before each S3 delivery, in seconds."
  type        = number

  validation {
    condition     = var.firehose_buffering_interval_seconds >= 0 && var.firehose_buffering_interval_seconds <= 900
    error_message = "firehose_buffering_interval_seconds must be between 0 and 900."
  }
}

variable "firehose_compression" {
  description = "Compression of the objects Firehose lands in bronze (spec: GZIP)."
  type        = string

  validation {
    condition     = contains(["GZIP", "UNCOMPRESSED", "Snappy", "ZIP", "HADOOP_SNAPPY"], var.firehose_compression)
    error_message = "firehose_compression must be GZIP, UNCOMPRESSED, Snappy, ZIP or HADOOP_SNAPPY."
  }

  validation {
    condition     = var.environment != "prod" || var.firehose_compression == "GZIP"
    error_message = "prod lands GZIP objects in bronze (spec §2.3)."
  }
}

variable "client_firehose_prefix" {
  description = "S3 prefix of the client Firehose's objects in bronze (spec: client/)."
  type        = string

  validation {
    condition     = length(var.client_firehose_prefix) > 1 && endswith(var.client_firehose_prefix, "/") && !startswith(var.client_firehose_prefix, "/")
    error_message = "client_firehose_prefix must be a non-empty S3 prefix ending in '/', such as client/."
  }
}

# --- Lake -----------------------------------------------------------------------------------

variable "bucket_tiers" {
  description = "Medallion tiers, one bucket PREFIX-TIER-REGION each."
  type        = list(string)

  validation {
    condition     = length(var.bucket_tiers) == 4 && length(setsubtract(toset(["bronze", "silver", "gold", "vibranium"]), toset(var.bucket_tiers))) == 0
    error_message = "bucket_tiers must list bronze, silver, gold and vibranium, each once."
  }
}

variable "lakeformation_admins" {
  description = "IAM role or user ARNs administering Lake Formation; empty means the identity that runs Terraform."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.lakeformation_admins : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", arn))])
    error_message = "lakeformation_admins must be IAM role or user ARNs."
  }
}

variable "lake_grants" {
  description = "Lake Formation tier grants: role key (agent_irsa, aws_mcp_irsa, ui_irsa, kinesis_bearer, medallion_glue, ...) -> tiers it reads, tiers it writes, and single datasets it writes (tier -> dataset names). nexuskit's embedded provisioner reads the same key."
  type = map(object({
    read           = list(string)
    write          = list(string)
    write_datasets = optional(map(list(string)), {})
  }))
  default = {}

  validation {
    condition = alltrue(flatten([
      for grant in values(var.lake_grants) : [
        for tier in concat(grant.read, grant.write, keys(grant.write_datasets)) : contains(["bronze", "silver", "gold", "vibranium"], tier)
      ]
    ]))
    error_message = "lake_grants may name only the tiers bronze, silver, gold and vibranium."
  }

  validation {
    condition     = alltrue([for key in keys(var.lake_grants) : contains(["agent_irsa", "aws_mcp_irsa", "ui_irsa", "lambda_exec", "kinesis_bearer", "firehose", "medallion_glue"], key)])
    error_message = "lake_grants keys must be role keys: agent_irsa, aws_mcp_irsa, ui_irsa, lambda_exec, kinesis_bearer, firehose or medallion_glue."
  }
}

# --- Edge -----------------------------------------------------------------------------------

variable "token_ttl_min_minutes" {
  description = "Lowest bearer token TTL, in minutes (spec: 15)."
  type        = number

  validation {
    condition     = var.token_ttl_min_minutes >= 15 && var.token_ttl_min_minutes <= 60
    error_message = "Token TTLs must lie within 15-60 minutes (spec §2.5)."
  }
}

variable "token_ttl_max_minutes" {
  description = "Highest bearer token TTL, in minutes (spec: 60)."
  type        = number

  validation {
    condition     = var.token_ttl_max_minutes >= 15 && var.token_ttl_max_minutes <= 60
    error_message = "Token TTLs must lie within 15-60 minutes (spec §2.5)."
  }
}

variable "token_ttl_default_minutes" {
  description = "Bearer token TTL when a request names none, in minutes."
  type        = number

  validation {
    condition     = var.token_ttl_min_minutes <= var.token_ttl_default_minutes && var.token_ttl_default_minutes <= var.token_ttl_max_minutes
    error_message = "Token TTLs must satisfy token_ttl_min_minutes <= token_ttl_default_minutes <= token_ttl_max_minutes."
  }
}

variable "auth_throttling_rate_limit" {
  description = "Steady requests per second the HTTP API stage accepts on each route (POST /auth, the JWKS): its default route throttling. AWS caps it at the account's 10,000."
  type        = number
  default     = 50

  validation {
    condition     = var.auth_throttling_rate_limit >= 0 && var.auth_throttling_rate_limit <= 10000
    error_message = "auth_throttling_rate_limit must lie within 0-10000 requests per second."
  }
}

variable "auth_throttling_burst_limit" {
  description = "Requests the HTTP API stage accepts at once on each route (the token bucket's size). AWS caps it at the account's 5,000."
  type        = number
  default     = 100

  validation {
    condition     = var.auth_throttling_burst_limit >= 0 && var.auth_throttling_burst_limit <= 5000 && floor(var.auth_throttling_burst_limit) == var.auth_throttling_burst_limit
    error_message = "auth_throttling_burst_limit must be a whole number within 0-5000."
  }
}

variable "auth_route_authorization_type" {
  description = "Authorization of POST /auth: NONE (the spec's open token service) or AWS_IAM (callers sign with SigV4 and need execute-api:Invoke on the route)."
  type        = string
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM"], var.auth_route_authorization_type)
    error_message = "auth_route_authorization_type must be NONE or AWS_IAM."
  }
}

variable "token_signing_key_admins" {
  description = "IAM role or user ARNs that may read and write the token signing key besides the auth Lambda; empty means the identity that runs Terraform."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.token_signing_key_admins : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", arn))])
    error_message = "token_signing_key_admins must be IAM role or user ARNs."
  }
}

variable "enable_custom_domain" {
  description = "Serve the HTTP API on custom_domain_name (ACM certificate, Route 53). Optional in every environment (spec §2.5)."
  type        = bool
  default     = false
}

variable "custom_domain_name" {
  description = "Custom domain of the HTTP API, such as auth.nexus.example.com (used when enable_custom_domain)."
  type        = string
  default     = ""

  validation {
    condition     = !var.enable_custom_domain || var.custom_domain_name != ""
    error_message = "enable_custom_domain needs custom_domain_name."
  }
}

# --- Intelligence ---------------------------------------------------------------------------

variable "bedrock_model_ids" {
  description = "Bedrock model IDs the agent and aws-mcp invoke."
  type = object({
    reasoning = string
    text      = string
    embedding = string
  })
}

# --- Observability --------------------------------------------------------------------------

variable "log_retention_days" {
  description = "Retention of every log group, in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731."
  }
}

# --- Feature flags: prod enables every platform capability ---------------------------------

variable "enable_eks" {
  description = "Create the EKS cluster, its node groups and the IRSA roles."
  type        = bool

  validation {
    condition     = var.environment != "prod" || var.enable_eks
    error_message = "prod must enable every platform capability: set enable_eks = true."
  }
}

variable "enable_karpenter" {
  description = "Create Karpenter's AWS side (controller role, interruption queue); needs enable_eks."
  type        = bool

  validation {
    condition     = var.environment != "prod" || var.enable_karpenter
    error_message = "prod must enable every platform capability: set enable_karpenter = true."
  }

  validation {
    condition     = !var.enable_karpenter || var.enable_eks
    error_message = "enable_karpenter needs enable_eks."
  }
}

variable "enable_video_streams" {
  description = "Create the Kinesis video streams PREFIX-telemetry and PREFIX-client-telemetry."
  type        = bool

  validation {
    condition     = var.environment != "prod" || var.enable_video_streams
    error_message = "prod must enable every platform capability: set enable_video_streams = true."
  }
}

variable "enable_lake_formation" {
  description = "Register the buckets with Lake Formation and grant DATA_LOCATION_ACCESS."
  type        = bool

  validation {
    condition     = var.environment != "prod" || var.enable_lake_formation
    error_message = "prod must enable every platform capability: set enable_lake_formation = true."
  }
}

# --- Build artefacts (not parameters: nexuskit builds them and passes them with -var) ------

variable "auth_package_path" {
  description = "The auth Lambda's deployment package: services/auth and its dependencies for the Lambda runtime, zipped reproducibly by nexuskit (`nexuskit tf package`)."
  type        = string
}

variable "auth_package_sha256" {
  description = "Base64 SHA-256 of auth_package_path, as `nexuskit tf package` prints it (Lambda's CodeSha256)."
  type        = string
}

variable "medallion_glue_assets" {
  description = "The medallion Glue jobs' code as nexuskit builds it (`nexuskit tf package` writes medallion-glue.tfvars.json; pass it with -var-file): per step the script, the library wheel and the compiled dataset files (S3 key, local path, hex SHA-256), the code version and the pip modules. null (the default) makes the assets bucket and no jobs."
  type = object({
    scripts        = map(object({ key = string, path = string, sha256 = string }))
    library        = object({ key = string, path = string, sha256 = string })
    config         = object({ key = string, path = string, sha256 = string })
    code_version   = string
    python_modules = string
  })
  default = null

  validation {
    condition = var.medallion_glue_assets == null ? true : alltrue([
      for item in concat(values(var.medallion_glue_assets.scripts), [var.medallion_glue_assets.library, var.medallion_glue_assets.config]) :
      can(regex("^[0-9a-f]{64}$", item.sha256)) && startswith(item.key, "medallion/")
    ])
    error_message = "medallion_glue_assets must be what nexuskit builds (nexuskit tf package): keys under medallion/ and hex SHA-256 hashes."
  }
}
