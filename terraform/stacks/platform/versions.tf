terraform {
  # 1.10: S3 native state locking (use_lockfile); 1.9: cross-variable validations.
  required_version = "~> 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7"
    }
  }

  # Partial configuration: bucket and region come from envs/<env>/backend.hcl
  # (terraform init -backend-config=../../envs/prod/backend.hcl). Local runs replace this
  # backend through the override file nexuskit writes (terraform { backend "local" {} }).
  backend "s3" {
    key          = "platform/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
