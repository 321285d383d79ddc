"""Test support for the services: real processes on free ports, a provisioned lake, MCP calls.

Services run as ``python -m services...`` subprocesses (uvicorn inside), configured only
through their environment and flags, exactly as the runtime starts them, against a real
engine process. Nothing here imports a service module (the MCP client library of
``services.common`` aside, which is what callers use).

Authentication is on, as in a cluster: every service trusts the session's
:func:`issuer` (a :class:`~tests.services.tokens.TestIssuer`) and allows
:data:`DEFAULT_CALLERS`; the helpers send the operator's token unless told otherwise
(``account=None`` for an anonymous call, ``token=`` for a token made by hand).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.helpers import ADMIN_KEY, ADMIN_SECRET, REGION, EngineProcess, free_port
from tests.services.tokens import OPERATOR, ORCHESTRATOR, UI, TestIssuer

PREFIX = "nexus-dev"
TIERS = ("bronze", "silver", "gold", "vibranium")
BUCKETS = {tier: f"{PREFIX}-{tier}-{REGION}" for tier in TIERS}
STREAM = f"{PREFIX}-intake"
REPO = Path(__file__).resolve().parents[2]

#: who may call the services the tests start (each service's manifest is narrower)
DEFAULT_CALLERS = f"{OPERATOR}=read,write,curate {ORCHESTRATOR}=read,write,curate {UI}=read"

_issuer: list[TestIssuer] = []


def issuer() -> TestIssuer:
    """The process's test issuer (its key and JWKS in a folder removed at exit)."""
    if not _issuer:
        folder = Path(tempfile.mkdtemp(prefix="nexus-test-issuer-"))
        atexit.register(shutil.rmtree, folder, True)
        _issuer.append(TestIssuer(folder))
    return _issuer[0]


def auth_env(callers: str = DEFAULT_CALLERS) -> dict[str, str]:
    """A service's auth environment: trust :func:`issuer`, allow ``callers``."""
    return issuer().env(callers)


def service_token_env(folder: Path, account: str = ORCHESTRATOR) -> dict[str, str]:
    """``NEXUS_SERVICE_TOKEN_FILE`` for a calling service: ``account``'s token in a file."""
    return {"NEXUS_SERVICE_TOKEN_FILE": str(issuer().token_file(folder, account))}


def bearer(account: str | None = OPERATOR, token: str | None = None) -> str | None:
    """The token to send: ``token`` as given, else ``account``'s, else none."""
    if token is not None:
        return token
    return issuer().token(account) if account else None


def auth_headers(account: str | None = OPERATOR, token: str | None = None) -> dict[str, str]:
    value = bearer(account, token)
    return {"Authorization": f"Bearer {value}"} if value else {}


def aws_env(engine: EngineProcess) -> dict[str, str]:
    """The standard AWS configuration a pod gets: endpoint, region, credentials."""
    return {
        "AWS_ENDPOINT_URL": engine.endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ADMIN_KEY,
        "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
    }


def lake_env() -> dict[str, str]:
    return {f"LAKE_{tier.upper()}_BUCKET": bucket for tier, bucket in BUCKETS.items()} | {
        "NEXUS_PREFIX": PREFIX
    }


def provision(engine: EngineProcess) -> None:
    """The slice of the stack the services use: tier buckets (versioned) and the intake stream."""
    target = engine.target()
    s3 = target.client("s3")
    for bucket in BUCKETS.values():
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kinesis = target.client("kinesis")
    kinesis.create_stream(StreamName=STREAM, ShardCount=2)
    for _ in range(100):
        if (
            kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamStatus"]
            == "ACTIVE"
        ):
            break
        time.sleep(0.05)


class ServiceProcess:
    """``python -m MODULE ARGS`` with ``PORT`` and ``env``, its output in a log file."""

    def __init__(
        self, module: str, log_dir: Path, env: dict[str, str], *args: str, name: str | None = None
    ) -> None:
        self.module = module
        self.args = list(args)
        self.extra_env = env
        self.port = free_port()
        self.name = name or module.rsplit(".", 1)[-1]
        self.log_path = log_dir / f"{self.name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    def launch(self) -> ServiceProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NEXUS"))}
        env.update({"PORT": str(self.port), "PYTHONPATH": str(REPO), "LOG_LEVEL": "WARNING"})
        env.update(auth_env())
        env.update(self.extra_env)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
            )
        return self

    def wait_ready(
        self, timeout: float = 30.0, path: str = "/health", ready_codes: tuple[int, ...] = (200,)
    ) -> ServiceProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}:\n{self.log_tail()}")
            code = http_status(self.url + path)
            if code in ready_codes:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready within {timeout} s:\n{self.log_tail()}")

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        return self.launch().wait_ready(timeout)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


def start_all(services: list[ServiceProcess], timeout: float = 40.0) -> None:
    """Launch every service, then wait for each (they start in parallel)."""
    for service in services:
        service.launch()
    for service in services:
        service.wait_ready(timeout)


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


def http_json(
    method: str,
    url: str,
    body: Any = None,
    timeout: float = 60.0,
    *,
    account: str | None = OPERATOR,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """``(status, JSON body)`` of one request as ``account`` (error statuses included, not raised)."""
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": "application/json", **auth_headers(account, token), **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            raw = resp.read()
            return int(resp.status), json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return int(exc.code), json.loads(raw)
        except ValueError:
            return int(exc.code), raw.decode(errors="replace")


def http_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return str(resp.read().decode())


# -- MCP through a real client session ----------------------------------------------------------
async def _mcp(url: str, token: str | None, calls: list[tuple[str, dict[str, Any] | None]]) -> list[Any]:
    from services.common.mcpclient import mcp_client

    out: list[Any] = []
    async with mcp_client(url, token) as client:
        for name, args in calls:
            if name == "tools/list":
                out.append((await client.list_tools()).tools)
            else:
                out.append(await client.call_tool(name, args or {}))
    return out


def mcp_session(
    url: str,
    *calls: tuple[str, dict[str, Any] | None],
    account: str | None = OPERATOR,
    token: str | None = None,
) -> list[Any]:
    """Open one MCP session to ``url`` as ``account`` and make the calls in order
    (``tools/list`` lists); ``token`` sends that token instead."""
    return asyncio.run(_mcp(url, bearer(account, token), list(calls)))


def mcp_call(
    url: str,
    tool: str,
    args: dict[str, Any] | None = None,
    *,
    account: str | None = OPERATOR,
    token: str | None = None,
) -> Any:
    """One tool call in a fresh session: the CallToolResult."""
    return mcp_session(url, (tool, args), account=account, token=token)[0]


def mcp_tools(url: str, *, account: str | None = OPERATOR, token: str | None = None) -> list[Any]:
    return list(mcp_session(url, ("tools/list", None), account=account, token=token)[0])


def mcp_refusal(url: str, tool: str, args: dict[str, Any] | None = None, **who: Any) -> str:
    """The message of a call the server refused before any tool ran (401/403)."""
    from mcp import MCPError

    try:
        result = mcp_call(url, tool, args, **who)
    except BaseException as exc:  # the SDK raises from a task group
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        if isinstance(exc, MCPError):
            return exc.message
        raise
    raise AssertionError(f"expected a refusal, got {result}")


def error_text(result: Any) -> str:
    assert result.is_error, f"expected a tool error, got {result.structured_content}"
    return "\n".join(getattr(c, "text", "") for c in result.content)


def wait_for(predicate: Any, timeout: float = 60.0, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
