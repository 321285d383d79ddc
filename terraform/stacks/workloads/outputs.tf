output "manifest_files" {
  description = "Manifest files applied, relative to the services folder."
  value       = local.manifest_files
}

output "objects" {
  description = "Kubernetes objects applied, as kind/namespace/name."
  value       = sort(keys(local.objects))
}

output "target" {
  description = "Where the manifests went: the EKS cluster name, or the kubeconfig used."
  value       = local.use_kubeconfig ? "kubeconfig:${var.kubeconfig_path}" : "eks:${local.cluster_name}"
}
