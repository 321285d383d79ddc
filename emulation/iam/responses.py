"""The few STS answers IAM enforcement gives itself (everything else is moto's).

* ``GetSessionToken``: moto returns a fixed example key it never stores, so credentials
  from it could never be used with enforcement on; we issue real ones.
* ``GetCallerIdentity`` for those credentials (moto does not know them) and for the
  bootstrap admin, and IAM ``GetUser`` without a name for the admin (moto answers a made-up
  user for keys it did not issue).
* The access key id of an ``AssumeRole`` answer from moto, to record session policies.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

from emulation.iam.identity import Identity, UserSession

_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
_IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
#: the admin user's CreateDate (a fixed date: it exists as long as the engine does)
ADMIN_CREATED = "2026-01-01T00:00:00Z"
_ACCESS_KEY = re.compile(r"<AccessKeyId>([^<]+)</AccessKeyId>")


def _xml(operation: str, result: str, namespace: str = _NAMESPACE) -> Response:
    request_id = str(uuid.uuid4())
    body = (
        f'<{operation}Response xmlns="{namespace}"><{operation}Result>{result}'
        f"</{operation}Result><ResponseMetadata><RequestId>{request_id}</RequestId>"
        f"</ResponseMetadata></{operation}Response>"
    )
    return Response(body, status=200, headers={"x-amzn-RequestId": request_id}, mimetype="text/xml")


def get_session_token(session: UserSession) -> Response:
    expiration = datetime.fromtimestamp(session.expiration, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _xml(
        "GetSessionToken",
        "<Credentials>"
        f"<AccessKeyId>{escape(session.access_key_id)}</AccessKeyId>"
        f"<SecretAccessKey>{escape(session.secret_access_key)}</SecretAccessKey>"
        f"<SessionToken>{escape(session.session_token)}</SessionToken>"
        f"<Expiration>{expiration}</Expiration>"
        "</Credentials>",
    )


def get_caller_identity(identity: Identity) -> Response:
    return _xml(
        "GetCallerIdentity",
        f"<Arn>{escape(identity.arn)}</Arn><UserId>{escape(identity.principal_id)}</UserId>"
        f"<Account>{escape(identity.account_id or '')}</Account>",
    )


def get_user(identity: Identity) -> Response:
    """IAM GetUser without a UserName, for the admin user."""
    return _xml(
        "GetUser",
        f"<User><Path>/</Path><UserName>{escape(identity.user_name or '')}</UserName>"
        f"<UserId>{escape(identity.principal_id)}</UserId><Arn>{escape(identity.arn)}</Arn>"
        f"<CreateDate>{ADMIN_CREATED}</CreateDate></User>",
        _IAM_NAMESPACE,
    )


def assumed_access_key(body: bytes) -> str | None:
    """The AccessKeyId of a successful AssumeRole* answer."""
    match = _ACCESS_KEY.search(body.decode("utf-8", "replace"))
    return match.group(1) if match else None
