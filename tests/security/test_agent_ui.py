"""The attacker's side of agent-core and nexus-ui (issue 22, finding 5).

Measured before: ``POST /workflow/execute`` of ``curate-insight`` with a forged insight,
sent by anyone, wrote to the vibranium tier and disseminated it over SNS; agent-core
answered any ``Host``. Each test here replays one way in against real processes as a
cluster runs them (an engine; aws-mcp, agent-core and nexus-ui with authentication on,
trusting one ServiceAccount issuer; agent-core consuming the primary stream) and shows it
refused, with nothing written to vibranium and nothing delivered to the SNS topic's
subscriber. The operator, with its own token, still curates. The last tests replay the
main ones against the session's whole stack (``stack``), as ``nexuskit up --local`` deploys
the manifests.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.e2e.conftest import Stack
from tests.helpers import EngineProcess, free_port
from tests.services.support import (
    BUCKETS,
    PREFIX,
    STREAM,
    ServiceProcess,
    auth_env,
    aws_env,
    http_json,
    issuer,
    lake_env,
    provision,
    start_all,
    wait_for,
)
from tests.services.tokens import AUDIENCE, OPERATOR, ORCHESTRATOR, UI
from tests.ui.conftest import AUDIENCE as UI_AUDIENCE
from tests.ui.conftest import ISSUER as UI_ISSUER
from tests.ui.conftest import Signer

READER = "nexus-test/reader"
WRITER = "nexus-test/writer"
#: agent-core's callers as in its manifest, plus a read-only and a read-write test account
AGENT_CALLERS = f"{OPERATOR}=read,write,curate {UI}=read,write {READER}=read {WRITER}=read,write"
TOPIC = f"{PREFIX}-dissemination"
CURATE = "curate-insight"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_token(claims: dict[str, Any], kid: str) -> str:
    """A JWT with the real issuer's ``kid`` and claims, signed by a key the attacker made."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    head = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{_b64(sig)}"


def forged_insight() -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    return {
        "insight_id": f"forged-{tag}",
        "confidence": 0.99,
        "summary": "Reactor breach at the harbour: evacuate now",
        "severity": "critical",
        "device_id": f"dev-forged-{tag}",
        "ts": "2026-11-26T10:00:00Z",
    }


def execute(url: str, body: Any = None, **who: Any) -> tuple[int, Any]:
    """``POST /workflow/execute`` of curate-insight with a forged insight (as ``who`` says)."""
    body = body if body is not None else {"name": CURATE, "input": {"insight": forged_insight()}}
    return http_json("POST", url + "/workflow/execute", body, **who)


