"""``python -m nexuskit.scenarios.stack_child SETTINGS``: one fresh stack, started in a process of its own.

The scenario runner's fresh stacks (:class:`nexuskit.scenarios.stacks.FreshStacks`) are
started by :func:`nexuskit.lifecycle.up` — the call behind ``nexuskit up`` — run in a child
process rather than in the runner, because:

* the engine takes a profile's settings (clock skew, Bedrock mode and cassettes) from the
  environment of the process that starts it, and stacks of different profiles start at the
  same time: a child each gets its own environment, and the runner's stays as it is;
* a stack that does not come up in time is stopped by killing its child, which leaves
  nothing half-done in the runner.

``SETTINGS`` is a JSON object of :class:`~nexuskit.config.KitSettings` fields; the others
come from the ``NEXUSKIT_*`` environment, as for every command. The stack's report
(:meth:`~nexuskit.lifecycle.UpReport.as_dict`) is printed as JSON; a failure is one
``error:`` line (and a ``hint:`` line) on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.errors import ConfigError, NexuskitError

MODULE = "nexuskit.scenarios.stack_child"


def command(overrides: dict[str, Any]) -> list[str]:
    """The command line that starts a stack with these settings (the rest from the environment)."""
    return [sys.executable, "-m", MODULE, json.dumps(overrides, default=str)]


def _say(error: NexuskitError) -> None:
    sys.stderr.write(f"error: {error.message}\n")
    if error.hint:
        sys.stderr.write(f"  hint: {error.hint}\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        if len(args) != 1:
            raise ConfigError(f"usage: python -m {MODULE} SETTINGS-JSON")
        try:
            settings = KitSettings(**json.loads(args[0]))
        except ValueError as exc:
            raise ConfigError(f"invalid setting: {exc}") from None
        from nexuskit.lifecycle import up

        report = up(settings)
    except NexuskitError as exc:
        _say(exc)
        return exc.exit_code
    sys.stdout.write(json.dumps(report.as_dict(), indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
