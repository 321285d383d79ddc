"""The scenario format: a pydantic model of ``scenarios/*.yaml`` (and its JSON Schema).

A scenario is a name, a description, the capabilities and stack profile it needs, some
variables, and ordered steps. Each step is a mapping with exactly one *step type* key
(``token``, ``aws``, ``assert``...) plus the common keys ``id`` (to refer to its result
as ``steps.<id>``), ``name`` (what the live output shows) and ``key`` (marks the
assertion the scenario exists for; the mutation test breaks it on purpose).

Strings may hold ``{{ ... }}`` templates (see :mod:`.templating`); they are rendered just
before the step runs, and the rendered step is validated again against the same model,
so a field typed ``int | str`` below is an int by the time a step runs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    model_validator,
)

SCHEMA_VERSION = 1

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> Any:
    """``30``, ``30s``, ``500ms``, ``2m``, ``1h`` -> seconds (templates pass through)."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 30s, 500ms, 2m")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if "{{" in value:
            return value
        match = _DURATION_RE.match(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2)]
    raise ValueError(f"{value!r} is not a duration (use a number of seconds, or 30s, 500ms, 2m, 1h)")


def parse_offset(value: Any) -> Any:
    """``+16m`` / ``-5s`` / ``90`` -> signed seconds (for judging a token at another time)."""
    if isinstance(value, str) and value.strip()[:1] in "+-" and "{{" not in value:
        sign = -1.0 if value.strip().startswith("-") else 1.0
        return sign * float(parse_duration(value.strip()[1:]))
    return parse_duration(value)


