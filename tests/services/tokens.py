"""ServiceAccount tokens for services run on their own (no runtime): a test issuer.

The issuer is the runtime's own :class:`~emulation.runtime.identity.TokenIssuer` (the
code that signs pods' projected tokens), its JWKS written to a file that services read
through ``NEXUS_AUTH_JWKS``. So a service under test verifies exactly the tokens a
cluster would give its callers, and the tests can also forge the ones it must refuse.
"""

from __future__ import annotations

import json
from pathlib import Path

from emulation.runtime.identity import TokenIssuer

ISSUER = "https://oidc.eks.us-west-2.amazonaws.com/id/NEXUSTESTISSUER"
AUDIENCE = "nexus-services"

OPERATOR = "nexus-agent-core/nexus-operator"
ORCHESTRATOR = "nexus-agent-core/agent-orchestrator"
UI = "nexus-agent-core/nexus-ui"


class TestIssuer:
    """Signs ServiceAccount tokens; ``env()`` configures a service to trust them."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, folder: Path, issuer: str = ISSUER) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.issuer = TokenIssuer(issuer, folder / "sa-signing-key.pem")
        self.jwks_file = folder / "jwks.json"
        self.jwks_file.write_text(json.dumps(self.issuer.jwks()))

    def token(self, account: str, audience: str = AUDIENCE, seconds: int = 3600) -> str:
        """A token for ``namespace/serviceaccount``."""
        namespace, _, name = account.partition("/")
        token, _expiry = self.issuer.token(namespace, name, f"{name}-test", f"uid-{name}", audience, seconds)
        return token

    def headers(self, account: str, audience: str = AUDIENCE) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(account, audience)}"}

    def token_file(self, folder: Path, account: str) -> Path:
        """The token of ``account`` in a file (what a pod's projected volume holds)."""
        path = folder / f"{account.replace('/', '_')}.token"
        path.write_text(self.token(account))
        return path

    def env(self, callers: str) -> dict[str, str]:
        """A service's auth environment: trust this issuer, allow ``callers``."""
        return {
            "NEXUS_AUTH_JWKS": str(self.jwks_file),
            "NEXUS_AUTH_ISSUER": self.issuer.issuer,
            "NEXUS_AUTH_AUDIENCE": AUDIENCE,
            "NEXUS_AUTH_CALLERS": callers,
        }
