"""agent-core's workflows from the kit: list them, run one, read a run.

The CLI (``nexuskit workflow ...``), the TUI and scenarios call these functions; they
speak HTTP to agent-core (standard library only) at the URL the local stack publishes
(:func:`nexuskit.local.endpoints`, ``endpoints["agent_core"]``), or at ``url`` when given,
or ``NEXUSKIT_AGENT_CORE_URL``.

A run is agent-core's run document: ``run_id``, ``workflow``, ``status`` (``succeeded``,
``failed`` or ``running``), ``steps`` (each with ``id``, ``kind``, ``status``, ``call``,
``attempts``, ``duration_ms``, ``result``, ``error``), ``result``, ``error`` (``step`` and
``message`` when it failed), ``started_at``, ``finished_at``, ``duration_ms``.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.errors import NexuskitError

URL_ENV = "NEXUSKIT_AGENT_CORE_URL"
FINISHED = ("succeeded", "failed")


class WorkflowError(NexuskitError):
    """agent-core is unreachable, or refused a request (unknown workflow, invalid input)."""


def agent_core_url(settings: KitSettings, url: str | None = None) -> str:
    """Where agent-core answers: ``url``, ``NEXUSKIT_AGENT_CORE_URL``, or the local stack's."""
    found = url or os.environ.get(URL_ENV)
    if not found:
        from nexuskit.local import endpoints

        found = endpoints(settings).get("agent_core")
    if not found:
        raise WorkflowError(
            "agent-core is not running in this stack",
            "start the stack with `nexuskit up --local`, or give its URL with --url",
        )
    return str(found).rstrip("/")


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


def _detail(payload: Any) -> str:
    detail = payload.get("detail") if isinstance(payload, dict) else payload
    if isinstance(detail, list):
        parts = []
        for item in detail:
            loc = [str(p) for p in item.get("loc", []) if p != "body"]
            parts.append(f"{'.'.join(loc) or 'request'}: {item.get('msg')}")
        return "; ".join(parts)
    return str(detail)


def _request(method: str, url: str, body: Any = None, timeout: float = 60.0) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
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
        raise WorkflowError(f"agent-core answered HTTP {exc.code}: {_detail(payload)}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise WorkflowError(
            f"agent-core at {url} does not answer ({exc})", "is the stack up? `nexuskit status`"
        ) from None


def list_workflows(settings: KitSettings, url: str | None = None) -> list[dict[str, Any]]:
    """The catalogue: name, description, triggers, input schema and steps of each workflow."""
    _, body = _request("GET", agent_core_url(settings, url) + "/workflows", timeout=10)
    workflows: list[dict[str, Any]] = body["workflows"]
    return workflows


def get_run(settings: KitSettings, run_id: str, url: str | None = None) -> dict[str, Any]:
    _, body = _request("GET", f"{agent_core_url(settings, url)}/workflow/runs/{run_id}", timeout=10)
    run: dict[str, Any] = body
    return run


def run_workflow(
    settings: KitSettings,
    name: str,
    data: dict[str, Any] | None = None,
    *,
    wait: bool = True,
    timeout: float = 120.0,
    url: str | None = None,
    poll_seconds: float = 0.25,
) -> dict[str, Any]:
    """Run ``name`` with input ``data``; with ``wait`` until it finishes (or ``timeout``).

    Without ``wait`` the answer comes at once with ``status: running`` and the ``run_id``.
    A run that is still going when ``timeout`` passes is returned as it is (``running``).
    """
    base = agent_core_url(settings, url)
    body: dict[str, Any] = {"name": name, "input": data or {}}
    if not wait:
        body["async"] = True
        _, run = _request("POST", base + "/workflow/execute", body, timeout=30)
        return dict(run)
    deadline = time.monotonic() + timeout
    body["timeout_seconds"] = max(1.0, min(timeout, 300.0))
    _, run = _request("POST", base + "/workflow/execute", body, timeout=timeout + 30)
    while run.get("status") not in FINISHED and time.monotonic() < deadline:
        time.sleep(poll_seconds)
        run = get_run(settings, run["run_id"], url=base)
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
