# The medallion jobs (services/medallion) as Glue Python shell jobs, and their code in the
# assets bucket "${prefix}-glue-assets-${region}". nexuskit builds the code
# (nexuskit/lake/glue.py build_assets: the three scripts, the shared library as a wheel, the
# dataset files of lake/ compiled to one JSON named by its content) and passes the files and
# their SHA-256 as var.glue_assets, as it does the auth Lambda's package; a new hash uploads
# the new bytes. Without var.glue_assets the bucket is made and no job is.
# `nexuskit lake promote --glue` deploys the same jobs the same way (deploy_jobs).

locals {
  glue_steps = var.glue_assets == null ? {} : var.glue_assets.scripts

  glue_objects = var.glue_assets == null ? {} : merge(
    { for step, script in var.glue_assets.scripts : script.key => script },
    {
      (var.glue_assets.library.key) = var.glue_assets.library
      (var.glue_assets.config.key)  = var.glue_assets.config
    },
  )

  # nexuskit/provision/storage.py NONCURRENT_VERSION_EXPIRATION_DAYS
  glue_assets_noncurrent_days = 90
}

# --- The assets bucket: held to what every bucket of the stack is --------------------------

resource "aws_s3_bucket" "glue_assets" {
  bucket = var.assets_bucket
  # Only build outputs live here (nexuskit rebuilds them from the checkout); `lake promote
  # --glue` may have added dataset-file versions Terraform does not track.
  force_destroy = true

  tags = var.tags
}

resource "aws_s3_bucket_ownership_controls" "glue_assets" {
  bucket = aws_s3_bucket.glue_assets.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "glue_assets" {
  bucket                  = aws_s3_bucket.glue_assets.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "glue_assets" {
  bucket = aws_s3_bucket.glue_assets.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "glue_assets" {
  bucket = aws_s3_bucket.glue_assets.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "glue_assets" {
  bucket = aws_s3_bucket.glue_assets.id

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
      noncurrent_days = local.glue_assets_noncurrent_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.glue_assets]
}

resource "aws_s3_bucket_notification" "glue_assets" {
  bucket      = aws_s3_bucket.glue_assets.id
  eventbridge = true
}

data "aws_iam_policy_document" "glue_assets_tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.glue_assets.arn, "${aws_s3_bucket.glue_assets.arn}/*"]

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

resource "aws_s3_bucket_policy" "glue_assets" {
  bucket = aws_s3_bucket.glue_assets.id
  policy = data.aws_iam_policy_document.glue_assets_tls_only.json

  depends_on = [aws_s3_bucket_public_access_block.glue_assets]
}

# --- The code ------------------------------------------------------------------------------

resource "aws_s3_object" "glue_assets" {
  #checkov:skip=CKV_AWS_186:SSE-S3 like the lake (spec §6); the bucket's default encryption applies, no CMK
  for_each = local.glue_objects

  bucket      = aws_s3_bucket.glue_assets.id
  key         = each.key
  source      = each.value.path
  source_hash = each.value.sha256
  # what deploy_jobs compares before uploading again (nexuskit/lake/glue.py _upload)
  metadata = { sha256 = each.value.sha256 }

  tags = var.tags

  depends_on = [aws_s3_bucket_versioning.glue_assets, aws_s3_bucket_server_side_encryption_configuration.glue_assets]
}

# --- The jobs (nexuskit/lake/glue.py job_definition and default_arguments) ------------------

resource "aws_glue_job" "medallion" {
  #checkov:skip=CKV_AWS_195:a security configuration only adds KMS CMKs (S3, logs), opt-in per spec §6 as for the buckets and log groups
  for_each = local.glue_steps

  name         = "${var.prefix}-${replace(each.key, "_", "-")}"
  description  = "nexus medallion ${replace(each.key, "_to_", " -> ")}"
  role_arn     = aws_iam_role.medallion_glue.arn
  glue_version = "3.0"
  max_capacity = 1
  timeout      = 60
  # Glue's default, said outright (see job_definition): unset, the engine's STANDARD plans a change
  execution_class = "STANDARD"

  command {
    name            = "pythonshell"
    script_location = "s3://${aws_s3_bucket.glue_assets.id}/${each.value.key}"
    python_version  = "3.9"
  }

  execution_property {
    max_concurrent_runs = 1
  }

  default_arguments = {
    "--lake_config"               = "s3://${aws_s3_bucket.glue_assets.id}/${var.glue_assets.config.key}"
    "--extra-py-files"            = "s3://${aws_s3_bucket.glue_assets.id}/${var.glue_assets.library.key}"
    "--additional-python-modules" = var.glue_assets.python_modules
    "--bronze_bucket"             = var.buckets["bronze"]
    "--silver_bucket"             = var.buckets["silver"]
    "--gold_bucket"               = var.buckets["gold"]
    "--vibranium_bucket"          = var.buckets["vibranium"]
    "--catalog_prefix"            = var.prefix
    "--client_prefix"             = var.client_firehose_prefix
    "--confidence_threshold"      = tostring(var.confidence_threshold)
    "--code_version"              = var.glue_assets.code_version
  }

  tags = var.tags

  # `nexuskit lake promote --glue` writes the checkout's version (git:<sha>[-dirty]) into
  # --code_version at every run, whatever the code: that drift is not a change to undo. The
  # code itself (scripts, wheel, dataset files) is tracked through the objects' hashes.
  lifecycle {
    ignore_changes = [default_arguments["--code_version"]]
  }

  depends_on = [aws_s3_object.glue_assets, aws_iam_role_policy.medallion_glue]
}
