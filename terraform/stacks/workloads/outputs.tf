output "manifest_files" {
  description = "Manifest files applied, relative to manifests_dir."
  value       = module.manifests.files
}

output "objects" {
  description = "Kubernetes objects applied, as kind/namespace/name."
  value       = module.manifests.keys
}

output "target" {
  description = "Where the manifests went: the EKS cluster name, or the kubeconfig used."
  value       = local.use_kubeconfig ? "kubeconfig:${var.kubeconfig_path}" : "eks:${local.cluster_name}"
}
