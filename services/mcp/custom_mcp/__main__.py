"""``python -m services.mcp.custom_mcp [--allow-write] [--port N]``."""

from __future__ import annotations

import sys

from services.mcp.common import parse_cli, serve
from services.mcp.custom_mcp.server import create_app
from services.mcp.custom_mcp.settings import CustomMcpSettings


def main(argv: list[str] | None = None) -> int:
    settings = parse_cli(CustomMcpSettings, argv, "custom-mcp: key-value cache and weather enrichment")
    serve(create_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
