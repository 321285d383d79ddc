"""``getResolvedOptions`` as AWS Glue provides it: job arguments from ``sys.argv``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

_OPTIONAL = ("--JOB_ID", "--JOB_RUN_ID", "--TempDir", "--job-bookmark-option", "--continuation-option")


class GlueArgumentError(Exception):
    """An argument the script asked for is missing or malformed."""


class GlueArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting, as Glue's does."""

    def error(self, message: str) -> NoReturn:
        raise GlueArgumentError("argument error: " + message)


def getResolvedOptions(args: Sequence[str], options: Sequence[str]) -> dict[str, Any]:  # noqa: N802
    """The values of ``--NAME value`` arguments for each NAME in ``options``.

    ``args`` is ``sys.argv``; arguments the script does not ask for are ignored, and a
    missing one raises :class:`GlueArgumentError` (as on AWS Glue).
    """
    parser = GlueArgumentParser(add_help=False)
    for name in _OPTIONAL:
        if name[2:] not in options:
            parser.add_argument(name, required=False)
    for option in options:
        parser.add_argument("--" + option, required=True)
    parsed, _extra = parser.parse_known_args(list(args[1:]))
    return {key: value for key, value in vars(parsed).items() if value is not None}
