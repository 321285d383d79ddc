# Edge (spec §2.5, §3.1): the HTTP API "${prefix}-ui" routes POST /auth (and the JWKS the
# tokens are verified with) to the Lambda "${prefix}-auth". The Lambda clamps the TTL to
# the bounds passed in its environment, reads its signing key from Secrets Manager and
# assumes the bearer role, whose permissions cover the client data stream, the client
# video stream and the client Firehose, and nothing else.
# Role statements (Sid and actions) mirror nexuskit/provision/policies.py.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

# The role (not the STS session) of whoever runs Terraform: the signing key's admin when
# signing_key_admins is empty (as nexuskit/provision/signing_key.py does).
data "aws_iam_session_context" "current" {
  arn = data.aws_caller_identity.current.arn
}

locals {
  function_name       = "${var.prefix}-auth"
  signing_secret_name = "${var.prefix}/token-signing-key"
  signing_key_admins  = length(var.signing_key_admins) > 0 ? var.signing_key_admins : [data.aws_iam_session_context.current.issuer_arn]
}

# --- Token signing key ----------------------------------------------------------------------

# Terraform owns the secret and who may read it, never the key material: nexuskit writes
# and rotates the signing key set (`kid`s), so no private key ever lands in the state.
resource "aws_secretsmanager_secret" "token_signing" {
  name                    = local.signing_secret_name
  description             = "Signing key set of the bearer tokens issued by ${local.function_name}"
  recovery_window_in_days = 7

  tags = var.tags
}

# Only the auth Lambda's role (and the key's admins) may read the key, only the admins
# write it: an explicit deny on the secret itself, so no identity policy granted anywhere
# else (secretsmanager:* on *, say) can reach it. Statements mirror
# nexuskit/provision/policies.py signing_key_resource_policy.
data "aws_iam_policy_document" "token_signing" {
  statement {
    sid       = "OnlyTheAuthFunctionReadsTheKey"
    effect    = "Deny"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = concat([aws_iam_role.lambda_exec.arn], local.signing_key_admins)
    }
  }

  statement {
    sid       = "OnlyAdminsWriteTheKey"
    effect    = "Deny"
    actions   = ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"]
    resources = ["*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = local.signing_key_admins
    }
  }
}

resource "aws_secretsmanager_secret_policy" "token_signing" {
  secret_arn          = aws_secretsmanager_secret.token_signing.arn
  policy              = data.aws_iam_policy_document.token_signing.json
  block_public_policy = true
}

# --- Lambda execution role ------------------------------------------------------------------

data "aws_iam_policy_document" "lambda_exec_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda_exec" {
  name               = "${var.prefix}-auth-lambda-exec"
  description        = "Execution role of the auth Lambda: logs, signing key, assume bearer role"
  assume_role_policy = data.aws_iam_policy_document.lambda_exec_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "lambda_exec" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [var.lambda_log_group.arn, "${var.lambda_log_group.arn}:log-stream:*"]
  }

  statement {
    sid       = "SigningKey"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [aws_secretsmanager_secret.token_signing.arn]
  }

  statement {
    sid       = "AssumeBearer"
    actions   = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
    resources = [aws_iam_role.kinesis_bearer.arn]
  }
}

resource "aws_iam_role_policy" "lambda_exec" {
  name   = "${aws_iam_role.lambda_exec.name}-policy"
  role   = aws_iam_role.lambda_exec.id
  policy = data.aws_iam_policy_document.lambda_exec.json
}

# --- Bearer role (its STS credentials go into the bearer tokens) ---------------------------

data "aws_iam_policy_document" "kinesis_bearer_trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.lambda_exec.arn]
    }
  }
}

resource "aws_iam_role" "kinesis_bearer" {
  name                 = "${var.prefix}-kinesis-bearer"
  description          = "Bearer-token role: client data stream, client video stream, client Firehose"
  assume_role_policy   = data.aws_iam_policy_document.kinesis_bearer_trust.json
  max_session_duration = 3600

  tags = var.tags
}

