"""``python -m services.nexus_ui [--port N]``: serve the operator UI on PORT (default 8000)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from services.nexus_ui.settings import UiSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="nexus-ui: the Nexus operator web interface")
    parser.add_argument("--port", type=int, default=None, help="listen port (default: PORT or 8000)")
    parser.add_argument("--host", default=None, help="bind address (default 127.0.0.1; 0.0.0.0 in a cluster)")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.port is not None:
        overrides["port"] = args.port
    if args.host is not None:
        overrides["bind_host"] = args.host
    settings = UiSettings(**overrides)
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    import uvicorn

    from services.nexus_ui.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
