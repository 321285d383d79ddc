# The platform's CloudWatch log groups (spec §2.6). They are created here, before the
# services that write to them, so that retention is set by us and not left at "never
# expire" by a service creating the group on first write.

locals {
  primary_firehose_log_group = "/aws/kinesisfirehose/${var.prefix}-firehose"
  client_firehose_log_group  = "/aws/kinesisfirehose/${var.prefix}-client-firehose"
  lambda_log_group           = "/aws/lambda/${var.prefix}-auth"
  api_log_group              = "/aws/apigateway/${var.prefix}-ui"
}

resource "aws_cloudwatch_log_group" "primary_firehose" {
  name              = local.primary_firehose_log_group
  retention_in_days = var.log_retention_days

  tags = merge(var.tags, { Component = "streaming" })
}

resource "aws_cloudwatch_log_group" "client_firehose" {
  name              = local.client_firehose_log_group
  retention_in_days = var.log_retention_days

  tags = merge(var.tags, { Component = "streaming" })
}

resource "aws_cloudwatch_log_group" "lambda" {
  name              = local.lambda_log_group
  retention_in_days = var.log_retention_days

  tags = merge(var.tags, { Component = "edge" })
}

resource "aws_cloudwatch_log_group" "api" {
  name              = local.api_log_group
  retention_in_days = var.log_retention_days

  tags = merge(var.tags, { Component = "edge" })
}
