"""``python -m nexuskit.cli``."""

from nexuskit.cli import main

main()
