"""The ``nexuskit`` command: thin wrappers over the library (parse, call, render).

Every command maps a :class:`~nexuskit.errors.NexuskitError` to one line on stderr and a
non-zero exit. Each area registers its commands in a module of this package; importing
the package registers them all.
"""

from __future__ import annotations

from nexuskit.cli import stack  # noqa: F401  (registers up/down/status/env/doctor)
from nexuskit.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
