"""Every action of the dashboard in one table: keys, palette entries, help and read-only.

The App's and each screen's ``BINDINGS``, the command palette (:mod:`tui.commands`), the
``?`` help and the ``--read-only`` guard are all built from :data:`ACTIONS`, so a key, a
palette command and its help text cannot drift apart.

An action named ``restart`` on screen ``stack`` runs ``StackScreen.action_restart``;
app-wide actions (screen ``""``) run on the App.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class Action:
    """One thing a user can do: where, how it is called, what it does, whether it changes state."""

    screen: str
    name: str
    title: str
    help: str
    key: str | None = None
    key_display: str | None = None
    mutates: bool = False
    show: bool = True

    @property
    def id(self) -> str:
        return f"{self.screen or 'app'}.{self.name}"

    def binding(self) -> Binding:
        assert self.key is not None
        return Binding(self.key, self.name, self.title, show=self.show, key_display=self.key_display)


#: (mode id, title, key) of each screen, in the order of their keys
SCREENS: tuple[tuple[str, str, str], ...] = (
    ("stack", "Stack", "1"),
    ("tokens", "Tokens", "2"),
    ("producers", "Producers", "3"),
    ("workflows", "Workflows", "4"),
    ("lake", "Lake", "5"),
    ("logs", "Logs", "6"),
)

_SWITCH = tuple(
    Action("", f"switch_mode('{mode}')", f"Go to {title}", f"Show the {title} screen", key, show=False)
    for mode, title, key in SCREENS
)

ACTIONS: tuple[Action, ...] = (
    *_SWITCH,
    Action("", "help", "Help", "Keys and actions of the current screen", "question_mark", "?"),
    Action(
        "",
        "toggle_theme",
        "Toggle light/dark theme",
        "Switch between the dark and light theme",
        "ctrl+t",
        show=False,
    ),
    Action("", "quit", "Quit", "Leave the dashboard (the stack keeps running)", "q"),
    Action(
        "",
        "leave_field",
        "Leave the field",
        "Stop typing in a field, so 1-6 switch screens again",
        "escape",
        "esc",
        show=False,
    ),
    # -- stack
    Action(
        "stack",
        "refresh_now",
        "Refresh stack",
        "Reload engine, resources and Deployments now",
        "f5",
        "F5",
        show=False,
    ),
    Action(
        "stack", "details", "Details", "Configuration and recent activity of the selected row", "enter", "⏎"
    ),
    Action(
        "stack",
        "restart",
        "Restart deployment",
        "Rolling restart of the selected Deployment (asks first)",
        "r",
        mutates=True,
    ),
    Action(
        "stack",
        "scale",
        "Scale deployment",
        "Set the selected Deployment's replicas (asks first)",
        "s",
        mutates=True,
    ),
    # -- tokens
    Action("tokens", "issue", "Issue token", "POST /auth for the user and TTL in the form", "ctrl+s", "^s"),
    Action(
        "tokens",
        "reveal",
        "Reveal/mask secrets",
        "Show or mask the secret key, session token and signature",
        "v",
    ),
    Action(
        "tokens", "copy_exports", "Copy export lines", "Copy the shell export lines (OSC 52 clipboard)", "c"
    ),
    Action("tokens", "copy_token", "Copy bearer token", "Copy the JWT (OSC 52 clipboard)", "y"),
    # -- producers
    Action(
        "producers",
        "start_producer",
        "Start producer",
        "Start a producer with the settings in the form",
        "ctrl+s",
        "^s",
        mutates=True,
    ),
    Action("producers", "stop_producer", "Stop producer", "Stop the selected producer", "x", mutates=True),
    Action(
        "producers",
        "stop_all",
        "Stop all producers",
        "Stop every running producer",
        "X",
        mutates=True,
        show=False,
    ),
    Action("producers", "proof", "Delivery proof", "Check the selected run's records in bronze", "d"),
    # -- workflows
    Action(
        "workflows",
        "launch",
        "Launch workflow",
        "Run the selected workflow with the input in the form (or the JSON)",
        "ctrl+s",
        "^s",
        mutates=True,
    ),
    Action(
        "workflows",
        "toggle_raw_input",
        "Raw JSON input on/off",
        "Edit the input as JSON instead of the form built from the workflow's inputs",
        "f2",
        "F2",
    ),
    Action(
        "workflows",
        "refresh_catalogue",
        "Refresh workflows",
        "Reload the catalogue and past runs",
        "f5",
        "F5",
        show=False,
    ),
    # -- lake
    Action(
        "lake", "refresh_lake", "Refresh lake", "Reload tiers, counts and freshness", "f5", "F5", show=False
    ),
    Action(
        "lake",
        "promote",
        "Promote to vibranium",
        "Run bronze→silver→gold→vibranium with progress",
        "p",
        mutates=True,
    ),
    Action("lake", "show_tab('browse')", "Lake: browse", "Tiers, objects and previews", "b"),
    Action("lake", "show_tab('sql')", "Lake: SQL", "SQL over tier.dataset tables (DuckDB)", "e"),
    Action("lake", "show_tab('grants')", "Lake: grants", "Lake Formation grants matrix", "g"),
    # -- logs
    Action("logs", "filter", "Filter logs", "Regular expression filter with highlighting", "slash", "/"),
    Action("logs", "toggle_follow", "Follow on/off", "Keep scrolling to new lines, or hold still", "f"),
    Action("logs", "toggle_timestamps", "Timestamps on/off", "Show or hide each line's time", "t"),
    Action("logs", "save", "Save logs", "Write the lines shown to a file", "w"),
    Action("logs", "clear", "Clear logs", "Forget the lines received so far", "ctrl+l", "^l", show=False),
)


def actions_for(screen: str) -> tuple[Action, ...]:
    return tuple(a for a in ACTIONS if a.screen == screen)


def bindings_for(screen: str) -> list[BindingType]:
    return [a.binding() for a in actions_for(screen) if a.key]


def find(screen: str, name: str) -> Action | None:
    return next((a for a in ACTIONS if a.screen == screen and a.name == name), None)
