variable "prefix" {
  description = "Naming prefix of every resource: project-environment, such as nexus-dev."
  type        = string
}

variable "auth_package_path" {
  description = "Path of the auth Lambda's deployment package: the zip nexuskit builds from services/auth and its dependencies (nexuskit/edge/package.py)."
  type        = string

  validation {
    condition     = endswith(var.auth_package_path, ".zip")
    error_message = "auth_package_path must name the .zip nexuskit builds (nexuskit tf package)."
  }
}

variable "auth_package_sha256" {
  description = "Base64 of the SHA-256 of the package at auth_package_path (Lambda's CodeSha256); a new value redeploys the code."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.auth_package_sha256))
    error_message = "auth_package_sha256 must be the base64 SHA-256 of the package (44 characters)."
  }
}

variable "auth_handler" {
  description = "Handler of the auth Lambda, module.function at the root of the package."
  type        = string
  default     = "handler.handler"
}

variable "auth_runtime" {
  description = "Python runtime of the auth Lambda; the package's dependencies are installed for it (nexuskit/edge/package.py LAMBDA_TARGET)."
  type        = string
  default     = "python3.11"

  validation {
    condition     = can(regex("^python3\\.(1[1-9])$", var.auth_runtime))
    error_message = "The auth service is Python: use python3.11 or newer."
  }
}

variable "auth_architecture" {
  description = "Instruction set of the auth Lambda; the package's compiled dependencies are built for it."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.auth_architecture)
    error_message = "auth_architecture must be x86_64 or arm64."
  }
}

variable "auth_layer_arns" {
  description = "Extra Lambda layers of the auth function (its dependencies travel in the package)."
  type        = list(string)
  default     = []
}

variable "auth_reserved_concurrency" {
  description = "Reserved concurrency of the auth Lambda (caps STS AssumeRole calls per second)."
  type        = number
  default     = 50
}

variable "token_ttl_min_minutes" {
  description = "Lowest token TTL the auth Lambda grants, in minutes (spec: 15)."
  type        = number

  validation {
    condition     = var.token_ttl_min_minutes >= 15 && var.token_ttl_min_minutes <= 60
    error_message = "Token TTLs must lie within 15-60 minutes (spec §2.5)."
  }
}

variable "token_ttl_max_minutes" {
  description = "Highest token TTL the auth Lambda grants, in minutes (spec: 60; the bearer role's session cap)."
  type        = number

  validation {
    condition     = var.token_ttl_max_minutes >= 15 && var.token_ttl_max_minutes <= 60
    error_message = "Token TTLs must lie within 15-60 minutes (spec §2.5)."
  }
}

variable "token_ttl_default_minutes" {
  description = "TTL granted when a request names none, in minutes."
  type        = number

  validation {
    condition     = var.token_ttl_default_minutes >= 15 && var.token_ttl_default_minutes <= 60
    error_message = "Token TTLs must lie within 15-60 minutes (spec §2.5)."
  }
}

variable "client_stream" {
  description = "Client data stream (name and ARN) the bearer role may write to."
  type = object({
    name = string
    arn  = string
  })
}

variable "client_video_stream" {
  description = "Client telemetry video stream (name and ARN), or null when video streams are off."
  type = object({
    name = string
    arn  = string
  })
  default = null
}

variable "client_firehose" {
  description = "Client Firehose delivery stream (name and ARN) the bearer role may write to."
  type = object({
    name = string
    arn  = string
  })
}

variable "lambda_log_group" {
  description = "Log group of the auth Lambda (name and ARN, from the observability module)."
  type = object({
    name = string
    arn  = string
  })
}

variable "api_log_group" {
  description = "Access log group of the HTTP API stage (name and ARN, from the observability module)."
  type = object({
    name = string
    arn  = string
  })
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second the prod stage accepts on each route (default route settings)."
  type        = number
  default     = 50
}

variable "throttling_burst_limit" {
  description = "Burst of requests the prod stage accepts on each route (the token bucket's size)."
  type        = number
  default     = 100
}

variable "auth_authorization_type" {
  description = "Authorization of the POST /auth route: NONE (open token service) or AWS_IAM (SigV4 callers with execute-api:Invoke)."
  type        = string
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM"], var.auth_authorization_type)
    error_message = "auth_authorization_type must be NONE or AWS_IAM."
  }
}

variable "signing_key_admins" {
  description = "IAM role or user ARNs that may read and write the signing key besides the auth Lambda; empty means the identity that runs Terraform."
  type        = list(string)
  default     = []
}

variable "cors_allow_origins" {
  description = "Origins allowed to call the API from a browser (the Nexus UI); empty disables CORS."
  type        = list(string)
  default     = []
}

variable "enable_custom_domain" {
  description = "Serve the API on custom_domain_name with an ACM certificate validated through Route 53."
  type        = bool
  default     = false
}

variable "custom_domain_name" {
  description = "Custom domain of the API, such as auth.nexus.example.com; its parent domain must be a public Route 53 hosted zone of the account."
  type        = string
  default     = ""

  validation {
    condition     = var.custom_domain_name == "" || can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.custom_domain_name))
    error_message = "custom_domain_name must be a lowercase DNS name, such as auth.nexus.example.com."
  }
}

variable "tags" {
  description = "Extra tags for the module's resources (provider default_tags apply too)."
  type        = map(string)
  default     = {}
}
