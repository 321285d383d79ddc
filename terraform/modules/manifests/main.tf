# The Kubernetes objects of a folder of rendered manifests (<service>/k8s/*.yaml, the same
# glob the local runtime reads), keyed kind/namespace/name, split into cluster-scoped and
# namespaced objects, with the IRSA role annotations and image overrides merged in. No
# provider: the workloads stack applies the result, and tests evaluate it with
# `terraform console` to compare it with the runtime's own set.

locals {
  files = sort(tolist(fileset(var.manifests_dir, "**/k8s/*.yaml")))

  # Split each file into YAML documents ("---" lines) and drop empty or comment-only ones.
  documents = flatten([
    for manifest in local.files : [
      for chunk in split("\n---", "\n${file("${var.manifests_dir}/${manifest}")}") :
      yamldecode(chunk)
      if trimspace(join("", [for line in split("\n", chunk) : startswith(trimspace(line), "#") ? "" : line])) != ""
    ]
  ])

  objects = {
    for doc in local.documents :
    "${doc.kind}/${try(doc.metadata.namespace, "")}/${doc.metadata.name}" => doc
  }

  cluster_scoped_kinds = ["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PriorityClass", "StorageClass"]

  cluster_scoped = { for key, doc in local.objects : key => doc if contains(local.cluster_scoped_kinds, doc.kind) }
  namespaced     = { for key, doc in local.objects : key => doc if !contains(local.cluster_scoped_kinds, doc.kind) }

  namespaces = sort([for doc in values(local.cluster_scoped) : doc.metadata.name if doc.kind == "Namespace"])

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
              "eks.amazonaws.com/role-arn" = var.irsa_roles["${doc.metadata.namespace}/${doc.metadata.name}"]
            })
          })
        }
        if doc.kind == "ServiceAccount" && contains(keys(var.irsa_roles), "${try(doc.metadata.namespace, "")}/${doc.metadata.name}")
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
