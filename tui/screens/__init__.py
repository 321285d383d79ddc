"""One screen per module: the six main screens and the dialogs they open."""

from tui.screens.lake import LakeScreen
from tui.screens.logs import LogsScreen
from tui.screens.producers import ProducersScreen
from tui.screens.stack import StackScreen
from tui.screens.tokens import TokensScreen
from tui.screens.workflows import WorkflowsScreen

__all__ = ["LakeScreen", "LogsScreen", "ProducersScreen", "StackScreen", "TokensScreen", "WorkflowsScreen"]
