"""Workflow definitions: YAML files read into checked objects, and input validation.

A workflow file::

    name: enrich-telemetry            # [a-z0-9-]
    description: ...
    requires: write                   # or curate: the role a caller needs to run it (below)
    triggers: [telemetry]             # event types on the stream that start it
    timeout_seconds: 60               # the whole run
    input:                            # a small JSON-Schema subset
      required: [device_id, lat, lon]
      properties:
        lat: {type: number, minimum: -90, maximum: 90}
    steps:
      - id: weather                   # [a-z][a-z0-9_]*; read later as steps.weather
        mcp: {service: custom, tool: weather_enrich}
        args: {lat: "${{ input.lat }}", lon: "${{ input.lon }}"}
        when: "${{ input.lat != null }}"   # skipped when false
        needs: []                          # default: the step before; [] starts at once
        timeout_seconds: 5                 # per attempt
        retry: {attempts: 3, backoff_seconds: 0.2, factor: 2}
        on_error: fail                     # or continue
      - id: summary
        bedrock: {model: reasoning, max_tokens: 800, parse: json}
        system: ...
        prompt: "Summarise ... ${{ to_json(steps.weather.result) }}"
      - id: verdict
        set: {promote: "${{ steps.summary.result.confidence >= 0.8 }}"}
      - id: guard                       # fails the run with its message when it runs
        when: "${{ not steps.verdict.result.promote }}"
        fail: "confidence ${{ steps.summary.result.confidence }} is too low"
    result: {confidence: "${{ steps.summary.result.confidence }}"}

Each step has exactly one of ``mcp``, ``bedrock``, ``set`` or ``fail``. Unknown fields, duplicate
step ids, unknown MCP services or tools, bad expressions and references to later steps are
errors that name the file and the step (see :mod:`.expressions` for the expression language).

Running a workflow takes the ``write`` role; one whose steps write the vibranium tier or
disseminate takes ``curate`` and must declare ``requires: curate`` (see :mod:`.roles`: the
role is derived from the tools the steps call, the declaration makes it visible in the
file, and a file that calls a curate tool without it does not load).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.agent_core.workflow.expressions import (
    ROOTS,
    Expression,
    ExpressionError,
    condition,
    expressions_in,
)
from services.agent_core.workflow.roles import ToolUse, UnknownToolError, rank, roles_up_to, tool_role

MCP_SERVICES = ("aws", "custom", "database", "k8s")
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
WORKFLOW_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
JSON_TYPES = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


class DefinitionError(ValueError):
    """A workflow file that cannot be used; the message names the file and the place."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Retry(Strict):
    attempts: int = Field(default=1, ge=1, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    factor: float = Field(default=2.0, ge=1, le=10)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(self.backoff_seconds * self.factor ** (attempt - 1))


class McpCall(Strict):
    service: Literal["aws", "custom", "database", "k8s"]
    tool: str = Field(min_length=1)


class BedrockCall(Strict):
    model: str = Field(default="reasoning", description="reasoning, text, or a model id")
    max_tokens: int = Field(default=512, ge=1, le=8192)
    temperature: float = Field(default=0.0, ge=0, le=1)
    parse: Literal["text", "json"] = "text"


class Step(Strict):
    id: str
    description: str = ""
    mcp: McpCall | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    bedrock: BedrockCall | None = None
    system: str | None = None
    prompt: str | None = None
    set: dict[str, Any] | None = None
    fail: str | None = None
    when: str | None = None
    needs: list[str] | None = None
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    retry: Retry = Field(default_factory=Retry)
    on_error: Literal["fail", "continue"] = "fail"

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        if not STEP_ID.match(self.id):
            raise ValueError(
                f"step id {self.id!r} must match [a-z][a-z0-9_]* (it is read as steps.{self.id})"
            )
        kinds = [k for k in ("mcp", "bedrock", "set", "fail") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"step {self.id!r} needs exactly one of mcp, bedrock, set, fail (has {kinds or 'none'})"
            )
        if self.bedrock is not None and not self.prompt:
            raise ValueError(f"bedrock step {self.id!r} needs a prompt")
        if self.args and self.mcp is None:
            raise ValueError(f"step {self.id!r}: args belong to mcp steps")
        return self

    @property
    def kind(self) -> str:
        if self.mcp:
            return "mcp"
        if self.bedrock:
            return "bedrock"
        return "set" if self.set is not None else "fail"


class PropertySchema(Strict):
    type: str | list[str] | None = None
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    enum: list[Any] | None = None
    default: Any = None
    min_length: int | None = Field(default=None, alias="minLength")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class InputSchema(Strict):
    """A workflow's declared input, and agent-core's check of an input against it.

    The kit checks inputs with this same model before it sends them
    (:func:`nexuskit.workflows.input_problems`), so its messages are agent-core's.
    """

    required: list[str] = Field(default_factory=list)
    properties: dict[str, PropertySchema] = Field(default_factory=dict)

    def problems(self, data: Any) -> list[dict[str, Any]]:
        """Problems with ``data`` as this input: ``[{"loc": ["body", "input", ...], "msg": ...}]``."""
        if not isinstance(data, dict):
            return [{"loc": ["body", "input"], "msg": "input must be a JSON object", "type": "type_error"}]
        problems = []
        for name in self.required:
            if data.get(name) is None:
                problems.append({"loc": ["body", "input", name], "msg": "Field required", "type": "missing"})
        for name, prop in self.properties.items():
            if name not in data or data[name] is None:
                continue
            message = _check_value(data[name], prop)
            if message:
                problems.append({"loc": ["body", "input", name], "msg": message, "type": "value_error"})
        return problems

    def with_defaults(self, data: dict[str, Any]) -> dict[str, Any]:
        out = dict(data)
        for name, prop in self.properties.items():
            if out.get(name) is None and prop.default is not None:
                out[name] = prop.default
        return out


class Workflow(Strict):
    name: str
    description: str = ""
    version: int = 1
    requires: Literal["write", "curate"] = "write"
    triggers: list[str] = Field(default_factory=list)
    timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    input: InputSchema = Field(default_factory=InputSchema)
    steps: list[Step] = Field(min_length=1)
    result: Any = None

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "requires": self.requires,
            "triggers": self.triggers,
            "timeout_seconds": self.timeout_seconds,
            "input": self.input.model_dump(exclude_none=True, by_alias=True),
            "steps": [
                {
                    "id": s.id,
                    "kind": s.kind,
                    "call": (
                        f"{s.mcp.service}.{s.mcp.tool}"
                        if s.mcp
                        else f"bedrock:{s.bedrock.model}"
                        if s.bedrock
                        else s.kind
                    ),
                    "description": s.description,
                    "when": s.when,
                    "needs": sorted(self.dependencies()[s.id]),
                }
                for s in self.steps
            ],
        }

    def tool_uses(self) -> list[ToolUse]:
        """Every MCP call of the workflow with the role it takes (UnknownToolError for unknown tools)."""
        return [tool_role(s.id, s.mcp.service, s.mcp.tool, s.args) for s in self.steps if s.mcp is not None]

    @property
    def required_roles(self) -> tuple[str, ...]:
        """The roles a caller needs to run this workflow: ``write``, plus ``curate`` if declared."""
        return roles_up_to(self.requires)

    def _check_role(self) -> None:
        try:
            uses = self.tool_uses()
        except UnknownToolError as exc:
            raise ValueError(str(exc)) from None
        for use in uses:
            if rank(use.role) > rank(self.requires):
                raise ValueError(
                    f"step {use.step!r}: {use.why}, so the workflow needs the {use.role!r} role; "
                    f"declare `requires: {use.role}` in the file (now: {self.requires})"
                )

    def dependencies(self) -> dict[str, set[str]]:
        """The steps each step waits for: its ``needs``, else the step before it."""
        out: dict[str, set[str]] = {}
        previous: str | None = None
        for step in self.steps:
            out[step.id] = set(step.needs) if step.needs is not None else ({previous} if previous else set())
            previous = step.id
        return out

    def check(self) -> None:
        """Names, step ids, ``needs``, and every expression (roots; only steps that ran before)."""
        if not WORKFLOW_NAME.match(self.name):
            raise ValueError(f"workflow name {self.name!r} must match [a-z0-9][a-z0-9-]*")
        seen: list[str] = []
        before: dict[str, set[str]] = {}  # step -> every step guaranteed to have finished
        needs = self.dependencies()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            unknown = needs[step.id] - set(seen)
            if unknown:
                raise ValueError(f"step {step.id!r} needs {sorted(unknown)}, which are not steps before it")
            before[step.id] = set(needs[step.id]).union(*(before[n] for n in needs[step.id]))
            parts: list[Expression] = []
            if step.when:
                parts.append(condition(step.when))
            for value in (step.args, step.prompt, step.system, step.set, step.fail):
                parts.extend(expressions_in(value))
            _check_expressions(parts, sorted(before[step.id]), f"step {step.id!r}")
            seen.append(step.id)
        _check_expressions(list(expressions_in(self.result)), seen, "result")
        self._check_role()

    def validate_input(self, data: Any) -> list[dict[str, Any]]:
        """Problems with ``data`` as this workflow's input: ``[{"loc": [...], "msg": ...}]``."""
        return self.input.problems(data)

    def with_defaults(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.input.with_defaults(data)


def _check_expressions(parts: list[Expression], earlier: list[str], where: str) -> None:
    for expr in parts:
        unknown = expr.roots() - set(ROOTS) - {"true", "false", "null"}
        if unknown:
            raise ValueError(
                f"{where}: ${{{{ {expr.source} }}}} reads {sorted(unknown)}; "
                f"expressions may read {', '.join(ROOTS)}"
            )
        later = expr.step_refs() - set(earlier)
        if later:
            raise ValueError(
                f"{where}: ${{{{ {expr.source} }}}} reads steps {sorted(later)} that do not run before it"
            )


def _check_value(value: Any, prop: PropertySchema) -> str | None:
    if prop.type is not None:
        kinds = [prop.type] if isinstance(prop.type, str) else prop.type
        ok = False
        for kind in kinds:
            types = JSON_TYPES.get(kind)
            if types is None:
                continue
            if isinstance(value, bool) and kind in {"number", "integer"}:
                continue
            if isinstance(value, types):
                ok = True
        if not ok:
            return f"Input should be of type {' or '.join(kinds)}"
    if prop.enum is not None and value not in prop.enum:
        return f"Input should be one of {prop.enum}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if prop.minimum is not None and value < prop.minimum:
            return f"Input should be greater than or equal to {prop.minimum:g}"
        if prop.maximum is not None and value > prop.maximum:
            return f"Input should be less than or equal to {prop.maximum:g}"
    if prop.min_length is not None and isinstance(value, (str, list)) and len(value) < prop.min_length:
        return f"Input should have at least {prop.min_length} items"
    return None


def load_workflow(path: Path) -> Workflow:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path}: not valid YAML: {exc}") from None
    try:
        workflow = Workflow.model_validate(doc)
        workflow.check()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DefinitionError(f"{path}: {where}: {first['msg']}") from None
    except (ValueError, ExpressionError) as exc:
        raise DefinitionError(f"{path}: {exc}") from None
    if path.stem != workflow.name:
        raise DefinitionError(
            f"{path}: the file of workflow {workflow.name!r} must be named {workflow.name}.yaml"
        )
    return workflow


