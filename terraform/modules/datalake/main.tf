# Medallion data lake (spec §2.3): one bucket per tier, named
# "${prefix}-${tier}-${region}", versioned, SSE-S3 (AES256) encrypted, closed to the
# public, TLS-only, and tagged with its MedallionTier. Lake Formation registers every
# bucket as a data location and grants DATA_LOCATION_ACCESS to its administrators.

data "aws_caller_identity" "current" {}

# The caller may be an assumed-role session; Lake Formation wants the role's ARN.
data "aws_iam_session_context" "current" {
  arn = data.aws_caller_identity.current.arn
}

locals {
  tiers = toset(var.bucket_tiers)

  lakeformation_admins = length(var.lakeformation_admins) > 0 ? var.lakeformation_admins : [data.aws_iam_session_context.current.issuer_arn]

  # One DATA_LOCATION_ACCESS grant per (administrator, tier).
  data_location_grants = var.enable_lake_formation ? {
    for pair in setproduct(local.lakeformation_admins, var.bucket_tiers) :
    "${pair[1]}|${pair[0]}" => { principal = pair[0], tier = pair[1] }
  } : {}
}

resource "aws_s3_bucket" "tier" {
  for_each = local.tiers

  bucket        = "${var.prefix}-${each.key}-${var.region}"
  force_destroy = false

  tags = merge(var.tags, { MedallionTier = each.key })
}

resource "aws_s3_bucket_ownership_controls" "tier" {
  for_each = aws_s3_bucket.tier

  bucket = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "tier" {
  for_each = aws_s3_bucket.tier

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "tier" {
  for_each = aws_s3_bucket.tier

  bucket = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "tier" {
  for_each = aws_s3_bucket.tier

  bucket = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "tier" {
  for_each = aws_s3_bucket.tier

  bucket = each.value.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.tier]
}

# Object events go to EventBridge, where medallion jobs and audits subscribe to them.
resource "aws_s3_bucket_notification" "tier" {
  for_each = aws_s3_bucket.tier

  bucket      = each.value.id
  eventbridge = true
}

data "aws_iam_policy_document" "tls_only" {
  for_each = aws_s3_bucket.tier

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "tier" {
  for_each = aws_s3_bucket.tier

  bucket = each.value.id
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.tier]
}

# --- Lake Formation -------------------------------------------------------------------------

resource "aws_lakeformation_data_lake_settings" "this" {
  count = var.enable_lake_formation ? 1 : 0

  admins = local.lakeformation_admins
}

# Registered with the Lake Formation service-linked role.
resource "aws_lakeformation_resource" "tier" {
  for_each = var.enable_lake_formation ? aws_s3_bucket.tier : {}

  arn = each.value.arn

  depends_on = [aws_lakeformation_data_lake_settings.this]
}

resource "aws_lakeformation_permissions" "data_location" {
  for_each = local.data_location_grants

  principal   = each.value.principal
  permissions = ["DATA_LOCATION_ACCESS"]

  data_location {
    arn = aws_lakeformation_resource.tier[each.value.tier].arn
  }

  depends_on = [aws_lakeformation_data_lake_settings.this]
}
