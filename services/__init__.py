"""The Nexus control-plane services (agent-core, the MCP servers, nexus-ui, auth, medallion).

httpx's ``__init__`` imports its command-line client when it can (``httpx._main``: rich,
pygments and click, some 3 MB of RSS in every pod); no service runs that CLI, so the
module is marked absent here, before any service imports httpx (httpx then keeps a stub
``main`` that says how to get the CLI). A process that already imported it keeps it.

``pydantic.v1`` (pydantic's copy of its version 1, some 1.7 MB in every FastAPI process) is
marked absent the same way: no service or library of theirs uses it, and FastAPI only
imports it to refuse version-1 models, a check it skips (its own ``ImportError`` branch,
taken with a pydantic that has no ``v1``) when the module cannot be imported.
"""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
sys.modules.setdefault("pydantic.v1", None)  # type: ignore[arg-type]