_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$|\{\{"},
    ],
    "description": "seconds, or a string such as 30s, 500ms, 2m, 1h",
}
_OFFSET_SCHEMA = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": r"^\s*[+-]?\d+(\.\d+)?\s*(ms|s|m|h)?\s*$|\{\{"},
    ],
    "description": "a signed offset from now: +16m, -30s, 90",
}
Duration = Annotated[float | str, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
Offset = Annotated[float | str, BeforeValidator(parse_offset), WithJsonSchema(_OFFSET_SCHEMA)]
_TEMPLATE_SCHEMA = {"type": "string", "pattern": r"\{\{.*\}\}"}
Template = Annotated[str, Field(pattern=r"\{\{.*\}\}"), WithJsonSchema(_TEMPLATE_SCHEMA)]
IntOrTemplate = int | Template
Identity = Annotated[
    str | dict[str, Any] | None,
    Field(
        description=(
            "who makes the call: 'admin' (default, the stack's bootstrap identity), the id of a "
            "token step (its bearer credentials), 'role:<key>' (assume one of the stack's roles, "
            "e.g. role:agent_irsa), or a mapping with AccessKeyId/SecretAccessKey/SessionToken"
        )
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- stack profile ------------------------------------------------------------------------
class StackProfile(Strict):
    """What the scenario needs from the stack. Unset fields accept any current stack.

    A stack the runner starts itself (``--fresh``, and the pytest suite) uses these values,
    and for unset fields the AWS-faithful defaults: IAM enforced, fast Firehose buffering,
    Kinesis limits on, no clock skew, local Bedrock.
    """

    iam: Literal["enforce", "log", "off"] | None = Field(
        default=None, description="IAM mode of the engine (a fresh stack defaults to enforce)"
    )
    firehose_buffering: Literal["fast", "aws"] | None = None
    kinesis_limits: Literal["aws", "off"] | None = None
    clock_skew_s: float | None = Field(
        default=None,
        description="the engine judges credential expiry this many seconds ahead of real time "
        "(NEXUSKIT_CLOCK_SKEW_SECONDS), to rehearse expiry",
    )
    bedrock: Literal["local", "replay"] | None = Field(
        default=None,
        description="Bedrock runtime mode; replay answers from scenarios/cassettes/bedrock "
        "(--record records them)",
    )
    exclusive: bool = Field(
        default=False,
        description="the scenario restarts or disturbs the stack: a runner that starts stacks "
        "gives it one of its own",
    )


# -- step bodies --------------------------------------------------------------------------
class AwsCall(Strict):
    """Any boto3 call, as data."""

    service: str = Field(description="boto3 service name: kinesis, s3, firehose, sts, ...")
    operation: str = Field(description="put_records or PutRecords")
    params: dict[str, Any] = Field(default_factory=dict, description="the call's parameters")
    as_: Identity = Field(default=None, alias="as")
    region: str | None = None
    endpoint_url: str | None = Field(
        default=None, description="another endpoint (e.g. a Kinesis Video data endpoint); default the stack's"
    )


class TokenCall(Strict):
    """Issue a bearer token through the HTTP API (``POST /auth``), or verify one."""

    action: Literal["issue", "verify"] = "issue"
    user: str = "scenario-client"
    ttl_minutes: IntOrTemplate | None = None
    metadata: dict[str, Any] | None = None
    token: str | None = Field(default=None, description="verify: the JWT")
    at: Offset | None = Field(
        default=None, description="verify: judge expiry at now + this offset (e.g. +16m)"
    )

    @model_validator(mode="after")
    def _verify_needs_token(self) -> TokenCall:
        if self.action == "verify" and not self.token:
            raise ValueError("a verify token step needs 'token' (the JWT, e.g. '{{ steps.tok.token }}')")
        return self


class ProduceCall(Strict):
    """Synthetic records through ``nexuskit.producers`` (what ``nexuskit produce`` does)."""

    channel: Literal["client", "internal"] | None = Field(
        default=None, description="client (bearer token over HTTP) or internal (platform identity)"
    )
    stream: str | None = Field(default=None, description="default: the channel's stream")
    template: str = Field(default="telemetry", description="telemetry, event, sensor, or a template file")
    count: IntOrTemplate | None = None
    rate: float | None = Field(
        default=None, description="records/s; unset = as fast as the stream takes them"
    )
    mode: Literal["constant", "periodic", "burst"] | None = None
    duration: Duration | None = None
    seed: IntOrTemplate | None = None
    anomaly_rate: float | None = None
    partition_key: str | None = None
    user: str | None = Field(default=None, description="client channel: who the token is for")
    ttl_minutes: IntOrTemplate | None = None
    as_: Identity = Field(default=None, alias="as")

    @model_validator(mode="after")
    def _bounded(self) -> ProduceCall:
        if self.count is None and self.duration is None:
            raise ValueError("produce needs count or duration")
        return self


class PutVideoCall(Strict):
    """Video fragments with PutMedia (``nexuskit produce --video``)."""

    stream: str = Field(description="client-telemetry, telemetry, or a full stream name")
    channel: Literal["client", "internal"] | None = None
    fps: float = 5.0
    duration: Duration = 2.0
    fragments: IntOrTemplate | None = Field(
        default=None, description="a number of fragments instead of a duration"
    )
    realtime: bool = Field(default=False, description="film in real time (default: as fast as possible)")
    user: str | None = None
    as_: Identity = Field(default=None, alias="as")


class ObjectsWait(Strict):
    tier: Literal["bronze", "silver", "gold", "vibranium"] = "bronze"
    prefix: str = ""
    exclude: list[str] = Field(default_factory=list, description="key prefixes to leave out")
    at_least: IntOrTemplate = 1


class RecordsWait(Strict):
    """JSON-lines records in (GZIP) objects of a tier whose fields equal ``where``."""

    tier: Literal["bronze", "silver", "gold", "vibranium"] = "bronze"
    prefix: str = ""
    exclude: list[str] = Field(default_factory=list, description="key prefixes to leave out")
    where: dict[str, Any] = Field(default_factory=dict)
    count: IntOrTemplate = Field(description="wait until at least this many match")
    id_field: str = "id"
    settle: Duration = Field(default=1.0, description="keep watching this long after the count is reached")


class RowsWait(Strict):
    sql: str = Field(description="SQL over the lake (tier.dataset tables); the first column of the first row")
    at_least: IntOrTemplate = 1


class DeliveryWait(Strict):
    """The producers' delivery proof of one run (``produce verify``)."""

    run_id: str


class WorkflowWait(Strict):
    run_id: str
    state: str = "succeeded"


WAIT_KINDS = ("objects", "records", "rows", "delivery", "workflow")


class WaitFor(Strict):
    """Poll until a condition holds, or fail at the timeout with the last value seen."""

    timeout: Duration = 30.0
    interval: Duration = 0.5
    objects: ObjectsWait | None = None
    records: RecordsWait | None = None
    rows: RowsWait | None = None
    delivery: DeliveryWait | None = None
    workflow: WorkflowWait | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> WaitFor:
        kinds = [k for k in WAIT_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"wait_for needs exactly one of {', '.join(WAIT_KINDS)} (got {kinds or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in WAIT_KINDS if getattr(self, k) is not None)


class WorkflowCall(Strict):
    """Run an agent-core workflow (needs ``nexuskit.workflows``)."""

    workflow: str = Field(alias="name")
    input: dict[str, Any] = Field(default_factory=dict)
    async_: bool = Field(default=False, alias="async")
    timeout: Duration = 60.0


class LakePromote(Strict):
    """Promote bronze up to a tier with the medallion jobs (``nexuskit.lake.tiers``)."""

    to: Literal["silver", "gold", "vibranium"] = "vibranium"
    threshold: float | None = None
    via: Literal["in-process", "glue"] = "in-process"
    as_: Identity = Field(default=None, alias="as")


class McpCall(Strict):
    """Call a tool of one of the four MCP services (needs ``nexuskit.mcpclient``)."""

    service: Literal["aws", "custom", "database", "k8s"]
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ExpectDenied(Strict):
    """A call that must fail with one of the named error codes."""

    error: str | list[str] = Field(
        description="error code(s): AccessDeniedException, ExpiredTokenException, ..."
    )
    message_contains: str | None = None
    aws: AwsCall | None = None
    token: TokenCall | None = None
    mcp_call: McpCall | None = None
    workflow: WorkflowCall | None = None
    lake_promote: LakePromote | None = None
    produce: ProduceCall | None = None
    put_video: PutVideoCall | None = None
    sql: str | None = Field(default=None, description="SQL over the lake")
    as_: Identity = Field(default=None, alias="as", description="identity for sql")

    @model_validator(mode="after")
    def _exactly_one(self) -> ExpectDenied:
        kinds = self.call_kinds()
        if len(kinds) != 1:
            raise ValueError(
                "expect_denied needs exactly one call: aws, token, mcp_call, workflow, lake_promote, "
                f"produce, put_video or sql (got {kinds or 'none'})"
            )
        return self

    def call_kinds(self) -> list[str]:
        names = ("aws", "token", "mcp_call", "workflow", "lake_promote", "produce", "put_video", "sql")
        return [k for k in names if getattr(self, k) is not None]

    @property
    def codes(self) -> list[str]:
        return [self.error] if isinstance(self.error, str) else list(self.error)


class Check(Strict):
    """One expectation: a value (``path`` JSONPath over the run, ``value``, or ``sql``)
    compared with one or more operators."""

    path: str | None = Field(default=None, description="JSONPath over {steps, vars, scenario, stack}")
    value: Any = Field(default=None, description="a (templated) value to check instead of a path")
    sql: str | None = Field(default=None, description="SQL over the lake; the check sees its rows")
    as_: Identity = Field(default=None, alias="as", description="identity for sql")
    equals: Any = None
    not_equals: Any = None
    at_least: float | Template | None = None
    at_most: float | Template | None = None
    length: IntOrTemplate | None = None
    contains: Any = None
    matches: str | None = Field(default=None, description="a regular expression the (string) value matches")
    exists: bool | None = None
    message: str | None = Field(default=None, description="said when the check fails")

    @model_validator(mode="after")
    def _shape(self) -> Check:
        sources = [k for k in ("path", "sql") if getattr(self, k) is not None]
        if "value" in self.model_fields_set:
            sources.append("value")
        if len(sources) != 1:
            raise ValueError(f"a check needs exactly one of path, value, sql (got {sources or 'none'})")
        if not self.operators():
            raise ValueError(
                "a check needs an operator: equals, not_equals, at_least, at_most, length, contains, "
                "matches or exists"
            )
        return self

    def operators(self) -> list[str]:
        names = ("equals", "not_equals", "at_least", "at_most", "length", "contains", "matches", "exists")
        return [n for n in names if n in self.model_fields_set]


class Snapshot(Strict):
    """Compare a value with the recorded one after normalising volatile parts."""

    of: Any = Field(default=None, description="the value, usually a template like '{{ steps.desc }}'")
    path: str | None = Field(default=None, description="or a JSONPath over the run")
    ignore: list[str] = Field(default_factory=list, description="JSONPaths (inside the value) to blank out")
    replace: dict[str, str] = Field(
        default_factory=dict, description="extra regex -> placeholder rules for this snapshot"
    )

    @model_validator(mode="after")
    def _one_source(self) -> Snapshot:
        if ("of" in self.model_fields_set) == (self.path is not None):
            raise ValueError("a snapshot needs exactly one of of, path")
        return self


class RestartEngine(Strict):
    """Stop the engine and start it again with the same settings (state restored)."""

    mode: Literal["graceful", "kill"] = Field(default="kill", description="kill = SIGKILL, a crash")


# -- steps --------------------------------------------------------------------------------
_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


class StepCommon(Strict):
    id: str | None = Field(default=None, pattern=_ID_PATTERN, description="refer to the result as steps.<id>")
    name: str | None = Field(default=None, description="what the live output shows")
    key: bool = Field(default=False, description="the assertion this scenario exists for")


class TokenStep(StepCommon):
    token: TokenCall


class ProduceStep(StepCommon):
    produce: ProduceCall


class PutVideoStep(StepCommon):
    put_video: PutVideoCall


class WaitForStep(StepCommon):
    wait_for: WaitFor


class WorkflowStep(StepCommon):
    workflow: WorkflowCall


class LakePromoteStep(StepCommon):
    lake_promote: LakePromote


class McpCallStep(StepCommon):
    mcp_call: McpCall


class AwsStep(StepCommon):
    aws: AwsCall


class ExpectDeniedStep(StepCommon):
    expect_denied: ExpectDenied


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class AssertStep(StepCommon):
    assert_: Annotated[list[Check], BeforeValidator(_as_list, json_schema_input_type=Check | list[Check])] = (
        Field(alias="assert", min_length=1)
    )

    @property
    def checks(self) -> list[Check]:
        return self.assert_


class SnapshotStep(StepCommon):
    snapshot: Snapshot


class RestartEngineStep(StepCommon):
    restart_engine: RestartEngine


STEP_MODELS: dict[str, type[StepCommon]] = {
    "token": TokenStep,
    "produce": ProduceStep,
    "put_video": PutVideoStep,
    "wait_for": WaitForStep,
    "workflow": WorkflowStep,
    "lake_promote": LakePromoteStep,
    "mcp_call": McpCallStep,
    "aws": AwsStep,
    "expect_denied": ExpectDeniedStep,
    "assert": AssertStep,
    "snapshot": SnapshotStep,
    "restart_engine": RestartEngineStep,
}
STEP_TYPES = tuple(STEP_MODELS)


def step_type_of(raw: Any) -> str | None:
    """The step type key of a raw step mapping (None unless there is exactly one)."""
    if isinstance(raw, BaseModel):
        raw = raw.model_dump(by_alias=True, exclude_unset=True)
    if not isinstance(raw, dict):
        return None
    found = [key for key in raw if key in STEP_MODELS]
    return found[0] if len(found) == 1 else None


Step = Annotated[
    Annotated[TokenStep, Tag("token")]
    | Annotated[ProduceStep, Tag("produce")]
    | Annotated[PutVideoStep, Tag("put_video")]
    | Annotated[WaitForStep, Tag("wait_for")]
    | Annotated[WorkflowStep, Tag("workflow")]
    | Annotated[LakePromoteStep, Tag("lake_promote")]
    | Annotated[McpCallStep, Tag("mcp_call")]
    | Annotated[AwsStep, Tag("aws")]
    | Annotated[ExpectDeniedStep, Tag("expect_denied")]
    | Annotated[AssertStep, Tag("assert")]
    | Annotated[SnapshotStep, Tag("snapshot")]
    | Annotated[RestartEngineStep, Tag("restart_engine")],
    Discriminator(
        step_type_of,
        custom_error_type="step_type",
        custom_error_message=f"a step needs exactly one step type key: {', '.join(STEP_TYPES)}",
    ),
]

CAPABILITY_NAMES = ("producers", "kinesisvideo", "lake", "workflows", "mcp", "controlplane")


class Scenario(Strict):
    """One scenario file."""

    schema_version: Literal[1] = Field(description="the format version (1)")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="kebab-case, unique in the suite")
    description: str = ""
    flow: str | None = Field(default=None, description="the spec flow it covers, e.g. '§3.1'")
    requires: list[Literal["producers", "kinesisvideo", "lake", "workflows", "mcp", "controlplane"]] = Field(
        default_factory=list,
        description="capabilities the scenario needs; when one is not available it is skipped, saying why",
    )
    stack: StackProfile = Field(default_factory=StackProfile)
    vars: dict[str, Any] = Field(default_factory=dict, description="values for {{ vars.<name> }}")
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Scenario:
        seen: dict[str, int] = {}
        for index, step in enumerate(self.steps, start=1):
            if step.id is None:
                continue
            if step.id in seen:
                raise ValueError(f"step {index} reuses the id {step.id!r} of step {seen[step.id]}")
            seen[step.id] = index
        return self


def step_kind(step: StepCommon) -> str:
    """The step type key of a validated step."""
    for kind, model in STEP_MODELS.items():
        if type(step) is model:
            return kind
    raise TypeError(f"not a step: {step!r}")  # pragma: no cover


def step_label(index: int, step: StepCommon) -> str:
    """``step 3 (aws 'put')`` - how errors and the live output name a step."""
    kind = step_kind(step)
    return f"step {index} ({kind} {step.id!r})" if step.id else f"step {index} ({kind})"
