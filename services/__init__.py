"""The Nexus control-plane services (agent-core, the MCP servers, nexus-ui, auth, medallion).

httpx's ``__init__`` imports its command-line client when it can (``httpx._main``: rich,
pygments and click, some 3 MB of RSS in every pod); no service runs that CLI, so the
module is marked absent here, before any service imports httpx (httpx then keeps a stub
``main`` that says how to get the CLI). A process that already imported it keeps it.
"""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
