# Streaming ingest (spec §2.3): two Kinesis data streams (primary, client), two Kinesis
# video streams (telemetry, client telemetry) and two Firehose delivery streams that read
# the data streams and land GZIP objects in the bronze bucket (client under `client/`).
# Streams are encrypted at rest with the AWS managed key alias/aws/kinesis, which needs no
# extra permission for producers, consumers or Firehose.

data "aws_caller_identity" "current" {}

locals {
  delivery_log_stream = "DestinationDelivery"
}

# --- Kinesis data streams -------------------------------------------------------------------

resource "aws_kinesis_stream" "primary" {
  name             = "${var.prefix}-intake"
  shard_count      = var.primary_stream_shards
  retention_period = var.primary_stream_retention_hours
  encryption_type  = "KMS"
  kms_key_id       = "alias/aws/kinesis"

  stream_mode_details {
    stream_mode = "PROVISIONED"
  }

  tags = merge(var.tags, { Channel = "primary" })
}

resource "aws_kinesis_stream" "client" {
  name             = "${var.prefix}-client-intake"
  shard_count      = var.client_stream_shards
  retention_period = var.client_stream_retention_hours
  encryption_type  = "KMS"
  kms_key_id       = "alias/aws/kinesis"

  stream_mode_details {
    stream_mode = "PROVISIONED"
  }

  tags = merge(var.tags, { Channel = "client" })
}

# --- Kinesis video streams ------------------------------------------------------------------

resource "aws_kinesis_video_stream" "telemetry" {
  count = var.enable_video_streams ? 1 : 0

  name                    = "${var.prefix}-telemetry"
  data_retention_in_hours = var.telemetry_video_retention_hours
  media_type              = var.video_media_type

  tags = merge(var.tags, { Channel = "primary" })
}

resource "aws_kinesis_video_stream" "client_telemetry" {
  count = var.enable_video_streams ? 1 : 0

  name                    = "${var.prefix}-client-telemetry"
  data_retention_in_hours = var.client_telemetry_video_retention_hours
  media_type              = var.video_media_type

  tags = merge(var.tags, { Channel = "client" })
}

# --- Firehose role --------------------------------------------------------------------------

data "aws_iam_policy_document" "firehose_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }

    # Confused-deputy guard: only Firehose acting for this account.
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name               = "${var.prefix}-firehose"
  description        = "Firehose delivery: read both data streams, write bronze, log delivery"
  assume_role_policy = data.aws_iam_policy_document.firehose_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "firehose" {
  statement {
    sid = "ReadStreams"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetShardIterator",
      "kinesis:GetRecords",
      "kinesis:ListShards",
    ]
    resources = [aws_kinesis_stream.primary.arn, aws_kinesis_stream.client.arn]
  }

  statement {
    sid = "WriteBronze"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:PutObject",
    ]
    resources = [var.bronze_bucket_arn, "${var.bronze_bucket_arn}/*"]
  }

  statement {
    sid     = "DeliveryLogs"
    actions = ["logs:PutLogEvents"]
    resources = [
      "${var.primary_firehose_log_group.arn}:log-stream:*",
      "${var.client_firehose_log_group.arn}:log-stream:*",
    ]
  }
}

resource "aws_iam_role_policy" "firehose" {
  name   = "${aws_iam_role.firehose.name}-policy"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}

# --- Delivery log streams (Firehose writes to them, it does not create them) ---------------

resource "aws_cloudwatch_log_stream" "primary_delivery" {
  name           = local.delivery_log_stream
  log_group_name = var.primary_firehose_log_group.name
}

resource "aws_cloudwatch_log_stream" "client_delivery" {
  name           = local.delivery_log_stream
  log_group_name = var.client_firehose_log_group.name
}

# --- Firehose delivery streams --------------------------------------------------------------

resource "aws_kinesis_firehose_delivery_stream" "primary" {
  name        = "${var.prefix}-to-lake"
  destination = "extended_s3"

  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.primary.arn
    role_arn           = aws_iam_role.firehose.arn
  }

  # Lands in the bronze bucket root (Firehose's default YYYY/MM/DD/HH/ layout).
  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = var.bronze_bucket_arn
    buffering_size      = var.firehose_buffering_size_mb
    buffering_interval  = var.firehose_buffering_interval_seconds
    compression_format  = var.firehose_compression
    error_output_prefix = "processing-failed/"

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = var.primary_firehose_log_group.name
      log_stream_name = aws_cloudwatch_log_stream.primary_delivery.name
    }
  }

  tags = merge(var.tags, { Channel = "primary" })

  # Firehose validates its role on creation: the policy must be in place first.
  depends_on = [aws_iam_role_policy.firehose]
}

resource "aws_kinesis_firehose_delivery_stream" "client" {
  name        = "${var.prefix}-client-to-lake"
  destination = "extended_s3"

  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.client.arn
    role_arn           = aws_iam_role.firehose.arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = var.bronze_bucket_arn
    prefix              = var.client_firehose_prefix
    buffering_size      = var.firehose_buffering_size_mb
    buffering_interval  = var.firehose_buffering_interval_seconds
    compression_format  = var.firehose_compression
    error_output_prefix = "${var.client_firehose_prefix}processing-failed/"

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = var.client_firehose_log_group.name
      log_stream_name = aws_cloudwatch_log_stream.client_delivery.name
    }
  }

  tags = merge(var.tags, { Channel = "client" })

  depends_on = [aws_iam_role_policy.firehose]
}
