provider "aws" {
  region              = var.region
  allowed_account_ids = var.allowed_account_ids

  default_tags {
    tags = merge(var.tags, { Project = var.project, Environment = var.environment })
  }
}

# EKS by default (endpoint, CA and a short-lived token read by cluster name); a kubeconfig
# (kind) when kubeconfig_path is set.
data "aws_eks_cluster" "this" {
  count = local.use_kubeconfig ? 0 : 1

  name = local.cluster_name
}

data "aws_eks_cluster_auth" "this" {
  count = local.use_kubeconfig ? 0 : 1

  name = local.cluster_name
}

provider "kubernetes" {
  config_path    = local.use_kubeconfig ? var.kubeconfig_path : null
  config_context = local.use_kubeconfig && var.kube_context != "" ? var.kube_context : null

  host                   = local.use_kubeconfig ? null : data.aws_eks_cluster.this[0].endpoint
  cluster_ca_certificate = local.use_kubeconfig ? null : base64decode(data.aws_eks_cluster.this[0].certificate_authority[0].data)
  token                  = local.use_kubeconfig ? null : data.aws_eks_cluster_auth.this[0].token
}
