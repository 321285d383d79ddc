"""IAM for the embedded engine: resource-scoped enforcement (``--iam enforce|log|off``,
:mod:`.extension`) and the AWS managed policies every account sees (:mod:`.managed_policies`)."""
