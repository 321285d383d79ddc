variable "manifests_dir" {
  description = "Folder of rendered Kubernetes manifests (<service>/k8s/*.yaml), written by `nexuskit manifests` or by `nexuskit up` (<state>/manifests): the very files the local runtime runs."
  type        = string

  validation {
    condition     = fileexists("${var.manifests_dir}/.nexuskit-manifests")
    error_message = "manifests_dir must be a folder rendered by nexuskit (it holds .nexuskit-manifests): run `nexuskit manifests --env ENV --out DIR` and pass -var manifests_dir=DIR. The templates under services/**/k8s/templates are never applied as they are."
  }
}

variable "irsa_roles" {
  description = "Service account (namespace/name) -> IAM role ARN written into its eks.amazonaws.com/role-arn annotation."
  type        = map(string)
  default     = {}
}

variable "image_overrides" {
  description = "Container image (without tag) as written in the manifests -> image to run instead, such as the ECR image promotion pushed."
  type        = map(string)
  default     = {}
}
