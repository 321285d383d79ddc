variable "prefix" {
  description = "Naming prefix of every resource: project-environment, such as nexus-dev."
  type        = string
}

variable "primary_stream_shards" {
  description = "Shards of the primary data stream (spec: 2)."
  type        = number

  validation {
    condition     = var.primary_stream_shards >= 1 && floor(var.primary_stream_shards) == var.primary_stream_shards
    error_message = "primary_stream_shards must be a whole number >= 1."
  }
}

variable "primary_stream_retention_hours" {
  description = "Retention of the primary data stream, in hours (spec: 48)."
  type        = number

  validation {
    condition     = var.primary_stream_retention_hours >= 24 && var.primary_stream_retention_hours <= 8760
    error_message = "Kinesis retention must be between 24 and 8760 hours."
  }
}

variable "client_stream_shards" {
  description = "Shards of the client data stream (spec: 1)."
  type        = number

  validation {
    condition     = var.client_stream_shards >= 1 && floor(var.client_stream_shards) == var.client_stream_shards
    error_message = "client_stream_shards must be a whole number >= 1."
  }
}

variable "client_stream_retention_hours" {
  description = "Retention of the client data stream, in hours (spec: 24)."
  type        = number

  validation {
    condition     = var.client_stream_retention_hours >= 24 && var.client_stream_retention_hours <= 8760
    error_message = "Kinesis retention must be between 24 and 8760 hours."
  }
}

variable "enable_video_streams" {
  description = "Create the two Kinesis video streams."
  type        = bool
  default     = true
}

variable "telemetry_video_retention_hours" {
  description = "Retention of the internal telemetry video stream, in hours (spec: 24)."
  type        = number
}

variable "client_telemetry_video_retention_hours" {
  description = "Retention of the client telemetry video stream, in hours (spec: 12)."
  type        = number
}

variable "video_media_type" {
  description = "Media type recorded on the video streams."
  type        = string
  default     = "video/h264"
}

variable "firehose_buffering_size_mb" {
  description = "Firehose buffer size before delivery to S3, in MiB."
  type        = number

  validation {
    condition     = var.firehose_buffering_size_mb >= 1 && var.firehose_buffering_size_mb <= 128
    error_message = "firehose_buffering_size_mb must be between 1 and 128."
  }
}

variable "firehose_buffering_interval_seconds" {
  description = "Firehose buffer interval before delivery to S3, in seconds."
  type        = number

  validation {
    condition     = var.firehose_buffering_interval_seconds >= 0 && var.firehose_buffering_interval_seconds <= 900
    error_message = "firehose_buffering_interval_seconds must be between 0 and 900."
  }
}

variable "firehose_compression" {
  description = "Compression of the objects Firehose writes (spec: GZIP)."
  type        = string

  validation {
    condition     = contains(["GZIP", "UNCOMPRESSED", "Snappy", "ZIP", "HADOOP_SNAPPY"], var.firehose_compression)
    error_message = "firehose_compression must be GZIP, UNCOMPRESSED, Snappy, ZIP or HADOOP_SNAPPY."
  }
}

variable "client_firehose_prefix" {
  description = "S3 prefix under which the client Firehose writes to bronze (spec: client/)."
  type        = string

  validation {
    condition     = length(var.client_firehose_prefix) > 1 && endswith(var.client_firehose_prefix, "/") && !startswith(var.client_firehose_prefix, "/")
    error_message = "client_firehose_prefix must be a non-empty S3 prefix ending in '/', such as client/."
  }
}

variable "bronze_bucket_arn" {
  description = "ARN of the bronze bucket both Firehose streams deliver to."
  type        = string
}

variable "primary_firehose_log_group" {
  description = "Delivery log group of the primary Firehose (name and ARN, from the observability module)."
  type = object({
    name = string
    arn  = string
  })
}

variable "client_firehose_log_group" {
  description = "Delivery log group of the client Firehose (name and ARN, from the observability module)."
  type = object({
    name = string
    arn  = string
  })
}

variable "tags" {
  description = "Extra tags for the module's resources (provider default_tags apply too)."
  type        = map(string)
  default     = {}
}
