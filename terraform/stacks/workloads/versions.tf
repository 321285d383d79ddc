terraform {
  required_version = "~> 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.36"
    }
  }

  # Same envs/<env>/backend.hcl as the platform stack, another key.
  backend "s3" {
    key          = "workloads/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
