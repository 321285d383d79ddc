output "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider."
  value       = aws_iam_openid_connect_provider.eks.arn
}

output "agent_irsa_role_arn" {
  description = "Role for nexus-agent-core/agent-orchestrator (annotate the service account with it)."
  value       = aws_iam_role.agent_irsa.arn
}

output "aws_mcp_irsa_role_arn" {
  description = "Role for nexus-mcp/aws-mcp (annotate the service account with it)."
  value       = aws_iam_role.aws_mcp_irsa.arn
}

output "ui_irsa_role_arn" {
  description = "Role for nexus-agent-core/nexus-ui (annotate the service account with it)."
  value       = aws_iam_role.ui_irsa.arn
}

output "karpenter_controller_role_arn" {
  description = "Role of the Karpenter controller (null when Karpenter is off)."
  value       = one(aws_iam_role.karpenter_controller[*].arn)
}

output "service_account_roles" {
  description = "\"namespace/name\" of each bound service account -> role ARN."
  value = {
    "nexus-agent-core/agent-orchestrator" = aws_iam_role.agent_irsa.arn
    "nexus-mcp/aws-mcp"                   = aws_iam_role.aws_mcp_irsa.arn
    "nexus-agent-core/nexus-ui"           = aws_iam_role.ui_irsa.arn
  }
}
