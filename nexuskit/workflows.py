"""agent-core's workflows from the kit: list them, run one, read a run.

The CLI (``nexuskit workflow ...``), the TUI and scenarios call these functions; they
speak HTTP to agent-core (standard library only) at the URL the local stack publishes
(:func:`nexuskit.lifecycle.endpoints`, ``endpoints["agent_core"]``), or at ``url`` when given,
or ``NEXUSKIT_AGENT_CORE_URL``.

agent-core answers only ServiceAccount tokens of its allowed callers. The kit acts as the
operator, ``nexus-agent-core/nexus-operator`` (roles read, write and curate), and sends
its token with every request, so nothing changes for the user: ``token=`` when given,
else ``NEXUSKIT_AGENT_CORE_TOKEN``, else, for agent-core on this machine (a loopback
URL), a token the local control plane issues
(:func:`nexuskit.controlplane.tokens.service_token`, a TokenRequest, as
``kubectl create token nexus-operator -n nexus-agent-core --audience nexus-services``).
The operator's token never goes to another host unless given explicitly.

A run is agent-core's run document: ``run_id``, ``workflow``, ``status`` (``succeeded``,
``failed`` or ``running``), ``steps`` (each with ``id``, ``kind``, ``status``, ``call``,
``attempts``, ``duration_ms``, ``result``, ``error``), ``result``, ``error`` (``step`` and
``message`` when it failed), ``started_at``, ``finished_at``, ``duration_ms``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nexuskit.config import KitSettings
from nexuskit.errors import NexuskitError

log = logging.getLogger(__name__)

URL_ENV = "NEXUSKIT_AGENT_CORE_URL"
TOKEN_ENV = "NEXUSKIT_AGENT_CORE_TOKEN"
FINISHED = ("succeeded", "failed")
#: who the kit is to agent-core (declared in services/agent_core/k8s/templates/agent-core.yaml)
OPERATOR_NAMESPACE = "nexus-agent-core"
OPERATOR_ACCOUNT = "nexus-operator"
SERVICE_AUDIENCE = "nexus-services"


class WorkflowError(NexuskitError):
    """agent-core is unreachable, or refused a request (unknown workflow, invalid input)."""


def agent_core_url(settings: KitSettings, url: str | None = None) -> str:
    """Where agent-core answers: ``url``, ``NEXUSKIT_AGENT_CORE_URL``, or the local stack's."""
    found = url or os.environ.get(URL_ENV)
    if not found:
        from nexuskit.lifecycle import endpoints

        found = endpoints(settings).get("agent_core")
    if not found:
        raise WorkflowError(
            "agent-core is not running in this stack",
            "start the stack with `nexuskit up --local`, or give its URL with --url",
        )
    return str(found).rstrip("/")


def is_local(url: str) -> bool:
    """Whether ``url`` points at this machine (loopback)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Credential:
    """The bearer token sent to agent-core, or why there is none (said on a 401)."""

    token: str | None
    missing: str = ""


def operator_token(settings: KitSettings, base: str, token: str | None = None) -> Credential:
    """The token for agent-core at ``base``: ``token``, ``NEXUSKIT_AGENT_CORE_TOKEN``, or the
    local control plane's token of the operator (loopback URLs only)."""
    given = token or os.environ.get(TOKEN_ENV)
    if given:
        return Credential(given.strip())
    if not is_local(base):
        return Credential(None, f"{base} is not on this machine, so no local token is sent; set {TOKEN_ENV}")
    from nexuskit.controlplane.tokens import service_token

    try:
        return Credential(
            service_token(
                settings,
                namespace=OPERATOR_NAMESPACE,
                service_account=OPERATOR_ACCOUNT,
                audience=SERVICE_AUDIENCE,
                seconds=3600,
            )
        )
    except NexuskitError as exc:  # no control plane here (a standalone agent-core may not need one)
        log.info("no operator token from the control plane: %s", exc)
        return Credential(None, f"no operator token from the local control plane ({exc})")


def parse_input(text: str | None) -> dict[str, Any]:
    """A workflow input from a JSON file's path, or JSON text (``None``: an empty object)."""
    if text is None or not text.strip():
        return {}
    raw = text
    source = "the --input JSON"
    candidate = Path(text).expanduser()
    if not text.lstrip().startswith(("{", "[")) and candidate.is_file():
        raw = candidate.read_text(encoding="utf-8")
        source = str(candidate)
    elif not text.lstrip().startswith("{"):
        raise WorkflowError(
            f"--input {text!r} is neither a file nor a JSON object", "e.g. --input '{\"lat\": 45.5}'"
        )
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise WorkflowError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WorkflowError(f"{source} must hold a JSON object, not {type(data).__name__}")
    return data


