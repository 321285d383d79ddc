"""Who is calling, and may they: identity resolution and authorization against moto state.

Identities (resolved from the access key a request is signed with):

* the bootstrap **admin** (``settings.admin_access_key``): allowed everything; trust
  policies still decide whether it may assume a role (it is admitted by ``Service``
  principals, as the engine assumes roles on behalf of Lambda and other services). Long-term
  keys belong to an IAM user in AWS (or the account root, which Lake Formation and many
  policies refuse as a principal), so the admin is the IAM user ``nexuskit-admin`` of the
  default account: ``GetCallerIdentity`` and ``GetUser`` without a name answer that (moto
  would answer ``arn:aws:sts::...:user/moto`` and a made-up ``default_user``), and
  Terraform's ``aws_caller_identity`` makes it the Lake Formation and signing-key admin;
* **IAM users**' access keys in moto's IAM backend (``Inactive`` keys are unknown keys);
* **assumed-role sessions** from moto's STS backend (AssumeRole and the web-identity and
  SAML variants): the role's inline and attached policies and permissions boundary,
  intersected with the session policies (``Policy`` and ``PolicyArns``, recorded by us
  because moto keeps only the inline one);
* **user sessions** from GetSessionToken, which we issue ourselves (moto returns a fixed
  example key it does not store): the user's permissions, no IAM API, STS only for
  AssumeRole and GetCallerIdentity, as AWS does.

Temporary credentials need their session token and are refused after their Expiration,
judged by :meth:`EnforcementBackend.now`: the real UTC clock plus
``NEXUSKIT_CLOCK_SKEW_SECONDS`` (read when the engine starts; for rehearsing expiry).

Identities and their compiled policies are cached per access key for one second, and
the whole cache is dropped after every IAM write and on reset.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import string
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any

from emulation.iam.actions import RequestTarget
from emulation.iam.exceptions import (
    AccessDeniedException,
    ExpiredTokenException,
    IamError,
    InvalidIdentityTokenException,
    InvalidTokenException,
    UnrecognizedClientException,
    ValidationError,
)
from emulation.iam.policies import (
    Caller,
    Effect,
    Policy,
    PolicyDocumentError,
    PolicySet,
    Resource,
    Verdict,
    compile_policies,
    compile_policy,
    evaluate,
)
from emulation.iam.sigv4 import SignedAuth, verify_signature

DEFAULT_ACCOUNT_ID = "123456789012"
#: the bootstrap admin is this IAM user of the default account (see :func:`admin_user_id`)
ADMIN_USER_NAME = "nexuskit-admin"
CACHE_SECONDS = 1.0
#: the CLI's and SDKs' well-known web identity providers (no IAM OIDC provider needed)
_BUILTIN_IDPS = {
    "accounts.google.com",
    "cognito-identity.amazonaws.com",
    "graph.facebook.com",
    "www.amazon.com",
}


class IdentityKind(Enum):
    ADMIN = "admin"
    USER = "user"
    ROLE_SESSION = "assumed-role"
    USER_SESSION = "user-session"
    ANONYMOUS = "anonymous"


@dataclass
class Identity:
    """A resolved caller, with everything needed to authorize its requests."""

    kind: IdentityKind
    arn: str
    account_id: str | None
    access_key_id: str | None = None
    secret_access_key: str = ""
    session_token: str | None = None
    expiration: datetime | None = None
    issued_at: datetime | None = None
    user_name: str | None = None
    role_arn: str | None = None
    principal_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    policies: PolicySet = field(default_factory=PolicySet)
    built_at: float = 0.0
    generation: int = 0

    @property
    def is_admin(self) -> bool:
        return self.kind is IdentityKind.ADMIN

    @property
    def is_temporary(self) -> bool:
        return self.kind in {IdentityKind.ROLE_SESSION, IdentityKind.USER_SESSION}

    def caller(self) -> Caller:
        arns = {self.arn}
        if self.role_arn:
            arns.add(self.role_arn)
        return Caller(self.account_id, frozenset(arns), is_admin=self.is_admin)

    def context(self) -> dict[str, list[str]]:
        """The principal's condition keys (lower-cased names)."""
        if self.kind is IdentityKind.ANONYMOUS:
            return {}
        principal_arn = self.role_arn or self.arn
        principal_type = {
            IdentityKind.ROLE_SESSION: "AssumedRole",
            IdentityKind.ADMIN: "User",
        }.get(self.kind, "User")
        context: dict[str, list[str]] = {
            "aws:principalarn": [principal_arn],
            "aws:principalaccount": [self.account_id or ""],
            "aws:principaltype": [principal_type],
            "aws:userid": [self.principal_id],
            "aws:viaawsservice": ["false"],
        }
        if self.user_name:
            context["aws:username"] = [self.user_name]
        if self.is_temporary:
            context["aws:multifactorauthpresent"] = ["false"]
            if self.issued_at:
                context["aws:tokenissuetime"] = [self.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ")]
        for key, value in self.tags.items():
            context[f"aws:principaltag/{key.lower()}"] = [value]
        return context


ANONYMOUS = Identity(IdentityKind.ANONYMOUS, "anonymous", None)


@dataclass
class UserSession:
    """Credentials we issued for GetSessionToken (moto does not keep any)."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    account_id: str
    user_name: str | None  # None: the admin's own session
    expiration: float
    issued_at: float


@dataclass
class Denial:
    """Why a request was (or in log mode would have been) refused."""

    principal: str
    action: str
    resource: str
    reason: str
    error: IamError


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _tags(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): str(v.get("Value", "")) if isinstance(v, dict) else str(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return {str(t.get("Key")): str(t.get("Value", "")) for t in raw if isinstance(t, dict)}
    return {}


def _default_document(policy: Any) -> str | None:
    for version in getattr(policy, "versions", ()):
        if getattr(version, "is_default", False):
            document: str = version.document
            return document
    return None


@lru_cache(maxsize=256)
def _compile_cached(document: str, source: str) -> Policy | None:
    try:
        return compile_policy(document, source)
    except PolicyDocumentError:
        return None


def admin_user_id(access_key: str) -> str:
    """The admin user's stable ``AIDA...`` id (derived from its access key)."""
    return "AIDA" + base64.b32encode(hashlib.sha256(access_key.encode()).digest()).decode()[:17]


def _random_key(prefix: str) -> str:
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def session_tags(params: dict[str, str]) -> dict[str, str]:
    """``Tags.member.N.Key``/``.Value`` Query parameters as a dict."""
    tags: dict[str, str] = {}
    for name, key in params.items():
        if name.startswith("Tags.member.") and name.endswith(".Key"):
            tags[key] = params.get(name[: -len("Key")] + "Value", "")
    return tags


def _jwt_claims(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


class EnforcementBackend:
    """The state of IAM enforcement: identity cache, issued sessions, counters' inputs.

    Methods that read moto state must be called with the engine's state lock held shared.
    """

    def __init__(
        self,
        admin_access_key: str,
        admin_secret_key: str,
        clock_skew: float = 0.0,
        *,
        lake_formation_on_s3: bool = False,
    ) -> None:
        self.admin_access_key = admin_access_key
        self.admin_secret_key = admin_secret_key
        #: ``--lake-formation strict``: direct S3 data calls on registered locations also
        #: need a Lake Formation grant. AWS does not do this (Lake Formation governs its
        #: catalog and the credentials it vends; IAM alone decides direct S3 calls).
        self.lake_formation_on_s3 = lake_formation_on_s3
        self.clock_skew = timedelta(seconds=clock_skew)
        self.generation = 0
        self._cache: dict[str, Identity] = {}
        self._lake_cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.user_sessions: dict[str, UserSession] = {}
        #: assumed-role access key -> managed policy ARNs passed as session policies
        self.session_policy_arns: dict[str, list[str]] = {}
        #: assumed-role access key -> when it was issued (epoch seconds; aws:TokenIssueTime)
        self.session_issued_at: dict[str, float] = {}
        #: assumed-role access key -> session tags (they override the role's tags)
        self.session_tags: dict[str, dict[str, str]] = {}

    # -- time and cache -----------------------------------------------------------------
    def now(self) -> datetime:
        """The clock credential expiry is judged by (real UTC + the configured skew)."""
        return datetime.now(UTC) + self.clock_skew

    def invalidate(self) -> None:
        with self._lock:
            self.generation += 1
            self._cache.clear()

    def reset(self) -> None:
        with self._lock:
            self.user_sessions.clear()
            self.session_policy_arns.clear()
            self.session_issued_at.clear()
            self.session_tags.clear()
        self.invalidate()

    # -- persistence ----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "user_sessions": {k: asdict(v) for k, v in self.user_sessions.items()},
                "session_policy_arns": dict(self.session_policy_arns),
                "session_issued_at": dict(self.session_issued_at),
                "session_tags": dict(self.session_tags),
            }

    def load_state(self, state: Any) -> None:
        if not isinstance(state, dict):
            return
        with self._lock:
            self.user_sessions = {
                key: UserSession(**value) for key, value in state.get("user_sessions", {}).items()
            }
            self.session_policy_arns = dict(state.get("session_policy_arns", {}))
            self.session_issued_at = dict(state.get("session_issued_at", {}))
            self.session_tags = dict(state.get("session_tags", {}))
        self.invalidate()

    # -- moto state -----------------------------------------------------------------------
    @staticmethod
    def _backends(service: str) -> list[tuple[str, Any]]:
        from moto.backends import get_backend

        found = []
        for account_id, account in list(dict.items(get_backend(service))):  # type: ignore[call-overload]
            backend = dict.get(account, "aws")
            if backend is not None:
                found.append((account_id, backend))
        return found

    @staticmethod
    def _iam(account_id: str) -> Any:
        from moto.backends import get_backend

        return get_backend("iam")[account_id]["aws"]  # type: ignore[call-overload]

    def find_role(self, role_arn: str) -> Any | None:
        parts = role_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
            return None
        name = parts[5].rsplit("/", 1)[-1]
        iam = self._iam(parts[4] or DEFAULT_ACCOUNT_ID)
        for role in list(iam.roles.values()):
            if role.name == name:
                return role
        return None

    @staticmethod
    def _managed_documents(policies: Any, source: str) -> list[tuple[str, Any]]:
        documents = []
        for arn, policy in list(policies.items()):
            documents.append((f"{source} {arn}", _default_document(policy)))
        return documents

    # -- identities -----------------------------------------------------------------------
    def resolve(self, access_key: str) -> Identity | None:
        """The identity an access key belongs to (cached), None when unknown."""
        cached = self._cache.get(access_key)
        now = time.monotonic()
        if (
            cached is not None
            and cached.generation == self.generation
            and now - cached.built_at < CACHE_SECONDS
        ):
            return cached
        generation = self.generation
        identity = self._build(access_key)
        if identity is not None:
            identity.built_at = now
            identity.generation = generation
            with self._lock:
                if generation == self.generation:
                    self._cache[access_key] = identity
        return identity

    def _build(self, access_key: str) -> Identity | None:
        if access_key == self.admin_access_key:
            return self._admin()
        session = self.user_sessions.get(access_key)
        if session is not None:
            return self._user_session(session)
        for account_id, iam in self._backends("iam"):
            key = iam.access_keys.get(access_key)
            if key is not None and key.user_name:
                user = iam.users.get(key.user_name)
                if key.status != "Active" or user is None:
                    return None
                return self._user(account_id, iam, user, key.secret_access_key, access_key)
        for _account_id, sts in self._backends("sts"):
            for assumed in list(sts.assumed_roles):
                if assumed.access_key_id == access_key:
                    return self._role_session(assumed)
        return None

    def _admin(self) -> Identity:
        return Identity(
            IdentityKind.ADMIN,
            f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/{ADMIN_USER_NAME}",
            DEFAULT_ACCOUNT_ID,
            self.admin_access_key,
            self.admin_secret_key,
            user_name=ADMIN_USER_NAME,
            principal_id=admin_user_id(self.admin_access_key),
        )

    def _user_policies(self, iam: Any, user: Any) -> PolicySet:
        documents: list[tuple[str, Any]] = [
            (f"user {user.name} inline {name}", doc) for name, doc in list(user.policies.items())
        ]
        documents += self._managed_documents(user.managed_policies, f"user {user.name}")
        for group in list(iam.groups.values()):
            if user in group.users:
                documents += [
                    (f"group {group.name} inline {name}", doc) for name, doc in list(group.policies.items())
                ]
                documents += self._managed_documents(group.managed_policies, f"group {group.name}")
        return PolicySet(identity=compile_policies(documents))

    def _user(self, account_id: str, iam: Any, user: Any, secret: str, access_key: str) -> Identity:
        return Identity(
            IdentityKind.USER,
            user.arn,
            account_id,
            access_key,
            secret,
            user_name=user.name,
            principal_id=user.id,
            tags=_tags(getattr(user, "tags", None)),
            policies=self._user_policies(iam, user),
        )

    def _user_session(self, session: UserSession) -> Identity | None:
        if session.user_name is None:
            identity = self._admin()
            identity.kind = IdentityKind.ADMIN
        else:
            iam = self._iam(session.account_id)
            user = iam.users.get(session.user_name)
            if user is None:
                return None
            identity = self._user(
                session.account_id, iam, user, session.secret_access_key, session.access_key_id
            )
            identity.kind = IdentityKind.USER_SESSION
        identity.access_key_id = session.access_key_id
        identity.secret_access_key = session.secret_access_key
        identity.session_token = session.session_token
        identity.expiration = datetime.fromtimestamp(session.expiration, UTC)
        identity.issued_at = datetime.fromtimestamp(session.issued_at, UTC)
        return identity

    def _role_session(self, assumed: Any) -> Identity:
        role = self.find_role(assumed.role_arn)
        role_name = assumed.role_arn.rsplit("/", 1)[-1]
        issued_at = self.session_issued_at.get(assumed.access_key_id)
        identity = Identity(
            IdentityKind.ROLE_SESSION,
            f"arn:aws:sts::{assumed.account_id}:assumed-role/{role_name}/{assumed.session_name}",
            assumed.account_id,
            assumed.access_key_id,
            assumed.secret_access_key,
            session_token=assumed.session_token,
            expiration=_aware(assumed.expiration),
            issued_at=datetime.fromtimestamp(issued_at, UTC) if issued_at else None,
            role_arn=role.arn if role is not None else assumed.role_arn,
            principal_id=f"{role.id if role is not None else 'AROA'}:{assumed.session_name}",
        )
        if role is None:
            return identity  # the role was deleted: its sessions may do nothing
        iam = self._iam(role.account_id)
        identity.tags = {**_tags(role.tags), **self.session_tags.get(assumed.access_key_id, {})}
        documents: list[tuple[str, Any]] = [
            (f"role {role.name} inline {name}", doc) for name, doc in list(role.policies.items())
        ]
        documents += self._managed_documents(role.managed_policies, f"role {role.name}")
        policies = PolicySet(identity=compile_policies(documents))
        if role.permissions_boundary_arn:
            boundary = iam.managed_policies.get(role.permissions_boundary_arn)
            policies.boundary = compile_policies(
                [(f"boundary {role.permissions_boundary_arn}", _default_document(boundary))]
            )
        session_documents: list[tuple[str, Any]] = []
        if assumed.policy:
            session_documents.append(("session policy", assumed.policy))
        for arn in self.session_policy_arns.get(assumed.access_key_id, []):
            session_documents.append(
                (f"session policy {arn}", _default_document(iam.managed_policies.get(arn)))
            )
        if session_documents:
            policies.session = compile_policies(session_documents)
        identity.policies = policies
        return identity

    # -- authentication -------------------------------------------------------------------
    def authenticate(self, auth: SignedAuth, request: Any) -> Identity:
        """The identity behind a signed request; raises the error AWS would answer."""
        identity = self.resolve(auth.access_key)
        if identity is None:
            raise UnrecognizedClientException(auth.access_key)
        needs_token = identity.is_temporary or identity.session_token is not None
        if needs_token and not secrets.compare_digest(auth.session_token or "", identity.session_token or ""):
            raise InvalidTokenException()
        if not needs_token and auth.session_token and identity.kind is IdentityKind.USER:
            raise InvalidTokenException()  # a long-term key with a session token
        verify_signature(request, auth, identity.secret_access_key)
        if identity.expiration is not None and self.now() >= identity.expiration:
            raise ExpiredTokenException()
        return identity

    # -- authorization --------------------------------------------------------------------
    def bucket_policies(self, bucket: str | None) -> list[Policy]:
        if not bucket:
            return []
        from moto.s3.models import s3_backends

        located = s3_backends.bucket_accounts.get(bucket)
        if not located:
            return []
        partition, account = located
        backend = dict.get(dict.get(s3_backends, account) or {}, partition)
        found = backend.buckets.get(bucket) if backend is not None else None
        raw = getattr(found, "policy", None)
        if not raw:
            return []
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        compiled = _compile_cached(text, f"bucket policy of {bucket}")
        return [compiled] if compiled is not None else []

    def secret_policies(self, target: RequestTarget) -> list[Policy]:
        """Resource policies of the Secrets Manager secrets a request names (their explicit
        denies bind every caller but the bootstrap admin, as in AWS)."""
        from moto.backends import get_backend

        found: list[Policy] = []
        for check in target.checks:
            arn = str(check.resource.arn)
            parts = arn.split(":")
            if not check.resource.resolved or len(parts) < 7 or parts[2] != "secretsmanager":
                continue
            regions = dict.get(get_backend("secretsmanager"), parts[4]) or {}  # type: ignore[call-overload]
            backend = dict.get(regions, parts[3])
            secret = backend.secrets.get(arn) if backend is not None else None
            raw = getattr(secret, "policy", None)
            compiled = _compile_cached(str(raw), f"resource policy of {arn}") if raw else None
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

    # -- STS ------------------------------------------------------------------------------
    def check_assume_role(
        self, identity: Identity, target: RequestTarget, request_context: dict[str, list[str]]
    ) -> Denial | None:
        """sts:AssumeRole (plus sts:TagSession with session tags, sts:SetSourceIdentity with
        a source identity) needs the caller's permission AND the role's trust, and a
        DurationSeconds the role allows."""
        params = target.params
        role_arn = params.get("RoleArn", "")
        role = self.find_role(role_arn)
        if role is None:
            head = (
                f"User: {identity.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            )
            return Denial(
                identity.arn, "sts:AssumeRole", role_arn, "no such role", AccessDeniedException(head)
            )
        context = dict(request_context)
        tags = session_tags(params)
        for key, value in tags.items():
            context[f"aws:requesttag/{key.lower()}"] = [value]
        if tags:
            context["aws:tagkeys"] = list(tags)
        for param, key in (
            ("ExternalId", "sts:externalid"),
            ("RoleSessionName", "sts:rolesessionname"),
            ("SourceIdentity", "sts:sourceidentity"),
        ):
            if params.get(param):
                context[key] = [params[param]]
        denial = self.authorize(identity, target, context)
        if denial is not None:
            return denial
        trust_context = {**context, **identity.context()}
        for check in target.checks:
            if not self._trust_admits(role, identity.caller(), check.action, trust_context):
                head = (
                    f"User: {identity.arn} is not authorized to perform: {check.action} "
                    f"on resource: {role.arn}"
                )
                return Denial(
                    identity.arn,
                    check.action,
                    role.arn,
                    "the role's trust policy does not admit the caller",
                    AccessDeniedException(head),
                )
        return self._check_duration(identity, target, role)

    def _trust_admits(self, role: Any, caller: Caller, action: str, context: dict[str, list[str]]) -> bool:
        trust = _compile_cached(role.assume_role_policy_document or "", f"trust policy of {role.name}")
        if trust is None:
            return False
        return trust.decide(action, Resource(role.arn, "iam"), context, caller) is Effect.ALLOW

    @staticmethod
    def _check_duration(identity: Identity, target: RequestTarget, role: Any) -> Denial | None:
        raw = target.params.get("DurationSeconds")
        if raw is None:
            return None
        try:
            duration = int(raw)
        except ValueError:
            duration = -1
        maximum = int(role.max_session_duration or 3600)
        if identity.kind is IdentityKind.ROLE_SESSION:
            maximum = min(maximum, 3600)  # role chaining is limited to one hour
        if duration < 900:
            message = (
                f"1 validation error detected: Value '{raw}' at 'durationSeconds' failed to satisfy "
                "constraint: Member must have value greater than or equal to 900"
            )
        elif duration > maximum:
            message = (
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                if identity.kind is not IdentityKind.ROLE_SESSION
                else "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )
        else:
            return None
        return Denial(
            identity.arn, target.primary.action, role.arn, "invalid DurationSeconds", ValidationError(message)
        )

    def check_federated_assume(
        self, target: RequestTarget, request_context: dict[str, list[str]]
    ) -> Denial | None:
        """AssumeRoleWithWebIdentity / AssumeRoleWithSAML (unsigned): the trust decides."""
        params = target.params
        role = self.find_role(params.get("RoleArn", ""))
        action = f"sts:{target.operation}"
        refused = AccessDeniedException(f"Not authorized to perform {action}")
        if role is None:
            return Denial("anonymous", action, params.get("RoleArn", ""), "no such role", refused)
        context = dict(request_context)
        if target.operation == "AssumeRoleWithSAML":
            federated = frozenset({params.get("PrincipalArn", "")})
        else:
            claims = _jwt_claims(params.get("WebIdentityToken", ""))
            issuer = str((claims or {}).get("iss", ""))
            if claims is None or not issuer:
                error = InvalidIdentityTokenException("The ID Token provided is not a valid JWT.")
                return Denial("anonymous", action, role.arn, "invalid identity token", error)
            host = issuer.split("://", 1)[-1].rstrip("/")
            provider_arn = f"arn:aws:iam::{role.account_id}:oidc-provider/{host}"
            iam = self._iam(role.account_id)
            if provider_arn not in iam.open_id_providers and host not in _BUILTIN_IDPS:
                error = InvalidIdentityTokenException(
                    f"No OpenIDConnect provider found in your account for {issuer}"
                )
                return Denial("anonymous", action, role.arn, "unknown identity provider", error)
            federated = frozenset({provider_arn, host})
            for claim in ("aud", "sub", "amr", "azp"):
                value = claims.get(claim)
                if value is not None:
                    values = value if isinstance(value, list) else [value]
                    context[f"{host}:{claim}".lower()] = [str(v) for v in values]
        if not self._trust_admits(role, Caller(None, federated=federated), action, context):
            return Denial(
                "anonymous", action, role.arn, "the role's trust policy does not admit the caller", refused
            )
        return None

    def issue_session_token(self, identity: Identity, duration: int) -> UserSession:
        """GetSessionToken: temporary credentials with the caller's own permissions."""
        from moto.sts.utils import random_session_token

        now = self.now().timestamp()
        session = UserSession(
            access_key_id=_random_key("ASIA"),
            secret_access_key=secrets.token_urlsafe(30)[:40],
            session_token=random_session_token(),
            account_id=identity.account_id or DEFAULT_ACCOUNT_ID,
            user_name=identity.user_name if identity.kind is IdentityKind.USER else None,
            expiration=now + duration,
            issued_at=now,
        )
        with self._lock:
            self.user_sessions[session.access_key_id] = session
        return session

    def record_assumed_session(
        self, access_key_id: str, policy_arns: list[str], tags: dict[str, str]
    ) -> None:
        """Remember what moto does not: managed session policies, session tags, issue time."""
        with self._lock:
            self.session_issued_at[access_key_id] = self.now().timestamp()
            if policy_arns:
                self.session_policy_arns[access_key_id] = policy_arns
            if tags:
                self.session_tags[access_key_id] = tags

    # -- lookups for actions.describe ------------------------------------------------------
    def kinesisvideo_stream_arn(self, region: str, account: str, name: str) -> str | None:
        from moto.backends import get_backend

        backend = dict.get(dict.get(get_backend("kinesisvideo"), account) or {}, region)  # type: ignore[call-overload]
        if backend is None:
            return None
        for stream in list(backend.streams.values()):
            if stream.stream_name == name:
                arn: str = stream.arn
                return arn
        return None

    def kinesis_consumer_arn(self, region: str, account: str, stream_arn: str, name: str) -> str | None:
        from moto.backends import get_backend

        backend = dict.get(dict.get(get_backend("kinesis"), account) or {}, region)  # type: ignore[call-overload]
        if backend is None:
            return None
        stream_name = stream_arn.rsplit("/", 1)[-1]
        stream = backend.streams.get(stream_name)
        for consumer in list(getattr(stream, "consumers", []) or []):
            if getattr(consumer, "consumer_name", None) == name:
                arn: str = consumer.consumer_arn
                return arn
        return None

    def secret_arn(self, region: str, account: str, secret_id: str) -> str | None:
        from moto.backends import get_backend

        backend = dict.get(dict.get(get_backend("secretsmanager"), account) or {}, region)  # type: ignore[call-overload]
        if backend is None:
            return None
        secret = backend.secrets.get(secret_id)
        return str(secret.arn) if secret is not None else None

    def iam_arn(self, account: str, kind: str, name: str) -> str | None:
        iam = self._iam(account)
        if kind == "user":
            user = iam.users.get(name)
            return str(user.arn) if user is not None else None
        if kind == "group":
            group = iam.groups.get(name)
            return str(group.arn) if group is not None else None
        if kind == "role":
            for role in list(iam.roles.values()):
                if role.name == name:
                    return str(role.arn)
            return None
        if kind == "instance-profile":
            profile = iam.instance_profiles.get(name)
            return str(profile.arn) if profile is not None else None
        return None
