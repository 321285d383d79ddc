"""``python -m services.mcp.k8s_mcp [--allow-write] [--port N]``."""

from __future__ import annotations

import sys

from services.mcp.common import parse_cli, serve
from services.mcp.k8s_mcp.server import create_app
from services.mcp.k8s_mcp.settings import K8sMcpSettings


def main(argv: list[str] | None = None) -> int:
    settings = parse_cli(K8sMcpSettings, argv, "k8s-mcp: list pods, scale deployments, troubleshoot pods")
    serve(create_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
