# The Kubernetes workloads (spec §2.4), defined once as templates under
# services/**/k8s/templates/*.yaml and rendered by nexuskit with the environment's names
# (`nexuskit manifests --env ENV --out DIR`; `nexuskit up` renders the same into
# <state>/manifests for the local runtime). This stack applies exactly that rendered folder
# (var.manifests_dir) to EKS, or to a kubeconfig's cluster: every YAML document becomes one
# kubernetes_manifest keyed by kind/namespace/name, so reordering files never replaces
# objects. The three namespaces of the spec are created even if no manifest declares them.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  prefix         = "${var.project}-${var.environment}"
  cluster_name   = "${local.prefix}-eks"
  use_kubeconfig = var.kubeconfig_path != ""

  namespaces = ["nexus-agent-core", "nexus-mcp", "nexus-data"]

  # Service accounts bound to IRSA roles (same names as the platform stack's irsa module).
  irsa_roles = {
    "nexus-agent-core/agent-orchestrator" = "${local.prefix}-agent-irsa"
    "nexus-mcp/aws-mcp"                   = "${local.prefix}-aws-mcp-irsa"
    "nexus-agent-core/nexus-ui"           = "${local.prefix}-ui-irsa"
  }

  role_arn_prefix = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role"

  # Namespaces of the spec that no manifest declares.
  missing_namespaces = setsubtract(toset(local.namespaces), toset(module.manifests.namespaces))
}

module "manifests" {
  source = "../../modules/manifests"

  manifests_dir   = var.manifests_dir
  irsa_roles      = { for account, role in local.irsa_roles : account => "${local.role_arn_prefix}/${role}" }
  image_overrides = var.image_overrides
}

resource "kubernetes_namespace_v1" "spec" {
  for_each = local.missing_namespaces

  metadata {
    name = each.key
    labels = {
      "app.kubernetes.io/part-of" = "nexus"
    }
  }
}

resource "kubernetes_manifest" "cluster_scoped" {
  for_each = module.manifests.cluster_scoped

  manifest = each.value
}

resource "kubernetes_manifest" "namespaced" {
  for_each = module.manifests.namespaced

  manifest = each.value

  depends_on = [
    kubernetes_namespace_v1.spec,
    kubernetes_manifest.cluster_scoped,
  ]
}
