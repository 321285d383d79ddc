# S3 backend of the prod environment, shared by stacks/platform (key platform/...) and
# stacks/workloads (key workloads/...); each stack sets its own `key`.
#
#   cd terraform/stacks/platform
#   terraform init -backend-config=../../envs/prod/backend.hcl
#
# Bootstrap (once per account, before the first init): the state bucket is not managed by
# this Terraform (it cannot hold its own state). Create it with versioning, default
# encryption and public access blocked, for example:
#
#   ACCOUNT=$(aws sts get-caller-identity --query Account --output text)
#   BUCKET=nexus-prod-tfstate-$ACCOUNT
#   aws s3api create-bucket --bucket "$BUCKET" --region us-west-2 \
#     --create-bucket-configuration LocationConstraint=us-west-2
#   aws s3api put-bucket-versioning --bucket "$BUCKET" --versioning-configuration Status=Enabled
#   aws s3api put-bucket-encryption --bucket "$BUCKET" \
#     --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
#   aws s3api put-public-access-block --bucket "$BUCKET" --public-access-block-configuration \
#     BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
#
# then replace the placeholder account below with $ACCOUNT. Locking uses an S3 lock file
# next to the state (use_lockfile, Terraform >= 1.10): no DynamoDB table is needed.

bucket       = "nexus-prod-tfstate-123456789012"
region       = "us-west-2"
encrypt      = true
use_lockfile = true