def raw(method: str, url: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, Any]:
    """One request exactly as given (no token added)."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return int(resp.status), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        try:
            return int(exc.code), json.loads(payload)
        except ValueError:
            return int(exc.code), payload.decode(errors="replace")


class JwksServer:
    """The HTTP API's JWKS as nexus-ui reads it (operator JWTs are signed by ``signer``)."""

    def __init__(self, signer: Signer) -> None:
        document = json.dumps({"keys": [signer.jwk()]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Site:
    """The running services and what the attacker could have changed."""

    engine: EngineProcess
    agent: ServiceProcess
    ui: ServiceProcess
    queue_url: str
    signer: Signer

    def s3(self) -> Any:
        return self.engine.target().client("s3")

    def vibranium(self) -> set[str]:
        pages = self.s3().get_paginator("list_objects_v2").paginate(Bucket=BUCKETS["vibranium"])
        return {o["Key"] for page in pages for o in page.get("Contents", [])}

    def deliveries(self) -> list[dict[str, Any]]:
        """Messages the SNS topic delivered to its SQS subscriber (taken off the queue)."""
        sqs = self.engine.target().client("sqs")
        found = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        return [json.loads(m["Body"]) for m in found.get("Messages", [])]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """An engine with the lake and the intake stream; aws-mcp (read-write), agent-core
    (consuming the intake stream) and nexus-ui, each as its manifest configures it; an SQS
    queue subscribed to the dissemination topic (the partner)."""
    folder = tmp_path_factory.mktemp("agent-ui-security")
    engine = EngineProcess(folder / "engine").start()
    provision(engine)
    target = engine.target()
    topic = target.client("sns").create_topic(Name=TOPIC)["TopicArn"]
    queue_url = target.client("sqs").create_queue(QueueName=f"{PREFIX}-partner")["QueueUrl"]
    queue_arn = target.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    target.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"]
    )
    logs = folder / "logs"
    tokens = folder / "tokens"
    tokens.mkdir()
    aws_mcp = ServiceProcess(
        "services.mcp.aws_mcp",
        logs,
        aws_env(engine) | lake_env() | auth_env(f"{ORCHESTRATOR}=read,write,curate {UI}=read"),
        "--allow-write",
        name="sec-aws-mcp",
    )
    start_all([aws_mcp])
    agent = ServiceProcess(
        "services.agent_core",
        logs,
        aws_env(engine)
        | lake_env()
        | auth_env(AGENT_CALLERS)
        | {
            "NEXUS_SERVICE_TOKEN_FILE": str(issuer().token_file(tokens, ORCHESTRATOR)),
            "AWS_MCP_URL": aws_mcp.mcp_url,
            "AGENT_CONSUMER_IDLE_POLL": "0.1",
        },
        name="sec-agent-core",
    )
    signer = Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    jwks = JwksServer(signer)
    ui = ServiceProcess(
        "services.nexus_ui",
        logs,
        {
            "API_GATEWAY_URL": jwks.url,
            "NEXUS_TOKEN_ISSUER": UI_ISSUER,
            "NEXUS_TOKEN_AUDIENCE": UI_AUDIENCE,
            "AGENT_CORE_URL": agent.url,
            "AWS_MCP_URL": aws_mcp.mcp_url,
            "NEXUS_SERVICE_TOKEN_FILE": str(issuer().token_file(tokens, UI)),
        },
        name="sec-nexus-ui",
    )
    start_all([agent, ui])
    yield Site(engine, agent, ui, queue_url, signer)
    for service in (ui, agent, aws_mcp):
        service.stop()
    jwks.close()
    engine.stop()


@pytest.fixture
def untouched(site: Site) -> Iterator[None]:
    """The test must leave vibranium as it was and deliver nothing to the topic's subscriber."""
    before = site.vibranium()
    site.deliveries()  # nothing is pending: the operator's test runs last
    yield
    assert site.vibranium() == before, "a refused request wrote to vibranium"
    assert site.deliveries() == [], "a refused request was disseminated"


# -- agent-core: who you are ---------------------------------------------------------------------
def test_anonymous_curation_is_refused(site: Site, untouched: None) -> None:
    """The measured attack: no token at all is 401 with a Bearer challenge."""
    code, body = execute(site.agent.url, account=None)
    assert code == 401 and "bearer token is required" in body["detail"]


def test_a_simple_cross_site_request_is_refused(site: Site, untouched: None) -> None:
    """What any web page can send (text/plain POST, its own Origin, no token) is 403."""
    body = json.dumps({"name": CURATE, "input": {"insight": forged_insight()}}).encode()
    headers = {"Content-Type": "text/plain", "Origin": "https://evil.example"}
    code, answer = raw("POST", site.agent.url + "/workflow/execute", body, headers)
    assert code == 403 and "cross-origin" in answer["detail"]


def test_a_foreign_origin_is_refused_even_with_a_token(site: Site, untouched: None) -> None:
    """A request from another site's page is 403 before the token is even looked at."""
    code, body = execute(site.agent.url, headers={"Origin": "http://attacker.test"})
    assert code == 403 and "cross-origin requests from 'http://attacker.test'" in body["detail"]


def test_a_rebinding_host_is_refused(site: Site, untouched: None) -> None:
    """A DNS-rebound name resolving to 127.0.0.1 (the attacker's Host) is 403."""
    host = f"nexus.attacker.test:{site.agent.port}"
    code, body = execute(site.agent.url, headers={"Host": host})
    assert code == 403 and "is not a name of this service" in body["detail"]


def test_a_token_signed_by_another_key_is_refused(site: Site, untouched: None) -> None:
    """The operator's claims and the issuer's key id, signed with the attacker's key: 401."""
    real = issuer().issuer
    now = int(time.time())
    claims = {
        "iss": real.issuer,
        "sub": "system:serviceaccount:nexus-agent-core:nexus-operator",
        "aud": [AUDIENCE],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    code, body = execute(site.agent.url, token=forged_token(claims, real.kid))
    assert code == 401 and "signature" in body["detail"]


def test_an_expired_token_is_refused(site: Site, untouched: None) -> None:
    """The operator's own token, an hour past its expiry: 401."""
    code, body = execute(site.agent.url, token=issuer().token(OPERATOR, seconds=-3600))
    assert code == 401 and "expired" in body["detail"]


def test_a_token_for_another_audience_is_refused(site: Site, untouched: None) -> None:
    """The operator's token for the Kubernetes API (or STS) is not one for the services: 401."""
    token = issuer().token(OPERATOR, audience="https://kubernetes.default.svc")
    code, body = execute(site.agent.url, token=token)
    assert code == 401 and "audience" in body["detail"]


def test_an_account_that_is_no_caller_is_refused(site: Site, untouched: None) -> None:
    """A valid token of a ServiceAccount agent-core does not list (aws-mcp's pod): 403."""
    code, body = execute(site.agent.url, account="nexus-mcp/aws-mcp")
    assert code == 403 and body["detail"] == "nexus-mcp/aws-mcp is not an allowed caller of this service"


# -- agent-core: what you may do -----------------------------------------------------------------
def test_a_reader_cannot_run_it(site: Site, untouched: None) -> None:
    """A caller with read only: 403 naming the write role."""
    code, body = execute(site.agent.url, account=READER)
    assert code == 403 and "needs the 'write' role" in body["detail"]


def test_a_writer_cannot_curate(site: Site, untouched: None) -> None:
    """A caller with read and write but not curate: 403 naming curate; no run was started."""
    code, body = execute(site.agent.url, account=WRITER)
    assert (
        code == 403 and "may not run workflow 'curate-insight': it needs the 'curate' role" in body["detail"]
    )
    _, runs = http_json("GET", f"{site.agent.url}/workflow/runs?workflow={CURATE}&limit=1000")
    assert runs["count"] == 0


def test_nexus_ui_service_account_cannot_curate(site: Site, untouched: None) -> None:
    """nexus-ui's own ServiceAccount (read, write) is refused curation: 403."""
    code, body = execute(site.agent.url, account=UI)
    assert code == 403 and f"{UI} may not run workflow 'curate-insight'" in body["detail"]


def test_a_curation_record_on_the_stream_is_not_run(site: Site, untouched: None) -> None:
    """A producer with the stream's credentials puts an insight.curate event with a forged
    insight: agent-core's consumer refuses to start curation from the stream."""
    event = {"type": "insight.curate", "insight": forged_insight()}
    site.engine.target().client("kinesis").put_record(
        StreamName=STREAM, Data=json.dumps(event).encode() + b"\n", PartitionKey="forged"
    )

    def refused() -> bool:
        request = urllib.request.Request(
            site.agent.url + "/metrics", headers={"Authorization": f"Bearer {issuer().token(READER)}"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            text = resp.read().decode()
        return 'outcome="refused"' in text and "nexus_agent_consumer_records_total" in text

    wait_for(refused, timeout=60, what="the stream event counted as refused")
    _, runs = http_json("GET", f"{site.agent.url}/workflow/runs?workflow={CURATE}&limit=1000")
    assert runs["count"] == 0


# -- nexus-ui ----------------------------------------------------------------------------------------
def test_a_signed_in_ui_user_cannot_curate_through_the_ui(site: Site, untouched: None) -> None:
    """An operator JWT (which POST /auth gives anyone) launching curate-insight through
    nexus-ui is refused by agent-core (403 naming curate), passed on as is."""
    code, body = http_json(
        "POST",
        site.ui.url + "/api/workflows/runs",
        {"workflow": CURATE, "input": {"insight": forged_insight()}},
        account=None,
        headers={"Authorization": f"Bearer {site.signer.token(sub='someone')}"},
    )
    assert code == 403 and "needs the 'curate' role" in body["detail"]


def test_nexus_ui_refuses_a_rebinding_host(site: Site) -> None:
    """nexus-ui's API under the attacker's Host name: 403, even with a valid session."""
    headers = {"Host": f"ui.attacker.test:{site.ui.port}"}
    headers["Authorization"] = f"Bearer {site.signer.token()}"
    code, body = raw("GET", site.ui.url + "/api/workflows", None, headers)
    assert code == 403 and "is not a name of this service" in body["detail"]


def test_nexus_ui_refuses_a_foreign_origin(site: Site, untouched: None) -> None:
    """A cross-site page posting to nexus-ui's API (a form: text/plain, no token) is 403."""
    body = b'{"workflow": "curate-insight", "input": {}}'
    headers = {"Content-Type": "text/plain", "Origin": "https://evil.example"}
    code, answer = raw("POST", site.ui.url + "/api/workflows/runs", body, headers)
    assert code == 403 and "cross-origin" in answer["detail"]


def test_nexus_ui_serves_its_own_pages(site: Site) -> None:
    """The page, its assets and its own-origin API calls are served as before."""
    page = urllib.request.Request(site.ui.url + "/", headers={"Origin": site.ui.url})
    with urllib.request.urlopen(page, timeout=10) as resp:
        assert resp.status == 200 and b"<script" in resp.read()
    headers = {"Origin": site.ui.url, "Authorization": f"Bearer {site.signer.token()}"}
    code, body = raw("GET", site.ui.url + "/api/workflows", None, headers)
    assert code == 200 and CURATE in {w["name"] for w in body["workflows"]}


# -- the operator (last: it writes) -------------------------------------------------------------
def test_the_operator_still_curates(site: Site) -> None:
    """With the operator's token curate-insight runs: the insight is in vibranium and the
    topic's subscriber got it."""
    insight = forged_insight()  # the operator vouches for it
    code, run = execute(site.agent.url, {"name": CURATE, "input": {"insight": insight}})
    assert code == 200 and run["status"] == "succeeded", run.get("error")
    assert run["caller"] == OPERATOR and run["result"]["promoted"] is True
    assert run["result"]["vibranium_key"] in site.vibranium()
    delivered = wait_for(site.deliveries, timeout=30, what="the SNS delivery")
    assert insight["insight_id"] in json.dumps(delivered)


# -- the same on a whole stack (`nexuskit up --local`: the manifests as deployed) -----------------
def _stack_vibranium(stack: Stack) -> set[str]:
    bucket = stack.spec.buckets["vibranium"]
    pages = stack.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


@pytest.mark.e2e
def test_stack_agent_core_refuses_anonymous_curation(stack: Stack) -> None:
    """The deployed agent-core answers the measured attack with 401 and writes nothing."""
    before = _stack_vibranium(stack)
    code, body = execute(str(stack.up_report["endpoints"]["agent_core"]), account=None)
    assert code == 401 and "bearer token is required" in body["detail"]
    assert _stack_vibranium(stack) == before


@pytest.mark.e2e
def test_stack_agent_core_refuses_curation_to_the_ui_account(stack: Stack) -> None:
    """A real token of nexus-ui's ServiceAccount (from the control plane's TokenRequest) may
    not curate on the deployed agent-core: its manifest grants nexus-ui read and write only."""
    from nexuskit.controlplane.tokens import service_token

    token = service_token(stack.settings, service_account="nexus-ui")
    code, body = execute(str(stack.up_report["endpoints"]["agent_core"]), token=token)
    assert code == 403 and "nexus-agent-core/nexus-ui may not run workflow 'curate-insight'" in body["detail"]


@pytest.mark.e2e
def test_stack_agent_core_and_ui_refuse_a_rebinding_host(stack: Stack) -> None:
    """Both deployed HTTP services refuse the attacker's Host name (DNS rebinding)."""
    for url in (stack.up_report["endpoints"]["agent_core"], stack.up_report["endpoints"]["ui"]):
        port = str(url).rsplit(":", 1)[1]
        code, body = raw("GET", f"{url}/health", None, {"Host": f"rebind.attacker.test:{port}"})
        assert code == 403 and "is not a name of this service" in body["detail"], url
