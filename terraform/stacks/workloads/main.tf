# The Kubernetes workloads (spec §2.4), defined once as manifests under
# services/*/k8s/*.yaml (and services/mcp/*/k8s/*.yaml) and applied here to EKS, or to kind
# for local runs. Every YAML document becomes one kubernetes_manifest keyed by
# kind/namespace/name, so reordering files never replaces objects. No manifests yet means
# nothing to apply (the three namespaces of the spec are created regardless).

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  prefix         = "${var.project}-${var.environment}"
  cluster_name   = "${local.prefix}-eks"
  use_kubeconfig = var.kubeconfig_path != ""
  services_dir   = var.services_dir != "" ? var.services_dir : "${path.root}/../../../services"

  namespaces = ["nexus-agent-core", "nexus-mcp", "nexus-data"]

  # Service accounts bound to IRSA roles (same names as the platform stack's irsa module).
  irsa_roles = {
    "nexus-agent-core/agent-orchestrator" = "${local.prefix}-agent-irsa"
    "nexus-mcp/aws-mcp"                   = "${local.prefix}-aws-mcp-irsa"
    "nexus-agent-core/nexus-ui"           = "${local.prefix}-ui-irsa"
  }

  manifest_files = sort(tolist(fileset(local.services_dir, "**/k8s/*.yaml")))

  # Split each file into YAML documents ("---" lines) and drop empty or comment-only ones.
  documents = flatten([
    for manifest in local.manifest_files : [
      for chunk in split("\n---", "\n${file("${local.services_dir}/${manifest}")}") :
      yamldecode(chunk)
      if trimspace(join("", [for line in split("\n", chunk) : startswith(trimspace(line), "#") ? "" : line])) != ""
    ]
  ])

  objects = {
    for doc in local.documents :
    "${doc.kind}/${try(doc.metadata.namespace, "_")}/${doc.metadata.name}" => doc
  }

  cluster_scoped_kinds = ["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PriorityClass", "StorageClass"]

  cluster_scoped = { for key, doc in local.objects : key => doc if contains(local.cluster_scoped_kinds, doc.kind) }
  namespaced     = { for key, doc in local.objects : key => doc if !contains(local.cluster_scoped_kinds, doc.kind) }

  # Namespaces of the spec that no manifest declares.
  manifest_namespaces = [for doc in values(local.cluster_scoped) : doc.metadata.name if doc.kind == "Namespace"]
  missing_namespaces  = setsubtract(toset(local.namespaces), toset(local.manifest_namespaces))

  role_arn_prefix = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role"

  # Patches merged over the manifests: the IRSA role on the bound service accounts, and the
  # promoted images on the pod templates. Each patch is a list that is empty when it does not
  # apply, so merge() leaves the document untouched.
  patched = {
    for key, doc in local.namespaced : key => merge(concat(
      [doc],
      [
        for sa in [key] : {
          metadata = merge(doc.metadata, {
            annotations = merge(try(doc.metadata.annotations, {}), {
              "eks.amazonaws.com/role-arn" = "${local.role_arn_prefix}/${local.irsa_roles["${doc.metadata.namespace}/${doc.metadata.name}"]}"
            })
          })
        }
        if doc.kind == "ServiceAccount" && contains(keys(local.irsa_roles), "${try(doc.metadata.namespace, "")}/${doc.metadata.name}")
      ],
      [
        for workload in [key] : {
          spec = merge(doc.spec, {
            template = merge(doc.spec.template, {
              spec = merge(doc.spec.template.spec, {
                containers = [
                  for container in doc.spec.template.spec.containers :
                  merge(container, { image = lookup(var.image_overrides, replace(container.image, "/(@sha256:[0-9a-f]+|:[^:/]+)$/", ""), container.image) })
                ]
              })
            })
          })
        }
        if length(var.image_overrides) > 0 && contains(["Deployment", "StatefulSet", "DaemonSet"], doc.kind)
      ],
    )...)
  }
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
  for_each = local.cluster_scoped

  manifest = each.value
}

resource "kubernetes_manifest" "namespaced" {
  for_each = local.patched

  manifest = each.value

  depends_on = [
    kubernetes_namespace_v1.spec,
    kubernetes_manifest.cluster_scoped,
  ]
}
