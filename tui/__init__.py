"""The Textual dashboard of nexuskit (``nexuskit tui``); imports only ``nexuskit``."""
