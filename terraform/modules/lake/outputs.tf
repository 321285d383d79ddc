output "databases" {
  description = "Medallion tier -> Glue database name."
  value       = { for tier, database in aws_glue_catalog_database.tier : tier => database.name }
}

output "medallion_glue_role_arn" {
  description = "ARN of the medallion jobs' Glue role."
  value       = aws_iam_role.medallion_glue.arn
}
