output "tables" {
  description = "agent-core's DynamoDB tables: runs and checkpoints -> name."
  value       = { for key, table in aws_dynamodb_table.agent : key => table.name }
}
