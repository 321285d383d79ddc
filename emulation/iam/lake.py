"""``--lake-formation strict``: Lake Formation grants checked on direct S3 data calls."""

from __future__ import annotations

import time
from typing import Any

from emulation.iam.actions import RequestTarget
from emulation.iam.exceptions import AccessDeniedException
from emulation.iam.identity import Denial, Identity
from emulation.iam.state import IamState


class LakeFormationChecks(IamState):
    """Lake Formation grants from moto's state (cached for a second) on S3 data calls."""

    def _lake_formation(self, identity: Identity, target: RequestTarget) -> Denial | None:
        """``--lake-formation strict`` only: an S3 data call IAM allowed on a registered
        location also needs a Lake Formation grant (stricter than AWS)."""
        from emulation.lakeformation.enforcement import lake_formation_allows_arn

        grants = self._lake_grants(identity.account_id or "123456789012")
        principal = identity.role_arn or identity.arn
        for check in target.checks:
            arn = str(check.resource.arn)
            if not check.resource.resolved or not arn.startswith("arn:aws:s3:::"):
                continue
            if not lake_formation_allows_arn(principal, check.action, arn, grants):
                reason = "because no Lake Formation permission on the data location allows it"
                head = f"User: {identity.arn} is not authorized to perform: {check.action}"
                error = AccessDeniedException(
                    f"{head} on resource: {arn} {reason}",
                    s3_message=f'{head} on resource: "{arn}" {reason}',
                    service=target.service,
                )
                return Denial(identity.arn, check.action, arn, reason, error)
        return None

    def _lake_grants(self, account_id: str) -> Any:
        """Lake Formation grants from moto's state, cached for a second."""
        from emulation.lakeformation.state import grants_from_moto

        now = time.monotonic()
        cached = self._lake_cache.get(account_id)
        if cached is not None and now - cached[0] < 1.0:
            return cached[1]
        grants = grants_from_moto(account_id)
        self._lake_cache[account_id] = (now, grants)
        return grants
