"""The command palette (Ctrl+P): every action of every screen, from :data:`tui.actions.ACTIONS`."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from rich.markup import escape
from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.actions import ACTIONS, SCREENS, Action

if TYPE_CHECKING:
    from tui.app import NexusApp

_TITLES = {mode: title for mode, title, _ in SCREENS}


def palette_title(action: Action) -> str:
    """``Stack: Restart deployment`` (app-wide actions have no prefix)."""
    return f"{_TITLES[action.screen]}: {action.title}" if action.screen else action.title


class NexusCommands(Provider):
    """Offers every action; choosing one switches to its screen and runs it there."""

    def _hits(self) -> list[tuple[str, Action]]:
        return [(palette_title(action), action) for action in ACTIONS]

    def _help(self, action: Action) -> str:
        nexus = cast("NexusApp", self.app)
        key = f" · key {action.key_display or action.key}" if action.key else ""
        ro = " · disabled: read-only" if action.mutates and nexus.read_only else ""
        return escape(f"{action.help}{key}{ro}")

    async def discover(self) -> Hits:
        nexus = cast("NexusApp", self.app)
        for title, action in self._hits():
            yield DiscoveryHit(title, partial(nexus.run_palette_action, action), help=self._help(action))

    async def search(self, query: str) -> Hits:
        nexus = cast("NexusApp", self.app)
        matcher = self.matcher(query)
        for title, action in self._hits():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(nexus.run_palette_action, action),
                    text=title,
                    help=self._help(action),
                )
