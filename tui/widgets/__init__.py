"""Widgets of the dashboard; each carries its own defaults in ``DEFAULT_CSS``."""

from tui.widgets.countdown import ExpiryCountdown
from tui.widgets.producer_panel import ProducerPanel
from tui.widgets.screen_tabs import ScreenTabs
from tui.widgets.workflow_form import WorkflowInputForm

__all__ = ["ExpiryCountdown", "ProducerPanel", "ScreenTabs", "WorkflowInputForm"]
