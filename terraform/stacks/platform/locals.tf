locals {
  # Every resource name derives from this prefix, as in nexuskit/params.py (StackSpec).
  prefix = "${var.project}-${var.environment}"

  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
  })

  bedrock_model_ids = [
    var.bedrock_model_ids.reasoning,
    var.bedrock_model_ids.text,
    var.bedrock_model_ids.embedding,
  ]

  # The video streams' ARNs (none when enable_video_streams is off): the UI role describes them.
  video_stream_arns = [
    for stream in [module.streaming.telemetry_video_stream, module.streaming.client_telemetry_video_stream] :
    stream.arn if stream != null
  ]
}
