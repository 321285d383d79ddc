"""Rotation of the token-signing key (the secret ``${prefix}/token-signing-key``).

Rotation appends a fresh RS256 key and makes it active. Older keys stay in the secret,
and so in the JWKS, while tokens they signed may still be alive: a key is dropped only
once the key after it has been active for longer than the longest token lifetime
(``token_ttl_max_minutes``) plus a margin. The auth function picks the new key up when
its key cache expires (``SIGNING_KEY_CACHE_SECONDS``, 60 s by default).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from nexuskit.aws import AwsTarget
from nexuskit.params import StackSpec
from nexuskit.provision.context import aws_call
from nexuskit.provision.signing_key import new_signing_key_document

log = logging.getLogger(__name__)

RETIRE_MARGIN = timedelta(minutes=5)


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rotate_signing_key(spec: StackSpec, target: AwsTarget, now: datetime | None = None) -> dict[str, Any]:
    """Add a new active key, drop keys no live token can need; returns kids before/after."""
    moment = now or datetime.now(UTC)
    name = spec.token_signing_secret
    client = target.client("secretsmanager")
    with aws_call("secretsmanager.secret", name):
        document = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
        fresh = new_signing_key_document(moment)["keys"][0]
        keys: list[dict[str, Any]] = [*document.get("keys", []), fresh]
        horizon = moment - timedelta(minutes=spec.params.token_ttl_max_minutes) - RETIRE_MARGIN
        kept = [
            key
            for index, key in enumerate(keys)
            if index == len(keys) - 1 or _parse_time(keys[index + 1]["created_at"]) > horizon
        ]
        client.put_secret_value(
            SecretId=name, SecretString=json.dumps({"active_kid": fresh["kid"], "keys": kept})
        )
    log.info("rotated %s: active key %s, %d key(s) published", name, fresh["kid"], len(kept))
    return {
        "active_kid": fresh["kid"],
        "previous_kid": document.get("active_kid"),
        "published": [key["kid"] for key in kept],
        "dropped": [key["kid"] for key in keys if key not in kept],
    }
