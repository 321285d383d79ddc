# The lake's catalog and who may use it (spec §2.3, §2.4): one Glue database per medallion
# tier, the medallion jobs' Glue role, and the Lake Formation tier grants of var.lake_grants
# (envs/<env>/terraform.tfvars.json, the one source nexuskit/lake/grants.py reads too).
# A tier is read with SELECT on all its tables and DESCRIBE on its database; written with
# INSERT/DELETE/ALTER on its tables, CREATE_TABLE on its database and DATA_LOCATION_ACCESS on
# its bucket; a write_datasets entry is INSERT/DELETE on that one table.
# Tables (their schemas come from lake/datasets/*.yaml) are written by nexuskit and the jobs;
# Terraform creates only the tables a grant names, since Lake Formation grants need them.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  arn     = "arn:${data.aws_partition.current.partition}"
  catalog = replace(lower(var.prefix), "-", "_")

  databases = { for tier in var.bucket_tiers : tier => "${local.catalog}_${tier}" }

  principals = merge(var.principal_arns, { medallion_glue = aws_iam_role.medallion_glue.arn })

  # (principal key, tier) pairs with what the principal does there
  tier_grants = flatten([
    for key, grant in var.lake_grants : [
      for tier in distinct(concat(grant.read, grant.write)) : {
        key   = key
        tier  = tier
        read  = contains(grant.read, tier)
        write = contains(grant.write, tier)
      }
    ] if contains(keys(local.principals), key)
  ])

  table_grants = {
    for g in local.tier_grants : "${g.key}|${g.tier}" => merge(g, {
      permissions = sort(distinct(concat(g.read ? ["DESCRIBE", "SELECT"] : [], g.write ? ["ALTER", "DELETE", "DESCRIBE", "INSERT"] : [])))
    })
  }

  database_grants = {
    for g in local.tier_grants : "${g.key}|${g.tier}" => merge(g, {
      permissions = sort(distinct(concat(["DESCRIBE"], g.write ? ["ALTER", "CREATE_TABLE"] : [])))
    })
  }

  location_grants = { for g in local.tier_grants : "${g.key}|${g.tier}" => g if g.write }

  dataset_grants = {
    for item in flatten([
      for key, grant in var.lake_grants : [
        for tier, datasets in grant.write_datasets : [
          for dataset in datasets : { key = key, tier = tier, dataset = dataset }
        ]
      ] if contains(keys(local.principals), key)
    ]) : "${item.key}|${item.tier}.${item.dataset}" => item
  }

  granted_tables = { for item in values(local.dataset_grants) : "${item.tier}.${item.dataset}" => item }
}

# --- Glue catalog ---------------------------------------------------------------------------

resource "aws_glue_catalog_database" "tier" {
  for_each = local.databases

  name         = each.value
  description  = "nexus medallion tier ${each.key}"
  location_uri = "s3://${var.buckets[each.key]}/"
}

# The tables a dataset grant names. Their columns are the jobs' (nexuskit writes them from the
# dataset files at up and the jobs evolve them), so Terraform ignores everything but the name.
resource "aws_glue_catalog_table" "granted" {
  for_each = local.granted_tables

  name          = each.value.dataset
  database_name = aws_glue_catalog_database.tier[each.value.tier].name
  table_type    = "EXTERNAL_TABLE"

  storage_descriptor {
    location = "s3://${var.buckets[each.value.tier]}/${each.value.dataset}/"
  }

  lifecycle {
    ignore_changes = [description, parameters, partition_keys, storage_descriptor, table_type]
  }
}

# --- The medallion jobs' Glue role (nexuskit/lake/glue.py job_role_policies) ----------------

data "aws_iam_policy_document" "medallion_glue_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "medallion_glue" {
  name               = "${var.prefix}-medallion-glue"
  description        = "Glue role of the medallion jobs"
  assume_role_policy = data.aws_iam_policy_document.medallion_glue_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "medallion_glue" {
  statement {
    sid       = "LakeBuckets"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"]
    resources = [for bucket in concat(values(var.buckets), [var.assets_bucket]) : "${local.arn}:s3:::${bucket}"]
  }

  statement {
    sid = "LakeObjects"
    actions = [
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:DeleteObjectVersion",
    ]
    resources = [for bucket in values(var.buckets) : "${local.arn}:s3:::${bucket}/*"]
  }

  statement {
    sid       = "JobCode"
    actions   = ["s3:GetObject"]
    resources = ["${local.arn}:s3:::${var.assets_bucket}/*"]
  }

  statement {
    sid = "Catalog"
    actions = [
      "glue:GetDatabase",
      "glue:GetTable",
      "glue:GetTables",
      "glue:CreateTable",
      "glue:UpdateTable",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:BatchCreatePartition",
      "glue:CreatePartition",
    ]
    resources = concat(
      ["${local.arn}:glue:${var.region}:${local.account}:catalog"],
      flatten([
        for database in values(local.databases) : [
          "${local.arn}:glue:${var.region}:${local.account}:database/${database}",
          "${local.arn}:glue:${var.region}:${local.account}:table/${database}/*",
        ]
      ]),
    )
  }

  # GetDataAccess has no resource-level permission in AWS.
  statement {
    sid       = "LakeFormation"
    actions   = ["lakeformation:GetDataAccess"]
    resources = ["*"]
  }

  statement {
    sid     = "Logs"
    actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      "${local.arn}:logs:${var.region}:${local.account}:log-group:/aws-glue/*",
      "${local.arn}:logs:${var.region}:${local.account}:log-group:/aws-glue/*:log-stream:*",
    ]
  }
}

resource "aws_iam_role_policy" "medallion_glue" {
  name   = "${aws_iam_role.medallion_glue.name}-policy"
  role   = aws_iam_role.medallion_glue.id
  policy = data.aws_iam_policy_document.medallion_glue.json
}

# --- Lake Formation tier grants -------------------------------------------------------------

# Granting needs the Lake Formation admins set and the buckets registered (module datalake):
# the registrations' ARNs carry that dependency to every grant below, and on destroy the
# grants are revoked before the registrations and settings go.
resource "terraform_data" "lake_formation_ready" {
  input = var.location_arns
}

resource "aws_lakeformation_permissions" "tables" {
  for_each = local.table_grants

  principal   = local.principals[each.value.key]
  permissions = each.value.permissions

  table {
    database_name = aws_glue_catalog_database.tier[each.value.tier].name
    wildcard      = true
  }

  depends_on = [terraform_data.lake_formation_ready]
}

resource "aws_lakeformation_permissions" "database" {
  for_each = local.database_grants

  principal   = local.principals[each.value.key]
  permissions = each.value.permissions

  database {
    name = aws_glue_catalog_database.tier[each.value.tier].name
  }

  depends_on = [terraform_data.lake_formation_ready]
}

resource "aws_lakeformation_permissions" "location" {
  for_each = local.location_grants

  principal   = local.principals[each.value.key]
  permissions = ["DATA_LOCATION_ACCESS"]

  data_location {
    arn = var.location_arns[each.value.tier]
  }
}

resource "aws_lakeformation_permissions" "dataset" {
  for_each = local.dataset_grants

  principal   = local.principals[each.value.key]
  permissions = ["DELETE", "DESCRIBE", "INSERT"]

  table {
    database_name = aws_glue_catalog_database.tier[each.value.tier].name
    name          = aws_glue_catalog_table.granted["${each.value.tier}.${each.value.dataset}"].name
  }

  depends_on = [terraform_data.lake_formation_ready]
}
