# The workloads stack reads the same envs/<env>/terraform.tfvars.json as the platform
# stack; it declares only the keys it uses (Terraform warns about the others, it does not
# fail) plus how to reach the cluster.

variable "project" {
  description = "Project name; first half of the naming prefix project-environment."
  type        = string
}

variable "environment" {
  description = "Environment name; second half of the naming prefix."
  type        = string
}

variable "region" {
  description = "AWS region of the platform stack."
  type        = string
}

variable "allowed_account_ids" {
  description = "AWS account IDs this environment may be applied to."
  type        = list(string)
}

variable "tags" {
  description = "Tags of the environment (AWS default_tags; Kubernetes objects are labelled by their manifests)."
  type        = map(string)
  default     = {}
}

variable "kubeconfig_path" {
  description = "Kubeconfig to use instead of EKS (a kind cluster for local runs); empty means the EKS cluster PREFIX-eks."
  type        = string
  default     = ""
}

variable "kube_context" {
  description = "Context inside kubeconfig_path (kind names it kind-CLUSTER); empty means the current context."
  type        = string
  default     = ""
}

variable "manifests_dir" {
  description = "Folder of rendered manifests to apply (<service>/k8s/*.yaml): `nexuskit manifests --env ENV --out DIR` writes it; promotion renders it for the environment and passes it."
  type        = string
}

variable "image_overrides" {
  description = "Container image (without tag) as written in the manifests -> image to run instead, such as the ECR image promotion pushed."
  type        = map(string)
  default     = {}
}
