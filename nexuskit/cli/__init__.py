"""The ``nexuskit`` command: thin wrappers over the library (parse, call, render).

Every command maps a :class:`~nexuskit.errors.NexuskitError` to one line on stderr and a
non-zero exit. Each area registers its commands in a module of this package; importing
the package registers them all.
"""

from __future__ import annotations

import nexuskit.cli.promote  # registers promote
import nexuskit.cli.tf  # registers tf override
import nexuskit.cli.token  # noqa: F401  (registers token issue/verify/env/history)
from nexuskit.cli import (
    controlplane,  # noqa: F401  (registers ps/logs/scale/restart/events/manifests)
    lake,  # noqa: F401  (registers lake ls/inspect/query/promote/stats/grants)
    lifecycle,  # noqa: F401  (registers up/down/status/env/doctor)
    mcp,  # noqa: F401  (registers mcp tools/call)
    produce,  # noqa: F401  (registers produce, produce verify/templates/runs)
    scenario,  # noqa: F401  (registers scenario run/list/new)
    tui,  # noqa: F401  (registers tui/overview/tail)
    workflow,  # noqa: F401  (registers workflow run/check/show/list)
)
from nexuskit.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
