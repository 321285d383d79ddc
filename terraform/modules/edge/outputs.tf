output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.ui.id
}

output "api_name" {
  description = "Name of the HTTP API."
  value       = aws_apigatewayv2_api.ui.name
}

output "invoke_url" {
  description = "Invoke URL of the prod stage (POST <invoke_url>/auth)."
  value       = aws_apigatewayv2_stage.prod.invoke_url
}

output "auth_url" {
  description = "URL of the token endpoint (custom domain when enabled)."
  value       = var.enable_custom_domain ? "https://${var.custom_domain_name}/auth" : "${aws_apigatewayv2_stage.prod.invoke_url}/auth"
}

output "auth_function_name" {
  description = "Name of the auth Lambda."
  value       = aws_lambda_function.auth.function_name
}

output "lambda_exec_role_arn" {
  description = "ARN of the auth Lambda's execution role."
  value       = aws_iam_role.lambda_exec.arn
}

output "kinesis_bearer_role_arn" {
  description = "ARN of the bearer role whose credentials the tokens carry."
  value       = aws_iam_role.kinesis_bearer.arn
}

output "token_signing_secret_arn" {
  description = "ARN of the token signing key secret (nexuskit writes its value)."
  value       = aws_secretsmanager_secret.token_signing.arn
}

output "auth_authorization_type" {
  description = "Authorization of POST /auth: NONE, or AWS_IAM (callers sign with SigV4 for execute-api)."
  value       = aws_apigatewayv2_route.auth.authorization_type
}
