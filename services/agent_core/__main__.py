"""``python -m services.agent_core [--port N] [--settings FILE] [--no-consumer]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from services.agent_core.settings import AgentSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="agent-core: workflows over the MCP services and Bedrock")
    parser.add_argument("--port", type=int, default=None, help="listen port (default: PORT or 8000)")
    parser.add_argument("--host", default=None, help="bind address (default 127.0.0.1; 0.0.0.0 in a cluster)")
    parser.add_argument(
        "--settings", type=Path, default=None, help="settings.yaml (default: NEXUS_SETTINGS_FILE)"
    )
    parser.add_argument("--no-consumer", action="store_true", help="do not consume the primary stream")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.port is not None:
        overrides["port"] = args.port
    if args.host is not None:
        overrides["bind_host"] = args.host
    if args.settings is not None:
        overrides["settings_file"] = args.settings
    if args.no_consumer:
        overrides["consumer_enabled"] = False
    settings = AgentSettings(**overrides)
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpx2", "mcp.client"):  # one line per MCP call otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import uvicorn

    from services.agent_core.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
