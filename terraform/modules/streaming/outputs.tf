output "primary_stream" {
  description = "Name and ARN of the primary data stream."
  value       = { name = aws_kinesis_stream.primary.name, arn = aws_kinesis_stream.primary.arn }
}

output "client_stream" {
  description = "Name and ARN of the client data stream."
  value       = { name = aws_kinesis_stream.client.name, arn = aws_kinesis_stream.client.arn }
}

output "telemetry_video_stream" {
  description = "Name and ARN of the telemetry video stream (null when video streams are off)."
  value = var.enable_video_streams ? {
    name = aws_kinesis_video_stream.telemetry[0].name
    arn  = aws_kinesis_video_stream.telemetry[0].arn
  } : null
}

output "client_telemetry_video_stream" {
  description = "Name and ARN of the client telemetry video stream (null when video streams are off)."
  value = var.enable_video_streams ? {
    name = aws_kinesis_video_stream.client_telemetry[0].name
    arn  = aws_kinesis_video_stream.client_telemetry[0].arn
  } : null
}

output "primary_firehose" {
  description = "Name and ARN of the primary Firehose delivery stream."
  value = {
    name = aws_kinesis_firehose_delivery_stream.primary.name
    arn  = aws_kinesis_firehose_delivery_stream.primary.arn
  }
}

output "client_firehose" {
  description = "Name and ARN of the client Firehose delivery stream."
  value = {
    name = aws_kinesis_firehose_delivery_stream.client.name
    arn  = aws_kinesis_firehose_delivery_stream.client.arn
  }
}

output "firehose_role_arn" {
  description = "ARN of the Firehose delivery role."
  value       = aws_iam_role.firehose.arn
}
