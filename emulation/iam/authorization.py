"""Authorization: the caller's policies, resource policies (bucket and secret policies) and
session restrictions decide each permission a request needs."""

from __future__ import annotations

from emulation.core.moto_compat import existing_backend
from emulation.iam.actions import RequestTarget
from emulation.iam.exceptions import (
    AccessDeniedException,
    InvalidTokenException,
)
from emulation.iam.identity import Denial, Identity, IdentityKind
from emulation.iam.lake import LakeFormationChecks
from emulation.iam.policies import (
    Caller,
    Policy,
    Resource,
    Verdict,
    compile_cached,
    evaluate,
)


class Authorization(LakeFormationChecks):
    """Deciding a request's permissions for an identity (the first denial, or None)."""

    def bucket_policies(self, bucket: str | None) -> list[Policy]:
        if not bucket:
            return []
        from moto.s3.models import s3_backends

        located = s3_backends.bucket_accounts.get(bucket)
        if not located:
            return []
        partition, account = located
        backend = existing_backend(s3_backends, account, partition)
        found = backend.buckets.get(bucket) if backend is not None else None
        raw = getattr(found, "policy", None)
        if not raw:
            return []
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        compiled = compile_cached(text, f"bucket policy of {bucket}")
        return [compiled] if compiled is not None else []

    def secret_policies(self, target: RequestTarget) -> list[Policy]:
        """Resource policies of the Secrets Manager secrets a request names (their explicit
        denies bind every caller but the bootstrap admin, as in AWS)."""

        found: list[Policy] = []
        for check in target.checks:
            arn = str(check.resource.arn)
            parts = arn.split(":")
            if not check.resource.resolved or len(parts) < 7 or parts[2] != "secretsmanager":
                continue
            backend = existing_backend("secretsmanager", parts[4], parts[3])
            secret = backend.secrets.get(arn) if backend is not None else None
            raw = getattr(secret, "policy", None)
            compiled = compile_cached(str(raw), f"resource policy of {arn}") if raw else None
            if compiled is not None:
                found.append(compiled)
        return found

    def resource_policies(self, target: RequestTarget) -> list[Policy]:
        if target.service == "s3":
            return self.bucket_policies(target.bucket)
        if target.service == "secretsmanager":
            return self.secret_policies(target)
        return []

    def authorize(
        self, identity: Identity, target: RequestTarget, request_context: dict[str, list[str]]
    ) -> Denial | None:
        """None when every permission the request needs is granted, else the first denial."""
        if identity.is_admin:
            return None
        session_denial = self._session_restriction(identity, target)
        if session_denial is not None:
            return session_denial
        if target.service == "sts" and target.operation in {"GetCallerIdentity", "GetSessionToken"}:
            return None  # AWS requires no permission for these
        context = {**request_context, **identity.context(), **target.context}
        resource_policies = self.resource_policies(target)
        caller = identity.caller() if identity.kind is not IdentityKind.ANONYMOUS else Caller(None)
        for check in target.checks:
            verdict = evaluate(
                identity.policies,
                check.action,
                check.resource,
                context,
                resource_policies=resource_policies,
                caller=caller,
            )
            if not verdict.allowed:
                return self._denial(identity, target, check.action, check.resource, verdict)
        if (
            self.lake_formation_on_s3
            and target.service == "s3"
            and identity.kind is not IdentityKind.ANONYMOUS
        ):
            return self._lake_formation(identity, target)
        return None

    def _session_restriction(self, identity: Identity, target: RequestTarget) -> Denial | None:
        if target.service == "sts" and target.operation == "GetSessionToken" and identity.is_temporary:
            message = "Cannot call GetSessionToken with session credentials"
            return Denial(identity.arn, "sts:GetSessionToken", "*", message, AccessDeniedException(message))
        if identity.kind is not IdentityKind.USER_SESSION:
            return None
        if target.service == "iam":
            return Denial(
                identity.arn,
                target.primary.action,
                str(target.primary.resource),
                "IAM API with GetSessionToken credentials (no MFA)",
                InvalidTokenException(),
            )
        if target.service == "sts" and target.operation not in {"AssumeRole", "GetCallerIdentity"}:
            message = f"Cannot call {target.operation} with session credentials"
            return Denial(identity.arn, target.primary.action, "*", message, AccessDeniedException(message))
        return None

    @staticmethod
    def _denial(
        identity: Identity, target: RequestTarget, action: str, resource: Resource, verdict: Verdict
    ) -> Denial:
        if identity.kind is IdentityKind.ANONYMOUS:
            error = AccessDeniedException("Access Denied", service=target.service)
            return Denial("anonymous", action, str(resource), "anonymous request", error)
        on_resource = ""
        s3_on_resource = ""
        if resource.resolved and resource.arn != "*":
            on_resource = f" on resource: {resource.arn}"
            s3_on_resource = f' on resource: "{resource.arn}"'
        head = f"User: {identity.arn} is not authorized to perform: {action}"
        error = AccessDeniedException(
            f"{head}{on_resource} {verdict.reason}",
            s3_message=f"{head}{s3_on_resource} {verdict.reason}",
            service=target.service,
        )
        return Denial(identity.arn, action, str(resource), verdict.reason, error)
