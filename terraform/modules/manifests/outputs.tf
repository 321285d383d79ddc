output "files" {
  description = "Manifest files read, relative to manifests_dir."
  value       = local.files
}

output "keys" {
  description = "Every object, as kind/namespace/name (namespace empty for cluster-scoped kinds)."
  value       = sort(keys(local.objects))
}

output "namespaces" {
  description = "Namespaces the manifests declare."
  value       = local.namespaces
}

output "cluster_scoped" {
  description = "Cluster-scoped objects by key, as written."
  value       = local.cluster_scoped
}

output "namespaced" {
  description = "Namespaced objects by key, with the IRSA annotations and image overrides merged in."
  value       = local.patched
}
