"""Which role a workflow needs, read from the MCP tools its steps call.

agent-core calls the MCP services as itself (``nexus-agent-core/agent-orchestrator``, which
aws-mcp trusts with ``read,write,curate``), so it must not run for a caller a workflow
that does more than that caller may do. The roles (see :mod:`services.common.callers`):

``read``
    list workflows, read runs;
``write``
    run a workflow (every run records itself and may change state: silver, gold, the
    cache, Bedrock spend);
``curate``
    run a workflow that writes the vibranium tier or disseminates.

:data:`TOOL_ROLES` names every tool of the four MCP services with the role a call of it
takes (the services' own annotations agree: ``tests/services/test_workflow_definitions.py``
checks the table against their tool listings, so a new tool cannot be missed). Two
tools depend on an argument: ``aws.lake_write_json`` is ``curate`` for ``tier:
vibranium`` and ``aws.glue_start_job_run`` for a job whose name mentions vibranium (the
gold-to-vibranium job); when the argument is an expression (only known at run time) the
call counts as ``curate``.

A workflow that needs ``curate`` must say so in its file (``requires: curate``); one that
does not is refused when the catalogue loads, naming the step and the tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLE_ORDER = ("read", "write", "curate")
#: the least role that runs any workflow
RUN_ROLE = "write"

#: service -> tool -> the role one call of it takes
TOOL_ROLES: dict[str, dict[str, str]] = {
    "aws": {
        "lake_tiers": "read",
        "lake_inventory": "read",
        "lake_list_objects": "read",
        "lake_read_object": "read",
        "glue_list_jobs": "read",
        "glue_get_job_run": "read",
        "bedrock_invoke_model": "write",  # changes nothing, but is billed (aws-mcp asks write too)
        "dissemination_deliveries": "read",
        "lake_write_json": "write",  # curate for tier vibranium (below)
        "lake_write_enrichment": "write",
        "glue_start_job_run": "write",  # curate for the gold-to-vibranium job (below)
        "disseminate": "curate",
        "dissemination_redeliver": "curate",
    },
    "custom": {
        "kv_get": "read",
        "kv_list": "read",
        "kv_stats": "read",
        "weather_enrich": "read",
        "kv_set": "write",
        "kv_append": "write",
        "kv_delete": "write",
    },
    "database": {"list_tables": "read", "describe_table": "read", "query": "read", "execute": "write"},
    "k8s": {
        "list_namespaces": "read",
        "list_pods": "read",
        "list_deployments": "read",
        "troubleshoot_pod": "read",
        "scale_deployment": "write",
    },
}

#: (service, tool) -> (argument, text that makes the call a curation when the value holds it)
CURATE_WHEN: dict[tuple[str, str], tuple[str, str]] = {
    ("aws", "lake_write_json"): ("tier", "vibranium"),
    ("aws", "glue_start_job_run"): ("job_name", "vibranium"),
}


class UnknownToolError(ValueError):
    """A step calls a tool the role table does not know."""


def rank(role: str) -> int:
    return ROLE_ORDER.index(role)


def highest(roles: list[str]) -> str:
    return max(roles, key=rank) if roles else "read"


def roles_up_to(role: str) -> tuple[str, ...]:
    """The roles a caller needs for something that takes ``role``: it and those below it
    from ``write`` up (running anything is a write)."""
    return tuple(r for r in ROLE_ORDER[1:] if rank(r) <= max(rank(role), rank(RUN_ROLE)))


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and "${{" in value


@dataclass(frozen=True)
class ToolUse:
    """One MCP call of a workflow and the role it takes (``why`` says what made it so)."""

    step: str
    service: str
    tool: str
    role: str
    why: str

    @property
    def call(self) -> str:
        return f"{self.service}.{self.tool}"


def tool_role(step: str, service: str, tool: str, args: dict[str, Any]) -> ToolUse:
    """The role a step's call takes, or UnknownToolError naming the known tools."""
    known = TOOL_ROLES.get(service, {})
    if tool not in known:
        raise UnknownToolError(
            f"step {step!r} calls {service}.{tool}, which the {service} MCP service does not have "
            f"(its tools: {', '.join(sorted(known)) or 'none'})"
        )
    role = known[tool]
    why = f"{service}.{tool} is a {role} tool"
    rule = CURATE_WHEN.get((service, tool))
    if rule is not None and rank(role) < rank("curate"):
        argument, marker = rule
        value = args.get(argument)
        if _is_expression(value):
            role, why = "curate", f"{service}.{tool} with {argument} from an expression may reach {marker}"
        elif isinstance(value, str) and marker in value.lower():
            role, why = "curate", f"{service}.{tool} with {argument}={value!r} writes {marker}"
    return ToolUse(step, service, tool, role, why)
