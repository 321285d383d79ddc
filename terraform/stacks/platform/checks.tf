# Blocking rules live in the variables' validations (plan fails). These checks warn at
# every plan and apply without blocking: they catch what only the promotion gate can fix.

check "prod_account_is_real" {
  assert {
    condition     = var.environment != "prod" || !contains(var.allowed_account_ids, "123456789012")
    error_message = "allowed_account_ids still holds the placeholder account 123456789012: put the real prod account in envs/prod/terraform.tfvars.json (spec §8)."
  }
}

check "prod_log_retention" {
  assert {
    condition     = var.environment != "prod" || var.log_retention_days >= 90
    error_message = "prod keeps its logs for less than 90 days; audits (spec §6) expect at least 90."
  }
}

check "medallion_jobs_have_code" {
  assert {
    condition     = var.medallion_glue_assets != null
    error_message = "medallion_glue_assets is not set: the assets bucket is made but no medallion Glue job; build the code with `nexuskit tf package` and pass -var-file=<build>/glue/medallion-glue.tfvars.json."
  }
}
