output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the EKS cluster."
  value       = aws_eks_cluster.this.arn
}

output "cluster_endpoint" {
  description = "Endpoint of the Kubernetes API server."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64-encoded CA certificate of the API server."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "oidc_issuer_url" {
  description = "OIDC issuer URL of the cluster (for IRSA)."
  value       = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

output "cluster_role_arn" {
  description = "ARN of the control plane role."
  value       = aws_iam_role.eks_cluster.arn
}

output "node_role_arn" {
  description = "ARN of the node role (managed node groups and Karpenter nodes)."
  value       = aws_iam_role.eks_nodes.arn
}

output "node_role_name" {
  description = "Name of the node role."
  value       = aws_iam_role.eks_nodes.name
}

output "karpenter_queue_name" {
  description = "Name of Karpenter's interruption queue (null when Karpenter is off)."
  value       = one(aws_sqs_queue.karpenter[*].name)
}

output "karpenter_queue_arn" {
  description = "ARN of Karpenter's interruption queue (null when Karpenter is off)."
  value       = one(aws_sqs_queue.karpenter[*].arn)
}
