output "buckets" {
  description = "Medallion tier -> bucket name and ARN."
  value = {
    for tier, bucket in aws_s3_bucket.tier : tier => {
      name = bucket.id
      arn  = bucket.arn
    }
  }
}

output "bucket_arns" {
  description = "ARNs of the medallion buckets, in the order of var.bucket_tiers."
  value       = [for tier in var.bucket_tiers : aws_s3_bucket.tier[tier].arn]
}

output "bronze_bucket_arn" {
  description = "ARN of the bronze bucket (Firehose destination)."
  value       = aws_s3_bucket.tier["bronze"].arn
}

output "lakeformation_admins" {
  description = "Principals that administer Lake Formation and hold DATA_LOCATION_ACCESS."
  value       = local.lakeformation_admins
}

output "location_arns" {
  description = "Medallion tier -> ARN of the bucket registered with Lake Formation (empty when Lake Formation is off)."
  value       = { for tier, location in aws_lakeformation_resource.tier : tier => location.arn }
}
