output "prefix" {
  description = "Naming prefix of every resource."
  value       = local.prefix
}

output "region" {
  description = "AWS region of the stack."
  value       = var.region
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "streams" {
  description = "Kinesis data streams (primary, client): name and ARN."
  value = {
    primary = module.streaming.primary_stream
    client  = module.streaming.client_stream
  }
}

output "video_streams" {
  description = "Kinesis video streams (null when disabled): name and ARN."
  value = {
    telemetry        = module.streaming.telemetry_video_stream
    client_telemetry = module.streaming.client_telemetry_video_stream
  }
}

output "firehose" {
  description = "Firehose delivery streams (primary, client): name and ARN."
  value = {
    primary = module.streaming.primary_firehose
    client  = module.streaming.client_firehose
  }
}

output "buckets" {
  description = "Medallion tier -> bucket name and ARN."
  value       = module.datalake.buckets
}

output "log_groups" {
  description = "The log groups of spec §2.6."
  value       = module.observability.log_group_names
}

output "auth_function" {
  description = "Name of the auth Lambda."
  value       = module.edge.auth_function_name
}

output "http_api" {
  description = "HTTP API: name, ID, prod invoke URL, token endpoint and its authorization (NONE or AWS_IAM)."
  value = {
    name               = module.edge.api_name
    id                 = module.edge.api_id
    invoke_url         = module.edge.invoke_url
    auth_url           = module.edge.auth_url
    auth_authorization = module.edge.auth_authorization_type
  }
}

output "roles" {
  description = "IAM role ARNs by Terraform resource name (as StackSpec.roles)."
  value = {
    agent_irsa     = one(module.irsa[*].agent_irsa_role_arn)
    aws_mcp_irsa   = one(module.irsa[*].aws_mcp_irsa_role_arn)
    ui_irsa        = one(module.irsa[*].ui_irsa_role_arn)
    lambda_exec    = module.edge.lambda_exec_role_arn
    kinesis_bearer = module.edge.kinesis_bearer_role_arn
    firehose       = module.streaming.firehose_role_arn
    eks_cluster    = one(module.eks[*].cluster_role_arn)
    eks_nodes      = one(module.eks[*].node_role_arn)
    medallion_glue = module.lake.medallion_glue_role_arn
  }
}

output "cluster" {
  description = "EKS cluster name and endpoint (null when EKS is off); the workloads stack reads the cluster by name."
  value = var.enable_eks ? {
    name                  = module.eks[0].cluster_name
    endpoint              = module.eks[0].cluster_endpoint
    oidc_issuer_url       = module.eks[0].oidc_issuer_url
    karpenter_role_arn    = module.irsa[0].karpenter_controller_role_arn
    karpenter_queue_name  = module.eks[0].karpenter_queue_name
    service_account_roles = module.irsa[0].service_account_roles
  } : null
}

output "token_signing_secret_arn" {
  description = "Secret that holds the token signing key set (written by nexuskit, not Terraform)."
  value       = module.edge.token_signing_secret_arn
}

output "glue_databases" {
  description = "Medallion tier -> Glue catalog database."
  value       = module.lake.databases
}

output "agent_tables" {
  description = "agent-core's DynamoDB tables (runs, checkpoints)."
  value       = module.agentstate.tables
}

output "glue_jobs" {
  description = "Medallion step -> Glue job name (empty without medallion_glue_assets)."
  value       = module.lake.glue_jobs
}
