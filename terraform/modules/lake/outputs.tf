output "databases" {
  description = "Medallion tier -> Glue database name."
  value       = { for tier, database in aws_glue_catalog_database.tier : tier => database.name }
}

output "medallion_glue_role_arn" {
  description = "ARN of the medallion jobs' Glue role."
  value       = aws_iam_role.medallion_glue.arn
}

output "assets_bucket" {
  description = "Name of the Glue jobs' assets bucket."
  value       = aws_s3_bucket.glue_assets.id
}

output "glue_jobs" {
  description = "Medallion step -> Glue job name (empty without glue_assets)."
  value       = { for step, job in aws_glue_job.medallion : step => job.name }
}
