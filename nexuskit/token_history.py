"""The tokens issued from the dashboard, kept in the stack's state dir across sessions.

The dashboard's Tokens screen adds to it and lists it; ``nexuskit token history`` lists it.
``<state_dir>/tui/token-history.json`` (where the dashboard has always kept it) holds the
newest :data:`HISTORY_LIMIT` tokens: who, when, until when, the TTL asked for and granted,
and a summary of the claims (subject, token id, role session name, issuer, audience).
Never the credentials nor the JWT: a token from an earlier session can be looked at, not
used again.

A file that cannot be read as such a history is moved aside (``token-history.corrupt-
<time>.json``, next to it) and :class:`TokenHistoryError` says where, so nothing is lost
and the next token starts a new history.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from nexuskit.errors import NexuskitError

HISTORY_LIMIT = 50
FORMAT_VERSION = 1
FILE_NAME = "token-history.json"


class TokenHistoryError(NexuskitError):
    """The token history cannot be read or written; the message says what became of the file."""


@dataclass(frozen=True)
class TokenRecord:
    """What the history keeps of one issued token (no secret: no credentials, no JWT)."""

    user: str
    issued_at: float
    expires_at: float
    asked_minutes: int | None
    granted_minutes: int
    subject: str
    token_id: str
    session_name: str
    issuer: str
    audience: str

    @classmethod
    def from_claims(
        cls, user: str, asked: int | None, granted: int, claims: dict[str, Any], issued_at: float
    ) -> TokenRecord:
        """The record of a token from its (verified or decoded) claims."""
        return cls(
            user=user,
            issued_at=float(issued_at),
            expires_at=float(claims.get("exp") or 0),
            asked_minutes=asked,
            granted_minutes=int(granted),
            subject=str(claims.get("sub", "")),
            token_id=str(claims.get("jti", "")),
            session_name=str(claims.get("sid", "")),
            issuer=str(claims.get("iss", "")),
            audience=str(claims.get("aud", "")),
        )

    @classmethod
    def from_dict(cls, doc: Any) -> TokenRecord:
        """ValueError naming the field when ``doc`` is not a record."""
        if not isinstance(doc, dict):
            raise ValueError(f"an entry is a {type(doc).__name__}, not an object")
        values: dict[str, Any] = {}
        for spec in fields(cls):
            if spec.name not in doc:
                raise ValueError(f"an entry has no {spec.name!r}")
            value = doc[spec.name]
            if spec.name in {"issued_at", "expires_at"}:
                ok = isinstance(value, int | float) and not isinstance(value, bool)
            elif spec.name == "asked_minutes":
                ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
            elif spec.name == "granted_minutes":
                ok = isinstance(value, int) and not isinstance(value, bool)
            else:
                ok = isinstance(value, str)
            if not ok:
                raise ValueError(f"an entry's {spec.name!r} is {value!r}")
            values[spec.name] = value
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def claims_summary(self) -> dict[str, Any]:
        """The claims the history kept, named as in the JWT."""
        return {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": self.subject,
            "jti": self.token_id,
            "iat": int(self.issued_at),
            "exp": int(self.expires_at),
            "sid": self.session_name,
        }


class TokenHistory:
    """The token history of one stack (one state dir), newest first."""

    def __init__(self, state_dir: Path, limit: int = HISTORY_LIMIT) -> None:
        self.path = state_dir / "tui" / FILE_NAME
        self.limit = limit
        self._lock = threading.Lock()  # one add at a time (the screen saves from workers)

    def load(self) -> list[TokenRecord]:
        """The records, newest first ([] when there is no history yet).

        TokenHistoryError when the file is not a history (it is moved aside first) or
        cannot be read (it stays where it is).
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise TokenHistoryError(
                f"cannot read the token history {self.path}: {exc.strerror or exc}",
                "check the file's permissions; tokens issued now are not kept",
            ) from None
        try:
            return self._parse(text)
        except ValueError as exc:
            aside = self._move_aside()
            raise TokenHistoryError(
                f"the token history {self.path} is not readable ({exc}); it was moved to {aside}",
                "a new history starts with the next token; the old file is kept for you to look at",
            ) from None

    def _parse(self, text: str) -> list[TokenRecord]:
        doc = json.loads(text)  # ValueError when not JSON
        if not isinstance(doc, dict) or not isinstance(doc.get("tokens"), list):
            raise ValueError('it is not an object with a "tokens" list')
        if doc.get("version") != FORMAT_VERSION:
            raise ValueError(f"its version is {doc.get('version')!r}, not {FORMAT_VERSION}")
        records = [TokenRecord.from_dict(entry) for entry in doc["tokens"]]
        return sorted(records, key=lambda r: r.issued_at, reverse=True)[: self.limit]

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"token-history.corrupt-{stamp}.json")
        number = 1
        while aside.exists():
            number += 1
            aside = self.path.with_name(f"token-history.corrupt-{stamp}-{number}.json")
        os.replace(self.path, aside)
        return aside

    def add(self, record: TokenRecord) -> list[TokenRecord]:
        """Keep ``record`` (the oldest beyond the limit go); the history, newest first.

        A history that is not readable is moved aside first (TokenHistoryError says so,
        after the new record was kept).
        """
        problem: TokenHistoryError | None = None
        with self._lock:
            try:
                records = self.load()
            except TokenHistoryError as exc:
                if self.path.exists():  # unreadable, not moved: do not overwrite it
                    raise
                problem, records = exc, []
            records = [record, *(r for r in records if r.token_id != record.token_id)][: self.limit]
            self._write(records)
        if problem is not None:
            raise problem
        return records

    def _write(self, records: list[TokenRecord]) -> None:
        doc = {"version": FORMAT_VERSION, "tokens": [r.as_dict() for r in records]}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise TokenHistoryError(
                f"cannot keep the token in the history {self.path}: {exc.strerror or exc}",
                "is the state dir writable?",
            ) from None
