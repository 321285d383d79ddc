"""IAM for the embedded engine: resource-scoped enforcement (``--iam enforce|log|off``,
:mod:`.extension`) and the AWS managed policies every account sees (:mod:`.managed_policies`).

Enforcement's backend (:class:`.models.EnforcementBackend`) is assembled from one module
per concern: :mod:`.identity` (identities and sessions), :mod:`.state` (what it keeps),
:mod:`.authentication`, :mod:`.authorization`, :mod:`.lake` (Lake Formation checks on S3),
:mod:`.sts` (AssumeRole and sessions) and :mod:`.lookups` (ARNs in other services)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulation.core.extension import Extension
    from emulation.core.settings import EngineSettings


def create(settings: EngineSettings) -> Extension | None:
    """The IAM enforcement extension, or None with ``--iam off`` (then enforcement's modules
    are not imported at all)."""
    if settings.iam == "off":
        return None
    from emulation.iam.extension import IamEnforcement

    return IamEnforcement(settings, clock_skew=settings.clock_skew_seconds)
