variable "prefix" {
  description = "Naming prefix of every resource: project-environment, such as nexus-dev."
  type        = string
}

variable "region" {
  description = "AWS region of the catalog."
  type        = string
}

variable "bucket_tiers" {
  description = "Medallion tiers: bronze, silver, gold, vibranium."
  type        = list(string)
}

variable "buckets" {
  description = "Medallion tier -> bucket name."
  type        = map(string)
}

variable "location_arns" {
  description = "Medallion tier -> the bucket ARN registered with Lake Formation (the data location)."
  type        = map(string)
}

variable "assets_bucket" {
  description = "Bucket of the Glue jobs' code, PREFIX-glue-assets-REGION (the role may read it)."
  type        = string
}

variable "principal_arns" {
  description = "Role key (as in lake_grants) -> role ARN, for the stack's roles that exist; medallion_glue is this module's."
  type        = map(string)
}

variable "lake_grants" {
  description = "Role key -> tiers it reads, tiers it writes and single datasets it writes (tier -> dataset names)."
  type = map(object({
    read           = list(string)
    write          = list(string)
    write_datasets = optional(map(list(string)), {})
  }))
  default = {}
}

variable "tags" {
  description = "Extra tags for the module's resources (provider default_tags apply too)."
  type        = map(string)
  default     = {}
}

variable "glue_assets" {
  description = "The medallion jobs' code as nexuskit builds it (nexuskit/lake/glue.py build_assets): per step the script, the library wheel and the compiled dataset files, each as S3 key, local path and hex SHA-256; the code version and the pip modules. null: no jobs."
  type = object({
    scripts        = map(object({ key = string, path = string, sha256 = string }))
    library        = object({ key = string, path = string, sha256 = string })
    config         = object({ key = string, path = string, sha256 = string })
    code_version   = string
    python_modules = string
  })
  default = null
}

variable "confidence_threshold" {
  description = "The jobs' default --confidence_threshold (services/medallion/lib/insights.py DEFAULT_THRESHOLD)."
  type        = number
  default     = 0.8
}

variable "client_firehose_prefix" {
  description = "Bronze prefix of the client Firehose stream (the jobs' --client_prefix)."
  type        = string
}
