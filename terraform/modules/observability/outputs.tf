output "primary_firehose_log_group" {
  description = "Name and ARN of the primary Firehose's delivery log group."
  value = {
    name = aws_cloudwatch_log_group.primary_firehose.name
    arn  = aws_cloudwatch_log_group.primary_firehose.arn
  }
}

output "client_firehose_log_group" {
  description = "Name and ARN of the client Firehose's delivery log group."
  value = {
    name = aws_cloudwatch_log_group.client_firehose.name
    arn  = aws_cloudwatch_log_group.client_firehose.arn
  }
}

output "lambda_log_group" {
  description = "Name and ARN of the auth Lambda's log group."
  value = {
    name = aws_cloudwatch_log_group.lambda.name
    arn  = aws_cloudwatch_log_group.lambda.arn
  }
}

output "api_log_group" {
  description = "Name and ARN of the HTTP API's access log group."
  value = {
    name = aws_cloudwatch_log_group.api.name
    arn  = aws_cloudwatch_log_group.api.arn
  }
}

output "log_group_names" {
  description = "The four log group names of spec §2.6."
  value = [
    aws_cloudwatch_log_group.primary_firehose.name,
    aws_cloudwatch_log_group.client_firehose.name,
    aws_cloudwatch_log_group.lambda.name,
    aws_cloudwatch_log_group.api.name,
  ]
}
