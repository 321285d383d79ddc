"""Widgets of the dashboard; each carries its own defaults in ``DEFAULT_CSS``."""

from tui.widgets.countdown import ExpiryCountdown
from tui.widgets.not_available import NotAvailable
from tui.widgets.producer_panel import ProducerPanel
from tui.widgets.screen_tabs import ScreenTabs

__all__ = ["ExpiryCountdown", "NotAvailable", "ProducerPanel", "ScreenTabs"]
