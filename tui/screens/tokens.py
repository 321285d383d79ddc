"""Tokens: issue a bearer token, read its claims, watch it expire, export its credentials.

Calls :mod:`nexuskit.edge.tokens` (``nexuskit token issue / verify / env``): the token is
asked for over HTTP (``POST /auth``) like a producer does; claims come from
``decode_unverified`` and the signature check from ``verify_for_stack``; masking and the
export lines from ``masked`` and ``export_lines``. The history of issued tokens (no
secrets) is kept across sessions by :class:`nexuskit.token_history.TokenHistory`
(``nexuskit token history`` lists it).
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.syntax import Syntax
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Input, Label, Static

from nexuskit.edge import tokens
from nexuskit.edge.errors import TokenError
from nexuskit.token_history import TokenHistory, TokenHistoryError, TokenRecord
from tui.actions import bindings_for
from tui.format import clock_time, moment
from tui.screens.base import NexusScreen
from tui.widgets import ExpiryCountdown


@dataclass
class IssuedToken:
    """One token issued in this session, secrets included (they live in memory only)."""

    user: str
    asked: int | None
    payload: dict[str, Any]
    claims: dict[str, Any]
    issued_at: float
    region: str
    endpoint: str
    verification: str = ""
    header: dict[str, Any] = field(default_factory=dict)

    @property
    def granted(self) -> int:
        return int(self.payload.get("ttl_minutes", 0))

    @property
    def expires(self) -> float:
        return float(self.claims.get("exp", 0))

    @property
    def jti(self) -> str:
        return str(self.claims.get("jti", ""))

    def record(self) -> TokenRecord:
        """What the history keeps of it."""
        return TokenRecord.from_claims(self.user, self.asked, self.granted, self.claims, self.issued_at)


class TokensScreen(NexusScreen):
    """Form (user, TTL) → claims, countdown, masked credentials, export lines, history."""

    AUTO_FOCUS = "#history"
    MODE = "tokens"
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("tokens")

    def __init__(self) -> None:
        super().__init__()
        self.store: TokenHistory | None = None  # on mount (needs the app's settings)
        #: the token history, newest first (this session's and earlier sessions')
        self.history: list[TokenRecord] = []
        #: the tokens issued in this session, by token id (with their secrets)
        self.issued: dict[str, IssuedToken] = {}
        self.current: IssuedToken | None = None
        self.shown_record: TokenRecord | None = None
        self.revealed = False

    def compose_body(self) -> ComposeResult:
        params = self.nexus.settings.stack().params
        self.ttl_bounds = (
            params.token_ttl_min_minutes,
            params.token_ttl_max_minutes,
            params.token_ttl_default_minutes,
        )
        low, high, default = self.ttl_bounds
        with VerticalScroll(id="tokens-body"):
            with Horizontal(id="token-form"):
                yield Label("user ")
                yield Input(getpass.getuser(), id="user", compact=True, placeholder="who the token is for")
                yield Label(" TTL ")
                yield Input("", id="ttl", compact=True, restrict=r"[0-9]*", placeholder=str(default))
                yield Label(f" min (clamped {low}-{high}, default {default}) ", id="ttl-clamp")
                yield Button("Issue ^s", id="issue", variant="primary", compact=True)
            yield Static(
                "no token yet: fill in the form and press ^s (or Issue)", id="token-status", markup=False
            )
            with Horizontal(id="token-panels"):
                with Vertical(id="claims-panel") as claims:
                    claims.border_title = "claims"
                    yield Static("", id="claims")
                with Vertical(id="credentials-panel") as creds:
                    creds.border_title = "credentials (masked: v reveals)"
                    yield ExpiryCountdown(self.nexus.clock, id="countdown")
                    creds_table: DataTable[Any] = DataTable(
                        id="credentials", show_header=False, cursor_type="none"
                    )
                    yield creds_table
            with Vertical(id="exports-panel") as exports:
                exports.border_title = "export lines (c copies)"
                yield Static("", id="exports", markup=False)
            history: DataTable[Any] = DataTable(id="history", cursor_type="row", zebra_stripes=True)
            history.border_title = "history, newest first (Enter shows a token again)"
            yield history

    def on_mount(self) -> None:
        super().on_mount()
        self.store = TokenHistory(self.nexus.settings.resolved_state_dir())
        self.query_one("#credentials", DataTable).add_columns("field", "value")
        self.query_one("#history", DataTable).add_columns(
            "issued", "user", "asked", "granted", "expires", "role session", "jti"
        )
        self.load_history()

    # -- history --------------------------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="tokens-history")
    def load_history(self) -> None:
        assert self.store is not None
        try:
            records = self.store.load()
        except TokenHistoryError as exc:
            self.fail("token history", exc)
            return
        self.ui(self._loaded_history, records)

    def _loaded_history(self, records: list[TokenRecord]) -> None:
        known = {r.token_id for r in self.history}  # tokens issued while it was loading
        self.history = [*self.history, *(r for r in records if r.token_id not in known)]
        del self.history[self._limit() :]
        self.show_history()

    def show_history(self) -> None:
        now = self.nexus.clock()
        table = self.query_one("#history", DataTable)
        table.clear()
        for record in self.history:
            table.add_row(
                moment(record.issued_at, now),
                record.user,
                str(record.asked_minutes or "default"),
                f"{record.granted_minutes} min",
                moment(record.expires_at, now),
                record.session_name,
                record.token_id[:12],
                key=record.token_id,
            )
        table.border_subtitle = f"{len(self.history)} kept (at most {self._limit()})" if self.history else ""

    def _limit(self) -> int:
        return self.store.limit if self.store is not None else 0

    @work(thread=True, exit_on_error=False, group="tokens-history-save")
    def save_token(self, record: TokenRecord) -> None:
        assert self.store is not None
        try:
            self.store.add(record)
        except TokenHistoryError as exc:
            self.fail("token history", exc)

    # -- issue ----------------------------------------------------------------------------
    @on(Button.Pressed, "#issue")
    @on(Input.Submitted, "#user, #ttl")
    def _issue_from_form(self) -> None:
        self.action_issue()

    def action_issue(self) -> None:
        user = self.query_one("#user", Input).value.strip()
        ttl_text = self.query_one("#ttl", Input).value.strip()
        if not user:
            self.notify("the token needs a user", severity="error")
            return
        ttl = int(ttl_text) if ttl_text else None
        self.query_one("#token-status", Static).update(f"asking the auth service for a token for {user}…")
        self.issue(user, ttl)

    @work(thread=True, exit_on_error=False, group="tokens", exclusive=True)
    def issue(self, user: str, ttl: int | None) -> None:
        with self.reporting("issue token"):
            settings = self.nexus.settings
            urls = tokens.stack_urls(settings)
            payload = tokens.issue_token(urls["auth_url"], user, ttl)
            header, claims = tokens.decode_unverified(payload["token"])
            try:
                result = tokens.verify_for_stack(settings, payload["token"])
                verification = f"signature valid (RS256, key {result['kid']})"
            except TokenError as exc:
                verification = f"signature NOT valid: {exc.message}"
            issued = IssuedToken(
                user,
                ttl,
                payload,
                claims,
                self.nexus.clock(),
                urls["region"],
                urls["endpoint"],
                verification,
                header,
            )
            self.ui(self.add_token, issued)

    def add_token(self, issued: IssuedToken) -> None:
        record = issued.record()
        self.issued[issued.jti] = issued
        self.history = [record, *(r for r in self.history if r.token_id != record.token_id)]
        del self.history[self._limit() :]
        self.show_history()
        self.show_token(issued)
        self.save_token(record)

    def show_token(self, issued: IssuedToken) -> None:
        self.current = issued
        self.shown_record = None
        low, high, _ = self.ttl_bounds
        asked = "the default" if issued.asked is None else f"{issued.asked} min"
        clamp = ""
        if issued.asked is not None and issued.asked != issued.granted:
            clamp = f" (clamped to {low}-{high})"
        self.query_one("#token-status", Static).update(
            f"token for {issued.user}: asked {asked}, granted {issued.granted} min{clamp} · "
            f"expires {clock_time(issued.expires)} · {issued.verification}"
        )
        claims = json.dumps({"header": issued.header, "claims": issued.claims}, indent=1)
        self.query_one("#claims", Static).update(
            Syntax(claims, "json", theme=self.nexus.syntax_theme, word_wrap=True, background_color="default")
        )
        self.query_one("#countdown", ExpiryCountdown).expires_at = issued.expires
        self._show_secrets()

    def _show_secrets(self) -> None:
        issued = self.current
        if issued is None:
            return
        shown = issued.payload if self.revealed else tokens.masked(issued.payload)
        table = self.query_one("#credentials", DataTable)
        table.clear()
        for key, value in shown["credentials"].items():
            table.add_row(key, str(value))
        table.add_row("token", str(shown["token"]))
        for key, stream in (shown.get("streams") or {}).items():
            table.add_row(key, stream["name"] if stream else "-")
        lines = tokens.export_lines(shown, region=issued.region, endpoint_url=issued.endpoint)
        self.query_one("#exports", Static).update("\n".join(lines))
        self.query_one("#credentials-panel").border_title = (
            "credentials (revealed: v masks)" if self.revealed else "credentials (masked: v reveals)"
        )

    def show_record(self, record: TokenRecord) -> None:
        """A token of an earlier session: what the history kept (its secrets were never kept)."""
        self.current = None
        self.shown_record = record
        now = self.nexus.clock()
        ended = "expired" if record.expires_at <= now else "expires"
        self.query_one("#token-status", Static).update(
            f"token for {record.user} from an earlier session: issued {moment(record.issued_at, now)}, "
            f"granted {record.granted_minutes} min · {ended} {moment(record.expires_at, now)} · "
            "its credentials and the token itself were not kept"
        )
        claims = json.dumps({"claims (kept in the history)": record.claims_summary()}, indent=1)
        self.query_one("#claims", Static).update(
            Syntax(claims, "json", theme=self.nexus.syntax_theme, word_wrap=True, background_color="default")
        )
        self.query_one("#countdown", ExpiryCountdown).expires_at = record.expires_at
        self.query_one("#credentials", DataTable).clear()
        self.query_one("#exports", Static).update("")

    @on(DataTable.RowSelected, "#history")
    def _history_selected(self, event: DataTable.RowSelected) -> None:
        token_id = str(event.row_key.value)
        issued = self.issued.get(token_id)
        if issued is not None:
            self.show_token(issued)
            return
        record = next((r for r in self.history if r.token_id == token_id), None)
        if record is not None:
            self.show_record(record)

    # -- secrets --------------------------------------------------------------------------
    def _need_token(self) -> IssuedToken | None:
        if self.current is None:
            if self.shown_record is not None:
                self.notify(
                    "this token is from an earlier session: its secrets were not kept; issue a new one (^s)",
                    severity="warning",
                )
            else:
                self.notify("issue a token first (^s)", severity="warning")
        return self.current

    def action_reveal(self) -> None:
        if self._need_token() is None:
            return
        self.revealed = not self.revealed
        self._show_secrets()

    def action_copy_exports(self) -> None:
        issued = self._need_token()
        if issued is None:
            return
        lines = tokens.export_lines(issued.payload, region=issued.region, endpoint_url=issued.endpoint)
        self.app.copy_to_clipboard("\n".join(lines) + "\n")
        self.notify(f"{len(lines)} export lines copied (OSC 52)", title="copied")

    def action_copy_token(self) -> None:
        issued = self._need_token()
        if issued is None:
            return
        self.app.copy_to_clipboard(str(issued.payload["token"]))
        self.notify("bearer token copied (OSC 52)", title="copied")
