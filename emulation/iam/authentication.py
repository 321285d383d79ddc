"""Authentication: the identity behind an access key (the admin, IAM users, assumed-role and
user sessions), with its compiled policies, cached per key for a second."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from emulation.core.request import DEFAULT_ACCOUNT_ID
from emulation.iam.exceptions import (
    ExpiredTokenException,
    InvalidTokenException,
    UnrecognizedClientException,
)
from emulation.iam.identity import ADMIN_USER_NAME, Identity, IdentityKind, UserSession, admin_user_id
from emulation.iam.policies import (
    PolicySet,
    compile_policies,
)
from emulation.iam.sigv4 import SignedAuth, verify_signature
from emulation.iam.state import IamState

CACHE_SECONDS = 1.0


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


class Authentication(IamState):
    """Resolving access keys to identities, and checking a signed request's credentials."""

    @staticmethod
    def _managed_documents(policies: Any, source: str) -> list[tuple[str, Any]]:
        documents = []
        for arn, policy in list(policies.items()):
            documents.append((f"{source} {arn}", _default_document(policy)))
        return documents

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
