"""``python -m services.mcp.database_mcp [--allow-write] [--port N]``."""

from __future__ import annotations

import sys

from services.mcp.common import parse_cli, serve
from services.mcp.database_mcp.server import create_app
from services.mcp.database_mcp.settings import DatabaseMcpSettings


def main(argv: list[str] | None = None) -> int:
    settings = parse_cli(DatabaseMcpSettings, argv, "database-mcp: SQL on the pod's SQLite database")
    serve(create_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
