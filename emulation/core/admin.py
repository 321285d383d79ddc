"""Who may use the engine's own APIs (``/_nexus/*`` and, when enabled, ``/moto-api/*``).

Only the engine's admin, proven one of two ways:

* a Signature Version 4 signature (any service and region in the scope) made with the
  bootstrap admin keys the engine was started with (``NEXUSKIT_ADMIN_ACCESS_KEY``/
  ``NEXUSKIT_ADMIN_SECRET_KEY``; ``credentials.json`` on the client's side). It is checked
  by IAM's own verification (:mod:`emulation.iam.sigv4`), also under ``--iam off``;
* ``Authorization: Bearer <token>`` where the token is the content of
  ``<state_dir>/engine-token``: a random value the engine writes (mode 0600) when it
  starts with a state dir, for ``curl`` and scripts. It is compared in constant time and
  changes at every start.

A request that carries an ``Origin`` header is refused before anything else: browsers
send one on every cross-origin request that could change state, command-line tools never
do, so a web page cannot reach these APIs even with a simple (``text/plain``) request.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import UTC, datetime

from emulation.core.files import write_private
from emulation.core.request import AwsRequest
from emulation.core.settings import EngineSettings

log = logging.getLogger(__name__)

TOKEN_FILE = "engine-token"


class AdminAuth:
    """Verifies that a request comes from the engine's admin."""

    def __init__(self, settings: EngineSettings) -> None:
        self.access_key = settings.admin_access_key
        self.secret_key = settings.admin_secret_key
        self.token = secrets.token_urlsafe(32)
        self.token_file = settings.state_dir / TOKEN_FILE if settings.state_dir else None

    def write_token(self) -> None:
        """Write this start's token to ``<state_dir>/engine-token`` (0600)."""
        if self.token_file is None:
            return
        write_private(self.token_file, self.token + "\n")

    def remove_token(self) -> None:
        if self.token_file is not None:
            self.token_file.unlink(missing_ok=True)

    @staticmethod
    def has_credentials(request: AwsRequest) -> bool:
        """The request claims an identity (it may still be a wrong one)."""
        return "authorization" in request.headers or "X-Amz-Signature=" in request.query_string

    def is_admin(self, request: AwsRequest) -> bool:
        """True only for a valid admin signature or the engine's bearer token."""
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return hmac.compare_digest(header[7:].strip().encode(), self.token.encode())
        from emulation.iam.exceptions import IamError
        from emulation.iam.sigv4 import check_request_time, parse_auth, verify_signature

        try:
            auth = parse_auth(request)
            if auth is None or auth.version != 4 or auth.session_token:
                return False
            if not hmac.compare_digest(auth.access_key.encode(), self.access_key.encode()):
                return False
            check_request_time(auth, datetime.now(UTC))
            verify_signature(request, auth, self.secret_key)
        except IamError as error:
            log.info("engine API: refused a request signed as the admin (%s)", error.reason)
            return False
        return True
