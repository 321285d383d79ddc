"""The MCP servers from the attacker's side: no token, a bad token, too few roles, a web page.

The servers run as the runtime runs them (``python -m services.mcp.<name>``, read-write,
their own engine for aws-mcp), trusting a test issuer (:mod:`tests.services.tokens`) the
way a pod trusts the cluster's. Each refused call is checked for what it would have done:
the object not in the bucket, the cache key not set, the server still healthy.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from emulation.runtime.identity import TokenIssuer
from tests.helpers import EngineProcess
from tests.services.support import (
    BUCKETS,
    DEFAULT_CALLERS,
    ServiceProcess,
    aws_env,
    error_text,
    issuer,
    lake_env,
    mcp_call,
    mcp_refusal,
    mcp_tools,
    provision,
    start_all,
)
from tests.services.tokens import AUDIENCE, ISSUER, OPERATOR, ORCHESTRATOR, UI, TestIssuer

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

#: accounts of the attacker's choosing: one the servers allow to write (not curate), one they do not know
WRITER = "nexus-test/writer"
STRANGER = "nexus-mcp/aws-mcp"
CALLERS = f"{DEFAULT_CALLERS} {WRITER}=read,write"
MCP_ACCEPT = "application/json, text/event-stream"


class Servers:
    def __init__(self, engine: EngineProcess, log_dir: Path, database: Path) -> None:
        auth = {"NEXUS_AUTH_CALLERS": CALLERS}
        self.engine = engine
        self.aws = ServiceProcess(
            "services.mcp.aws_mcp",
            log_dir,
            aws_env(engine) | lake_env() | auth,
            "--allow-write",
            name="sec-aws",
        )
        quotas = {"KV_MAX_NAMESPACES": "8", "KV_MAX_NAMESPACES_PER_CALLER": "3"}
        self.custom = ServiceProcess(
            "services.mcp.custom_mcp", log_dir, auth | quotas, "--allow-write", name="sec-custom"
        )
        self.database = ServiceProcess(
            "services.mcp.database_mcp",
            log_dir,
            auth | {"DATABASE_PATH": str(database), "MCP_MAX_BODY_BYTES": "65536"},
            "--allow-write",
            name="sec-db",
        )

    @property
    def all(self) -> list[ServiceProcess]:
        return [self.aws, self.custom, self.database]

    def s3_keys(self, tier: str, prefix: str) -> list[str]:
        listing = self.engine.target().client("s3").list_objects_v2(Bucket=BUCKETS[tier], Prefix=prefix)
        return [o["Key"] for o in listing.get("Contents", [])]

    def kv_found(self, namespace: str, key: str) -> bool:
        result = mcp_call(self.custom.mcp_url, "kv_get", {"namespace": namespace, "key": key})
        return bool(result.structured_content["found"])


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    engine = EngineProcess(tmp_path_factory.mktemp("mcp-security-engine")).start()
    provision(engine)
    folder = tmp_path_factory.mktemp("mcp-security")
    running = Servers(engine, folder, folder / "nexus.db")
    start_all(running.all)
    yield running
    for server in running.all:
        server.stop()
    engine.stop()


def tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def post(url: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    """A raw POST to an MCP endpoint (JSON unless the headers say otherwise)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", "Accept": MCP_ACCEPT, **(headers or {})}
    return httpx.post(url, content=data, headers=sent, timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cors_headers(response: httpx.Response) -> list[str]:
    return [name for name in response.headers if name.lower().startswith("access-control-")]


def _key() -> str:
    return f"attack/{uuid.uuid4().hex}.json"


# -- no token ------------------------------------------------------------------------------------
def test_anonymous_lake_write_into_vibranium_is_refused(servers: Servers) -> None:
    """lake_write_json into vibranium without a token: refused before any tool runs, nothing written."""
    key = _key()
    message = mcp_refusal(
        servers.aws.mcp_url,
        "lake_write_json",
        {"tier": "vibranium", "key": key, "document": {"forged": True}},
        account=None,
    )
    assert "bearer token is required" in message
    assert servers.s3_keys("vibranium", key) == []


def test_anonymous_disseminate_is_refused(servers: Servers) -> None:
    """disseminate without a token: refused, and no delivery record is written."""
    insight = f"forged-{uuid.uuid4().hex[:8]}"
    message = mcp_refusal(
        servers.aws.mcp_url,
        "disseminate",
        {"insight": {"id": insight, "text": "forged"}, "insight_id": insight},
        account=None,
    )
    assert "bearer token is required" in message
    assert not [k for k in servers.s3_keys("vibranium", "_dissemination/") if insight in k]


def test_anonymous_bedrock_invoke_model_is_refused(servers: Servers) -> None:
    """bedrock_invoke_model (billed) without a token: refused."""
    message = mcp_refusal(servers.aws.mcp_url, "bedrock_invoke_model", {"prompt": "hi"}, account=None)
    assert "bearer token is required" in message


def test_anonymous_kv_set_is_refused(servers: Servers) -> None:
    """kv_set without a token: refused, and the key is not in the cache."""
    message = mcp_refusal(
        servers.custom.mcp_url, "kv_set", {"namespace": "anon", "key": "k", "value": 1}, account=None
    )
    assert "bearer token is required" in message
    assert not servers.kv_found("anon", "k")


def test_anonymous_query_is_refused(servers: Servers) -> None:
    """database-mcp's query without a token: refused."""
    message = mcp_refusal(servers.database.mcp_url, "query", {"sql": "SELECT 1"}, account=None)
    assert "bearer token is required" in message


def test_anonymous_tools_list_is_refused_with_401(servers: Servers) -> None:
    """Even listing tools needs a token: 401 with WWW-Authenticate: Bearer."""
    response = post(servers.custom.mcp_url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


# -- bad tokens ----------------------------------------------------------------------------------
def _forged(token: str, **claims: Any) -> str:
    """``token`` with its claims changed and its signature kept."""
    header, payload, signature = token.split(".")
    doc = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    doc.update(claims)
    changed = base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()
    return f"{header}.{changed}.{signature}"


def _same_key_other_issuer(tmp: Path) -> str:
    """A token signed with the trusted key but naming another issuer."""
    signer = TokenIssuer("https://oidc.example.com/other", issuer().jwks_file.parent / "sa-signing-key.pem")
    token, _ = signer.token("nexus-agent-core", "nexus-operator", "p", "u", AUDIENCE, 600)
    return token


def _other_key(tmp: Path) -> str:
    """A token for the operator signed by a key the servers never saw (same issuer name)."""
    return TestIssuer(tmp / "other", ISSUER).token(OPERATOR)


BAD_TOKENS: dict[str, Callable[[Path], str]] = {
    "unlisted account": lambda tmp: issuer().token(STRANGER),
    "forged subject": lambda tmp: _forged(
        issuer().token(STRANGER), sub="system:serviceaccount:nexus-agent-core:nexus-operator"
    ),
    "unknown key": _other_key,
    "expired": lambda tmp: issuer().issuer.token(
        "nexus-agent-core", "nexus-operator", "p", "u", AUDIENCE, -3600
    )[0],
    "wrong audience": lambda tmp: issuer().token(OPERATOR, audience="nexus-ui"),
    "IRSA audience": lambda tmp: issuer().token(OPERATOR, audience="sts.amazonaws.com"),
    "Kubernetes API audience": lambda tmp: issuer().token(
        OPERATOR, audience="https://kubernetes.default.svc"
    ),
    "other issuer": _same_key_other_issuer,
    "not a JWT": lambda tmp: "operator",
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_token_cannot_write(servers: Servers, kind: str, tmp_path: Path) -> None:
    """A token of the wrong kind is refused (401, or 403 for a valid token of an unlisted
    account) and kv_set stores nothing."""
    token = BAD_TOKENS[kind](tmp_path)
    key = uuid.uuid4().hex
    response = post(
        servers.custom.mcp_url,
        tool_call("kv_set", {"namespace": "bad-token", "key": key, "value": kind}),
        bearer(token),
    )
    assert response.status_code == (403 if kind == "unlisted account" else 401), response.text
    assert not servers.kv_found("bad-token", key)


# -- roles ---------------------------------------------------------------------------------------
def test_read_only_caller_lists_every_tool(servers: Servers) -> None:
    """tools/list for a read-only caller still names the write tools, annotated as writes."""
    tools = {t.name: t for t in mcp_tools(servers.aws.mcp_url, account=UI)}
    assert tools["lake_write_json"].annotations.read_only_hint is False
    assert tools["disseminate"].annotations.read_only_hint is False


def test_read_only_caller_cannot_write(servers: Servers) -> None:
    """nexus-ui (read) cannot lake_write_json even to gold: a tool error naming the write role."""
    key = _key()
    result = mcp_call(
        servers.aws.mcp_url, "lake_write_json", {"tier": "gold", "key": key, "document": {}}, account=UI
    )
    assert "needs the 'write' role" in error_text(result)
    assert servers.s3_keys("gold", key) == []


def test_read_only_caller_cannot_invoke_bedrock(servers: Servers) -> None:
    """bedrock_invoke_model is billed: a read-only caller is refused, naming the write role."""
    result = mcp_call(servers.aws.mcp_url, "bedrock_invoke_model", {"prompt": "hi"}, account=UI)
    assert "needs the 'write' role" in error_text(result)


def test_writer_cannot_write_vibranium(servers: Servers) -> None:
    """A caller with write but not curate cannot write the vibranium tier (gold works)."""
    key = _key()
    refused = mcp_call(
        servers.aws.mcp_url,
        "lake_write_json",
        {"tier": "vibranium", "key": key, "document": {}},
        account=WRITER,
    )
    assert "needs the 'curate' role" in error_text(refused)
    assert servers.s3_keys("vibranium", key) == []
    allowed = mcp_call(
        servers.aws.mcp_url, "lake_write_json", {"tier": "gold", "key": key, "document": {}}, account=WRITER
    )
    assert not allowed.is_error, error_text(allowed)


def test_writer_cannot_disseminate(servers: Servers) -> None:
    """A caller with write but not curate cannot disseminate; no delivery is recorded."""
    insight = f"writer-{uuid.uuid4().hex[:8]}"
    result = mcp_call(
        servers.aws.mcp_url,
        "disseminate",
        {"insight": {"id": insight}, "insight_id": insight},
        account=WRITER,
    )
    assert "needs the 'curate' role" in error_text(result)
    assert not [k for k in servers.s3_keys("vibranium", "_dissemination/") if insight in k]


def test_writer_cannot_redeliver(servers: Servers) -> None:
    """dissemination_redeliver also needs curate."""
    result = mcp_call(servers.aws.mcp_url, "dissemination_redeliver", {}, account=WRITER)
    assert "needs the 'curate' role" in error_text(result)


# -- a web page: DNS rebinding, cross-origin requests ------------------------------------------------
def test_rebinding_host_is_refused(servers: Servers) -> None:
    """A request naming an attacker's host (DNS rebinding to 127.0.0.1) is refused, token or not."""
    response = post(
        servers.custom.mcp_url,
        tool_call("kv_set", {"namespace": "rebind", "key": "k", "value": 1}),
        {"Host": "evil.example:8000", **bearer(issuer().token(OPERATOR))},
    )
    assert response.status_code == 403 and cors_headers(response) == []
    assert not servers.kv_found("rebind", "k")


def test_rebinding_host_cannot_read_health(servers: Servers) -> None:
    """Even the public /health answers no page on a rebound name."""
    response = httpx.get(servers.custom.url + "/health", headers={"Host": "evil.example"}, timeout=10)
    assert response.status_code == 403


def test_foreign_origin_is_refused(servers: Servers) -> None:
    """A cross-site request is refused even with a valid token, and gets no CORS headers."""
    response = post(
        servers.custom.mcp_url,
        tool_call("kv_set", {"namespace": "origin", "key": "k", "value": 1}),
        {"Origin": "http://evil.example", **bearer(issuer().token(OPERATOR))},
    )
    assert response.status_code == 403 and cors_headers(response) == []
    assert not servers.kv_found("origin", "k")


def test_simple_text_plain_post_is_refused(servers: Servers) -> None:
    """The simple request any page can send (text/plain, its Origin, no credentials) is refused."""
    body = json.dumps(tool_call("kv_set", {"namespace": "csrf", "key": "k", "value": 1})).encode()
    response = post(
        servers.custom.mcp_url, body, {"Content-Type": "text/plain", "Origin": "http://evil.example"}
    )
    assert response.status_code == 403 and cors_headers(response) == []
    assert not servers.kv_found("csrf", "k")


def test_cors_preflight_gets_no_cors_headers(servers: Servers) -> None:
    """An OPTIONS preflight is refused without a single Access-Control-* header."""
    response = httpx.options(
        servers.custom.mcp_url,
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=10,
    )
    assert response.status_code == 403 and cors_headers(response) == []


# -- bodies and bounds ---------------------------------------------------------------------------
def test_duplicate_json_keys_are_refused(servers: Servers) -> None:
    """A body naming a key twice (which value wins?) is refused, and neither value is stored."""
    body = (
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "kv_set", '
        b'"arguments": {"namespace": "dup", "key": "k", "value": 1, "namespace": "dup2"}}}'
    )
    response = post(servers.custom.mcp_url, body, bearer(issuer().token(OPERATOR)))
    assert response.status_code == 400 and "duplicate key 'namespace'" in response.text
    assert not servers.kv_found("dup", "k") and not servers.kv_found("dup2", "k")


def test_oversized_body_is_refused(servers: Servers) -> None:
    """A body over MCP_MAX_BODY_BYTES (64 KiB here) is refused with 413 before it is parsed."""
    sql = "SELECT '" + "x" * 70_000 + "'"
    response = post(
        servers.database.mcp_url, tool_call("query", {"sql": sql}), bearer(issuer().token(OPERATOR))
    )
    assert response.status_code == 413


def test_huge_zeroblob_is_refused_inside_sqlite(servers: Servers) -> None:
    """SELECT zeroblob(200000000) is a bounded error naming the per-value limit; the server
    stays healthy and answers the next query."""
    result = mcp_call(servers.database.mcp_url, "query", {"sql": "SELECT zeroblob(200000000)"})
    assert "DATABASE_MAX_VALUE_BYTES" in error_text(result)
    assert httpx.get(servers.database.url + "/health", timeout=10).json()["status"] == "ok"
    after = mcp_call(servers.database.mcp_url, "query", {"sql": "SELECT 1 AS one"})
    assert after.structured_content["rows"] == [[1]]


def test_statement_over_the_memory_cap_is_stopped(servers: Servers) -> None:
    """Many values each under the per-value limit (200 x 1 MB) hit SQLite's heap cap, not the pod's."""
    sql = "SELECT " + ", ".join(["randomblob(1000000)"] * 200)
    result = mcp_call(servers.database.mcp_url, "query", {"sql": sql})
    assert "DATABASE_MAX_MEMORY_BYTES" in error_text(result)
    assert httpx.get(servers.database.url + "/health", timeout=10).json()["status"] == "ok"


def test_result_bytes_are_bounded(servers: Servers) -> None:
    """Rows that fit the row limit but not DATABASE_MAX_RESULT_BYTES come back truncated, saying why."""
    sql = (
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99) "
        "SELECT i, hex(zeroblob(100000)) FROM n"
    )
    body = mcp_call(servers.database.mcp_url, "query", {"sql": sql}).structured_content
    assert body["truncated"] is True and "DATABASE_MAX_RESULT_BYTES" in body["truncated_reason"]
    assert 0 < body["row_count"] < 100 and body["result_bytes"] <= body["max_result_bytes"]


def test_one_callers_namespaces_do_not_block_another(servers: Servers) -> None:
    """A caller that uses up its namespace quota is refused (the cap named); the orchestrator's
    enrich-telemetry window still takes its readings."""
    prefix = uuid.uuid4().hex[:6]
    for n in range(3):
        mcp_call(
            servers.custom.mcp_url,
            "kv_set",
            {"namespace": f"{prefix}-{n}", "key": "k", "value": n},
            account=WRITER,
        )
    refused = mcp_call(
        servers.custom.mcp_url, "kv_set", {"namespace": f"{prefix}-x", "key": "k", "value": 0}, account=WRITER
    )
    assert "its limit of 3 namespaces per caller" in error_text(refused)
    window = mcp_call(
        servers.custom.mcp_url,
        "kv_append",
        {"namespace": "telemetry-window", "key": "dev-1", "item": {"t": 1}, "max_items": 50},
        account=ORCHESTRATOR,
    )
    assert not window.is_error, error_text(window)
    assert window.structured_content["written_by"] == ORCHESTRATOR


def test_health_says_only_the_status(servers: Servers) -> None:
    """/health, open to anyone, names no path, bucket or account: status, service, mode, auth."""
    for server in servers.all:
        body = httpx.get(server.url + "/health", timeout=10).json()
        assert set(body) == {"status", "service", "read_only", "auth"}, body
        assert body["auth"] == "on"


# -- the stack as `nexuskit up --local` runs it (the manifests' callers, the runtime's keys) --------
def _stack_mcp(stack: Stack, service: str) -> str:
    from nexuskit.lifecycle import endpoints

    return str(endpoints(stack.settings)["mcp"][service])


def test_stack_aws_mcp_refuses_anonymous_vibranium_write(stack: Stack) -> None:
    """On the running stack, lake_write_json into vibranium without a token is a 401 and writes nothing."""
    key = _key()
    response = post(
        _stack_mcp(stack, "aws"),
        tool_call("lake_write_json", {"tier": "vibranium", "key": key, "document": {"forged": True}}),
    )
    assert response.status_code == 401
    bucket = stack.spec.bucket("vibranium")
    assert stack.client("s3").list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0) == 0


def test_stack_operator_calls_need_nothing_from_the_user(stack: Stack) -> None:
    """`nexuskit mcp call` on the stack carries the operator's token by itself."""
    out = stack.cli("mcp", "call", "custom", "kv_stats", "--json")
    assert out.returncode == 0, out.stderr
    assert "max_namespaces_per_caller" in json.loads(out.stdout)["result"]["limits"]


def test_stack_custom_mcp_refuses_an_account_its_manifest_does_not_list(stack: Stack) -> None:
    """nexus-ui is a caller of aws-mcp (read) but not of custom-mcp: a valid token of it is a 403 there."""
    from nexuskit.controlplane.tokens import service_token

    token = service_token(stack.settings, service_account="nexus-ui")
    body = tool_call("kv_set", {"namespace": "ui", "key": "k", "value": 1})
    assert post(_stack_mcp(stack, "custom"), body, bearer(token)).status_code == 403
    listed = {t.name for t in mcp_tools(_stack_mcp(stack, "aws"), token=token)}
    assert "lake_inventory" in listed
