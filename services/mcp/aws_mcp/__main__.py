"""``python -m services.mcp.aws_mcp [--allow-write] [--port N]``."""

from __future__ import annotations

import sys

from services.mcp.aws_mcp.server import create_app
from services.mcp.aws_mcp.settings import AwsMcpSettings
from services.mcp.common import parse_cli, serve


def main(argv: list[str] | None = None) -> int:
    settings = parse_cli(AwsMcpSettings, argv, "aws-mcp: lake tiers, Glue jobs, Bedrock and dissemination")
    serve(create_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
