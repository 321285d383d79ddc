"""IAM for the embedded engine: resource-scoped enforcement (``--iam enforce|log|off``,
:mod:`.extension`) and the AWS managed policies every account sees (:mod:`.managed_policies`).

Enforcement's backend (:class:`.models.EnforcementBackend`) is assembled from one module
per concern: :mod:`.identity` (identities and sessions), :mod:`.state` (what it keeps),
:mod:`.authentication`, :mod:`.authorization`, :mod:`.lake` (Lake Formation checks on S3),
:mod:`.sts` (AssumeRole and sessions) and :mod:`.lookups` (ARNs in other services)."""
