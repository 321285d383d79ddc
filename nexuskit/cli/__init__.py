"""The ``nexuskit`` command: thin wrappers over the library (parse, call, render).

Every command maps a :class:`~nexuskit.errors.NexuskitError` to one line on stderr and a
non-zero exit. Each area registers its commands in a module of this package; a module is
imported only when one of its commands runs (or ``--help`` lists them all), see
:class:`~nexuskit.cli.common.LazyGroup`.
"""

from __future__ import annotations

# the stack's own commands (up/down/status/env/doctor) are light and always there; the
# other areas load on first use
from nexuskit.cli import lifecycle  # noqa: F401
from nexuskit.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
