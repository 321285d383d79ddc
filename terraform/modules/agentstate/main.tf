# agent-core's state in DynamoDB (services/agent_core): the workflow runs any replica answers
# for (PREFIX-agent-runs, hash key run_id, expired by TTL on expires_at) and the shard leases
# the consumers share (PREFIX-agent-checkpoints, hash key lease_key). On demand, encrypted
# with the AWS managed key, point-in-time recovery on.

locals {
  tables = {
    runs        = { name = "${var.prefix}-agent-runs", key = "run_id", ttl = "expires_at" }
    checkpoints = { name = "${var.prefix}-agent-checkpoints", key = "lease_key", ttl = null }
  }
}

resource "aws_dynamodb_table" "agent" {
  for_each = local.tables

  name         = each.value.name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = each.value.key

  attribute {
    name = each.value.key
    type = "S"
  }

  dynamic "ttl" {
    for_each = each.value.ttl == null ? [] : [each.value.ttl]

    content {
      enabled        = true
      attribute_name = ttl.value
    }
  }

  server_side_encryption {
    enabled = true
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = merge(var.tags, { "nexus:owner" = "agent-core" })
}
