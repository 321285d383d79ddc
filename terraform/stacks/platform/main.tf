# The Nexus platform on AWS (spec §2): network, EKS with IRSA, streaming, the medallion
# lake with Lake Formation, the edge (HTTP API + auth Lambda) and the log groups.
# Values come from envs/<env>/terraform.tfvars.json:
#   terraform init -backend-config=../../envs/prod/backend.hcl
#   terraform plan -var-file=../../envs/prod/terraform.tfvars.json

module "observability" {
  source = "../../modules/observability"

  prefix             = local.prefix
  log_retention_days = var.log_retention_days
}

module "network" {
  source = "../../modules/network"

  prefix                  = local.prefix
  vpc_cidr                = var.vpc_cidr
  availability_zones      = var.availability_zones
  cluster_name            = "${local.prefix}-eks"
  flow_log_retention_days = var.log_retention_days
}

module "datalake" {
  source = "../../modules/datalake"

  prefix                = local.prefix
  region                = var.region
  bucket_tiers          = var.bucket_tiers
  enable_lake_formation = var.enable_lake_formation
  lakeformation_admins  = var.lakeformation_admins
}

module "streaming" {
  source = "../../modules/streaming"

  prefix                                 = local.prefix
  primary_stream_shards                  = var.primary_stream_shards
  primary_stream_retention_hours         = var.primary_stream_retention_hours
  client_stream_shards                   = var.client_stream_shards
  client_stream_retention_hours          = var.client_stream_retention_hours
  enable_video_streams                   = var.enable_video_streams
  telemetry_video_retention_hours        = var.telemetry_video_retention_hours
  client_telemetry_video_retention_hours = var.client_telemetry_video_retention_hours
  firehose_buffering_size_mb             = var.firehose_buffering_size_mb
  firehose_buffering_interval_seconds    = var.firehose_buffering_interval_seconds
  firehose_compression                   = var.firehose_compression
  client_firehose_prefix                 = var.client_firehose_prefix
  bronze_bucket_arn                      = module.datalake.bronze_bucket_arn
  primary_firehose_log_group             = module.observability.primary_firehose_log_group
  client_firehose_log_group              = module.observability.client_firehose_log_group
}

module "edge" {
  source = "../../modules/edge"

  prefix                    = local.prefix
  auth_package_path         = var.auth_package_path
  auth_package_sha256       = var.auth_package_sha256
  token_ttl_min_minutes     = var.token_ttl_min_minutes
  token_ttl_max_minutes     = var.token_ttl_max_minutes
  token_ttl_default_minutes = var.token_ttl_default_minutes
  throttling_rate_limit     = var.auth_throttling_rate_limit
  throttling_burst_limit    = var.auth_throttling_burst_limit
  auth_authorization_type   = var.auth_route_authorization_type
  signing_key_admins        = var.token_signing_key_admins
  client_stream             = module.streaming.client_stream
  client_video_stream       = module.streaming.client_telemetry_video_stream
  client_firehose           = module.streaming.client_firehose
  lambda_log_group          = module.observability.lambda_log_group
  api_log_group             = module.observability.api_log_group
  enable_custom_domain      = var.enable_custom_domain
  custom_domain_name        = var.custom_domain_name
}

module "eks" {
  source = "../../modules/eks"
  count  = var.enable_eks ? 1 : 0

  prefix             = local.prefix
  cluster_version    = var.eks_cluster_version
  vpc_id             = module.network.vpc_id
  private_subnet_ids = module.network.private_subnet_ids
  general_node_group = var.node_groups["general"]
  mcp_node_group     = var.node_groups["mcp"]
  log_retention_days = var.log_retention_days
  enable_karpenter   = var.enable_karpenter
}

module "irsa" {
  source = "../../modules/irsa"
  count  = var.enable_eks ? 1 : 0

  prefix              = local.prefix
  region              = var.region
  cluster_name        = module.eks[0].cluster_name
  oidc_issuer_url     = module.eks[0].oidc_issuer_url
  bedrock_model_ids   = local.bedrock_model_ids
  stream_arns         = [module.streaming.primary_stream.arn, module.streaming.client_stream.arn]
  firehose_arns       = [module.streaming.primary_firehose.arn, module.streaming.client_firehose.arn]
  video_stream_arns   = local.video_stream_arns
  lake_bucket_arns    = module.datalake.bucket_arns
  enable_karpenter    = var.enable_karpenter
  node_role_arn       = module.eks[0].node_role_arn
  karpenter_queue_arn = module.eks[0].karpenter_queue_arn
}

module "lake" {
  source = "../../modules/lake"

  prefix        = local.prefix
  region        = var.region
  bucket_tiers  = var.bucket_tiers
  buckets       = { for tier, bucket in module.datalake.buckets : tier => bucket.name }
  location_arns = module.datalake.location_arns
  assets_bucket = "${local.prefix}-glue-assets-${var.region}"
  # the jobs' code, built by nexuskit (nexuskit tf package / --local runs pass it)
  glue_assets            = var.medallion_glue_assets
  client_firehose_prefix = var.client_firehose_prefix
  principal_arns = merge(
    {
      lambda_exec    = module.edge.lambda_exec_role_arn
      kinesis_bearer = module.edge.kinesis_bearer_role_arn
      firehose       = module.streaming.firehose_role_arn
    },
    var.enable_eks ? {
      agent_irsa   = module.irsa[0].agent_irsa_role_arn
      aws_mcp_irsa = module.irsa[0].aws_mcp_irsa_role_arn
      ui_irsa      = module.irsa[0].ui_irsa_role_arn
    } : {},
  )
  lake_grants = var.enable_lake_formation ? var.lake_grants : {}
  # No module-wide depends_on on module.datalake: it held every resource here (the Glue
  # assets bucket and its 55 s lifecycle confirmation among them) behind the tier buckets'
  # lifecycle waits. The grants wait for the registrations through location_arns instead.
}

module "agentstate" {
  source = "../../modules/agentstate"

  prefix = local.prefix
}
