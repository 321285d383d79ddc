"""Rotating the signing key: new tokens use the new key, old tokens stay verifiable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nexuskit.edge.auth import deploy_edge, token_audience, token_issuer
from nexuskit.edge.keys import rotate_signing_key
from nexuskit.edge.tokens import decode_unverified, fetch_jwks, issue_token, verify_token
from tests.edge.conftest import EdgeStack, edge_spec, start_edge


@pytest.fixture(scope="module")
def rotating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    """A stack of its own (prefix nexus-rot), so rotating its key disturbs nobody."""
    stack = start_edge(tmp_path_factory.mktemp("rotation"), spec=edge_spec(environment="rot"))
    yield stack
    stack.engine.stop()


def test_old_kid_stays_verifiable_after_rotation(rotating: EdgeStack, tmp_path: Path) -> None:
    """After a rotation the JWKS lists both keys: the old token verifies, the new one uses the new kid."""
    old_token = issue_token(rotating.auth_url, "before-rotation", 15)["token"]
    old_kid = decode_unverified(old_token)[0]["kid"]
    rotated = rotate_signing_key(rotating.spec, rotating.target)
    assert rotated["previous_kid"] == old_kid
    assert rotated["published"] == [old_kid, rotated["active_kid"]]
    # The function caches its keys for SIGNING_KEY_CACHE_SECONDS; a new configuration
    # starts a fresh sandbox, as a cold start after the cache window would.
    deploy_edge(rotating.spec, rotating.target, environment={"SIGNING_KEY_CACHE_SECONDS": "0"})
    new_token = issue_token(rotating.auth_url, "after-rotation", 15)["token"]
    assert decode_unverified(new_token)[0]["kid"] == rotated["active_kid"]
    jwks = fetch_jwks(rotating.jwks_url)
    for token in (old_token, new_token):
        verify_token(token, jwks, issuer=token_issuer(rotating.spec), audience=token_audience(rotating.spec))


def test_keys_no_token_can_need_are_dropped(rotating: EdgeStack) -> None:
    """A key retired longer ago than the longest TTL (plus margin) leaves the secret."""
    first = rotate_signing_key(rotating.spec, rotating.target)
    later = datetime.now(UTC) + timedelta(minutes=rotating.spec.params.token_ttl_max_minutes + 10)
    second = rotate_signing_key(rotating.spec, rotating.target, now=later)
    assert first["active_kid"] in second["published"]  # it signed until just now
    assert second["dropped"] and first["active_kid"] not in second["dropped"]
