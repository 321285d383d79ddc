"""Who is calling: the resolved identities and sessions of IAM enforcement (no logic that
reads moto state; see :mod:`emulation.iam.authentication`)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from emulation.iam.exceptions import IamError
from emulation.iam.policies import (
    Caller,
    PolicySet,
)

#: the bootstrap admin is this IAM user of the default account (see :func:`admin_user_id`)
ADMIN_USER_NAME = "nexuskit-admin"


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


def admin_user_id(access_key: str) -> str:
    """The admin user's stable ``AIDA...`` id (derived from its access key)."""
    return "AIDA" + base64.b32encode(hashlib.sha256(access_key.encode()).digest()).decode()[:17]


def session_tags(params: dict[str, str]) -> dict[str, str]:
    """``Tags.member.N.Key``/``.Value`` Query parameters as a dict."""
    tags: dict[str, str] = {}
    for name, key in params.items():
        if name.startswith("Tags.member.") and name.endswith(".Key"):
            tags[key] = params.get(name[: -len("Key")] + "Value", "")
    return tags
