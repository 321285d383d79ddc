"""Capabilities a scenario can require, and whether this checkout and stack have them.

``requires: [producers]`` in a scenario makes the runner skip it with
``requires producers (not available: ...)`` until the capability is there. Each
capability names the modules that provide it; some also probe the stack (the lake needs
its Glue catalogue, which ``nexuskit up`` must have created).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from nexuskit.scenarios.stacks import StackHandle

log = logging.getLogger(__name__)

Probe = Callable[[StackHandle], str | None]


def module_available(name: str) -> bool:
    """Whether ``name`` is a real module or package here (without importing it).

    A folder without ``__init__.py`` (a package still being written) does not count.
    """
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin not in (None, "namespace")


def _lake_catalogue(stack: StackHandle) -> str | None:
    from botocore.exceptions import BotoCoreError, ClientError

    from services.medallion.lib.names import database_name

    database = database_name(stack.spec.prefix, "silver")
    try:
        stack.target.client("glue", max_attempts=1).get_database(Name=database)
    except ClientError:
        return f"the stack has no Glue database {database} (`nexuskit up` does not set up the lake catalogue)"
    except BotoCoreError as exc:
        return f"cannot ask the stack for its Glue catalogue ({exc})"
    return None


def _agent_core(stack: StackHandle) -> str | None:
    """agent-core reports ``ok`` (its consumer, store and MCP links ready), asked as the operator."""
    from nexuskit.workflows import WorkflowError, health_checks

    url = stack.endpoints().get("agent_core")
    if not url:
        return "agent-core is not running on the stack"
    try:
        health = health_checks(stack.settings, str(url))
    except WorkflowError as exc:
        return f"agent-core does not answer /health/checks ({exc.message})"
    status = health.get("status") if isinstance(health, dict) else None
    if status == "ok":
        return None
    checks = health.get("checks", {}) if isinstance(health, dict) else {}
    failing = [
        f"{name}: {check.get('error') or check.get('status')}"
        for name, check in checks.items()
        if isinstance(check, dict) and check.get("status") not in (None, "ok")
    ]
    return f"agent-core reports {status}" + (f" ({'; '.join(failing)[:300]})" if failing else "")


def _mcp_services(stack: StackHandle) -> str | None:
    urls = stack.endpoints().get("mcp") or {}
    missing = [name for name in ("aws", "custom", "database", "k8s") if not urls.get(name)]
    if missing:
        return f"the stack runs no {', '.join(f'{m}-mcp' for m in missing)}"
    return None


@dataclass(frozen=True)
class Capability:
    name: str
    what: str
    modules: tuple[str, ...]
    probe: Probe | None = field(default=None, compare=False)


CAPABILITIES: dict[str, Capability] = {
    c.name: c
    for c in (
        Capability("producers", "synthetic producers and delivery proof", ("nexuskit.producers",)),
        Capability(
            "kinesisvideo",
            "the Kinesis Video media plane (PutMedia, fragments)",
            ("emulation.kinesisvideo",),
        ),
        Capability(
            "lake",
            "medallion promotion and SQL over the lake",
            ("nexuskit.lake.tiers", "nexuskit.lake.query"),
            _lake_catalogue,
        ),
        Capability("workflows", "agent-core workflows", ("nexuskit.workflows",), _agent_core),
        Capability("mcp", "calls to the MCP services", ("nexuskit.mcpclient",), _mcp_services),
        Capability("controlplane", "the local control-plane runtime", ("nexuskit.controlplane",)),
    )
}


def missing_modules(name: str) -> list[str]:
    return [m for m in CAPABILITIES[name].modules if not module_available(m)]


def unavailable(name: str, stack: StackHandle | None = None) -> str | None:
    """Why capability ``name`` is not available (None when it is)."""
    capability = CAPABILITIES[name]
    missing = missing_modules(name)
    if missing:
        return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in this checkout"
    if capability.probe is not None and stack is not None:
        return capability.probe(stack)
    return None


def skip_reason(requires: list[str], stack: StackHandle | None = None) -> str | None:
    """``requires X (not available: why)`` for the first missing capability, else None."""
    for name in requires:
        why = unavailable(name, stack)
        if why:
            return f"requires {name} (not available: {why})"
    return None