def input_problems(schema: dict[str, Any] | None, data: Any) -> dict[str, str]:
    """What agent-core would refuse in ``data`` as the input of a workflow whose catalogue
    entry declares ``schema`` (its ``input``): a message per input name (``""``: the input
    as a whole). Empty when agent-core would take it.

    The check is agent-core's own (``InputSchema`` of
    :mod:`services.agent_core.workflow.model`, the model its ``/workflow/execute`` checks
    with), so the messages are those of a run refused with 422.
    """
    from pydantic import ValidationError

    from services.agent_core.workflow.model import InputSchema

    try:
        model = InputSchema.model_validate(schema or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return {"": f"the workflow's input declaration is not one agent-core reads ({where}: {first['msg']})"}
    found: dict[str, str] = {}
    for problem in model.problems(data):
        loc = [str(part) for part in problem["loc"]]
        name = ".".join(loc[2:] if loc[:2] == ["body", "input"] else loc)
        found.setdefault(name, str(problem["msg"]))
    return found


def check_input(
    settings: KitSettings,
    name: str,
    data: Any,
    url: str | None = None,
    token: str | None = None,
) -> dict[str, str]:
    """:func:`input_problems` of ``data`` for workflow ``name`` of agent-core's catalogue
    (WorkflowError when agent-core has no such workflow)."""
    workflows = list_workflows(settings, url=url, token=token)
    item = next((w for w in workflows if w.get("name") == name), None)
    if item is None:
        known = ", ".join(sorted(str(w.get("name")) for w in workflows)) or "none"
        raise WorkflowError(
            f"unknown workflow {name!r}; known: {known}", "`nexuskit workflow list` shows the workflows"
        )
    return input_problems(item.get("input"), data)


def _detail(payload: Any) -> str:
    detail = payload.get("detail") if isinstance(payload, dict) else payload
    if isinstance(detail, list):
        parts = []
        for item in detail:
            loc = [str(p) for p in item.get("loc", []) if p != "body"]
            parts.append(f"{'.'.join(loc) or 'request'}: {item.get('msg')}")
        return "; ".join(parts)
    return str(detail)


def _request(
    method: str, url: str, body: Any = None, timeout: float = 60.0, credential: Credential | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if credential is not None and credential.token:
        headers["Authorization"] = f"Bearer {credential.token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return int(resp.status), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = raw.decode(errors="replace")[:300]
        if exc.code == 404:
            raise WorkflowError(_detail(payload), "`nexuskit workflow list` shows the workflows") from None
        if exc.code == 422:
            raise WorkflowError(f"invalid request: {_detail(payload)}") from None
        if exc.code == 401:
            why = credential.missing if credential is not None and credential.missing else ""
            raise WorkflowError(
                f"agent-core refused the request (401): {_detail(payload)}",
                why or f"give a token of an allowed caller in {TOKEN_ENV}",
            ) from None
        if exc.code == 403:
            raise WorkflowError(f"agent-core refused the request (403): {_detail(payload)}") from None
        raise WorkflowError(f"agent-core answered HTTP {exc.code}: {_detail(payload)}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise WorkflowError(
            f"agent-core at {url} does not answer ({exc})", "is the stack up? `nexuskit status`"
        ) from None


def list_workflows(
    settings: KitSettings, url: str | None = None, token: str | None = None
) -> list[dict[str, Any]]:
    """The catalogue: name, description, the role it needs, triggers, input schema and steps."""
    base = agent_core_url(settings, url)
    _, body = _request(
        "GET", base + "/workflows", timeout=10, credential=operator_token(settings, base, token)
    )
    workflows: list[dict[str, Any]] = body["workflows"]
    return workflows


def get_run(
    settings: KitSettings, run_id: str, url: str | None = None, token: str | None = None
) -> dict[str, Any]:
    base = agent_core_url(settings, url)
    credential = operator_token(settings, base, token)
    _, body = _request("GET", f"{base}/workflow/runs/{run_id}", timeout=10, credential=credential)
    run: dict[str, Any] = body
    return run


def health_checks(settings: KitSettings, url: str | None = None, token: str | None = None) -> dict[str, Any]:
    """agent-core's readiness with every check (``/health/checks``: AWS, MCP services, consumer)."""
    base = agent_core_url(settings, url)
    credential = operator_token(settings, base, token)
    _, body = _request("GET", base + "/health/checks", timeout=10, credential=credential)
    report: dict[str, Any] = body
    return report


def run_workflow(
    settings: KitSettings,
    name: str,
    data: dict[str, Any] | None = None,
    *,
    wait: bool = True,
    timeout: float = 120.0,
    url: str | None = None,
    poll_seconds: float = 0.25,
    token: str | None = None,
) -> dict[str, Any]:
    """Run ``name`` with input ``data``; with ``wait`` until it finishes (or ``timeout``).

    Without ``wait`` the answer comes at once with ``status: running`` and the ``run_id``.
    A run that is still going when ``timeout`` passes is returned as it is (``running``).
    """
    base = agent_core_url(settings, url)
    credential = operator_token(settings, base, token)
    body: dict[str, Any] = {"name": name, "input": data or {}}
    if not wait:
        body["async"] = True
        _, run = _request("POST", base + "/workflow/execute", body, timeout=30, credential=credential)
        return dict(run)
    deadline = time.monotonic() + timeout
    body["timeout_seconds"] = max(1.0, min(timeout, 300.0))
    _, run = _request("POST", base + "/workflow/execute", body, timeout=timeout + 30, credential=credential)
    while run.get("status") not in FINISHED and time.monotonic() < deadline:
        time.sleep(poll_seconds)
        run = get_run(settings, run["run_id"], url=base, token=credential.token)
    return dict(run)


def run_summary(run: dict[str, Any]) -> dict[str, Any]:
    """The ``--json`` contract of ``nexuskit workflow run``: id, status, steps, result (and error)."""
    return {
        "run_id": run.get("run_id"),
        "workflow": run.get("workflow"),
        "status": run.get("status"),
        "steps": run.get("steps", []),
        "result": run.get("result"),
        "error": run.get("error"),
        "duration_ms": run.get("duration_ms"),
    }
