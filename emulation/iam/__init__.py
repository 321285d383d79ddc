"""Resource-scoped IAM enforcement for the embedded engine (``--iam enforce|log|off``)."""
