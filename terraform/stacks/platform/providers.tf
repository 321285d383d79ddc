provider "aws" {
  region = var.region

  # Refuse to touch any account but the ones the environment names.
  allowed_account_ids = var.allowed_account_ids

  default_tags {
    tags = local.tags
  }
}