class Catalog:
    """The workflows of a folder (``*.yaml``), by name."""

    def __init__(self, workflows: dict[str, Workflow]) -> None:
        self.workflows = workflows

    @classmethod
    def load(cls, folder: Path) -> Catalog:
        if not folder.is_dir():
            raise DefinitionError(f"workflow folder {folder} does not exist")
        found = {}
        for path in sorted(folder.glob("*.yaml")):
            workflow = load_workflow(path)
            found[workflow.name] = workflow
        return cls(found)

    def get(self, name: str) -> Workflow | None:
        return self.workflows.get(name)

    def names(self) -> list[str]:
        return sorted(self.workflows)

    def routes(self) -> dict[str, str]:
        """Event type -> workflow, from each workflow's ``triggers``."""
        out: dict[str, str] = {}
        for workflow in self.workflows.values():
            for trigger in workflow.triggers:
                out.setdefault(trigger, workflow.name)
        return out

    def stream_routes(
        self, role: str, configured: dict[str, str] | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The routes stream events may take, and those refused (event type -> why).

        Events on the stream are put by any producer with the stream's credentials, so they
        start only workflows whose role is at most ``role`` (agent-core's ``consumer_role``).
        A trigger of a workflow that needs more is refused (logged, counted); a route
        *configured* (``consumer_routes``) to such a workflow, or to an unknown one, is a
        configuration error.
        """
        routes: dict[str, str] = {}
        refused: dict[str, str] = {}
        for event_type, name in (configured if configured is not None else self.routes()).items():
            workflow = self.get(name)
            if workflow is None:
                known = ", ".join(self.names())
                raise DefinitionError(
                    f"consumer_routes: {event_type!r} -> {name!r} is not a workflow; known: {known}"
                )
            if rank(workflow.requires) <= rank(role):
                routes[event_type] = name
                continue
            why = (
                f"{name} needs the {workflow.requires!r} role and stream events act with {role!r} "
                f"(set consumer_role: {workflow.requires} to let the stream start it)"
            )
            if configured is not None:
                raise DefinitionError(f"consumer_routes: {event_type!r} -> {why}")
            refused[event_type] = why
        return routes, refused