data "aws_iam_policy_document" "kinesis_bearer" {
  statement {
    sid = "ClientStream"
    actions = [
      "kinesis:PutRecord",
      "kinesis:PutRecords",
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:ListShards",
    ]
    resources = [var.client_stream.arn]
  }

  dynamic "statement" {
    for_each = var.client_video_stream == null ? [] : [var.client_video_stream.arn]

    content {
      sid = "ClientVideoStream"
      actions = [
        "kinesisvideo:PutMedia",
        "kinesisvideo:GetDataEndpoint",
        "kinesisvideo:DescribeStream",
      ]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "ClientFirehose"
    actions   = ["firehose:PutRecord", "firehose:PutRecordBatch"]
    resources = [var.client_firehose.arn]
  }
}

resource "aws_iam_role_policy" "kinesis_bearer" {
  name   = "${aws_iam_role.kinesis_bearer.name}-policy"
  role   = aws_iam_role.kinesis_bearer.id
  policy = data.aws_iam_policy_document.kinesis_bearer.json
}

# --- Auth Lambda ----------------------------------------------------------------------------

# The deployment package is built by nexuskit (`nexuskit tf package`, nexuskit/edge/package.py):
# a reproducible zip of services/auth with its third-party dependencies installed for the
# function's runtime and architecture. Terraform takes its path and hash; a new hash is a
# new deployment.
resource "aws_lambda_function" "auth" {
  function_name                  = local.function_name
  description                    = "Issues bearer tokens with STS credentials for the client streams"
  role                           = aws_iam_role.lambda_exec.arn
  runtime                        = var.auth_runtime
  architectures                  = [var.auth_architecture]
  handler                        = var.auth_handler
  filename                       = var.auth_package_path
  source_code_hash               = var.auth_package_sha256
  layers                         = var.auth_layer_arns
  memory_size                    = 256
  timeout                        = 10
  reserved_concurrent_executions = var.auth_reserved_concurrency

  environment {
    variables = {
      TOKEN_TTL_MIN             = tostring(var.token_ttl_min_minutes)
      TOKEN_TTL_MAX             = tostring(var.token_ttl_max_minutes)
      TOKEN_TTL_DEFAULT         = tostring(var.token_ttl_default_minutes)
      BEARER_ROLE_ARN           = aws_iam_role.kinesis_bearer.arn
      SIGNING_SECRET_ID         = aws_secretsmanager_secret.token_signing.name
      TOKEN_ISSUER              = "urn:nexus:${var.prefix}:auth"
      TOKEN_AUDIENCE            = "urn:nexus:${var.prefix}:client-streams"
      SIGNING_KEY_CACHE_SECONDS = "60"
      CLIENT_DATA_STREAM_NAME   = var.client_stream.name
      CLIENT_DATA_STREAM_ARN    = var.client_stream.arn
      CLIENT_VIDEO_STREAM_NAME  = try(var.client_video_stream.name, "")
      CLIENT_VIDEO_STREAM_ARN   = try(var.client_video_stream.arn, "")
      CLIENT_FIREHOSE_NAME      = var.client_firehose.name
      CLIENT_FIREHOSE_ARN       = var.client_firehose.arn
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = var.lambda_log_group.name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.lambda_exec]
}

# --- HTTP API -------------------------------------------------------------------------------

resource "aws_apigatewayv2_api" "ui" {
  name          = "${var.prefix}-ui"
  description   = "Nexus edge: token service (POST /auth) and its JWKS"
  protocol_type = "HTTP"

  dynamic "cors_configuration" {
    for_each = length(var.cors_allow_origins) > 0 ? [var.cors_allow_origins] : []

    content {
      allow_origins = cors_configuration.value
      allow_methods = ["GET", "POST", "OPTIONS"]
      allow_headers = ["content-type", "authorization"]
      max_age       = 3600
    }
  }

  tags = var.tags
}

resource "aws_apigatewayv2_integration" "auth" {
  api_id                 = aws_apigatewayv2_api.ui.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.auth.invoke_arn
  payload_format_version = "2.0"
  # above the function's 10 s timeout, so a slow function's own error reaches the caller
  timeout_milliseconds = 15000
}

# The token endpoint is open by default (spec: it issues the tokens other calls need);
# auth_authorization_type = "AWS_IAM" puts it behind IAM: callers sign with SigV4 and need
# execute-api:Invoke on .../prod/POST/auth.
resource "aws_apigatewayv2_route" "auth" {
  api_id             = aws_apigatewayv2_api.ui.id
  route_key          = "POST /auth"
  authorization_type = var.auth_authorization_type
  target             = "integrations/${aws_apigatewayv2_integration.auth.id}"
}

resource "aws_apigatewayv2_route" "jwks" {
  api_id             = aws_apigatewayv2_api.ui.id
  route_key          = "GET /.well-known/jwks.json"
  authorization_type = "NONE"
  target             = "integrations/${aws_apigatewayv2_integration.auth.id}"
}

resource "aws_apigatewayv2_stage" "prod" {
  api_id      = aws_apigatewayv2_api.ui.id
  name        = "prod"
  auto_deploy = true

  access_log_settings {
    destination_arn = var.api_log_group.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      path               = "$context.path"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      integrationStatus  = "$context.integrationStatus"
      errorMessage       = "$context.error.message"
      integrationError   = "$context.integrationErrorMessage"
    })
  }

  default_route_settings {
    detailed_metrics_enabled = true
    throttling_rate_limit    = var.throttling_rate_limit
    throttling_burst_limit   = var.throttling_burst_limit
  }

  tags = var.tags
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.auth.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.ui.execution_arn}/*/*"
}
