"""Dissemination through aws-mcp: the SNS topic (SQS and HTTP subscribers) and webhooks.

Partners are local: an SQS queue and a small HTTP server on 127.0.0.1 whose answers the
tests script (succeed, fail N times, always fail). aws-mcp retries with a fast backoff.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import EngineProcess
from tests.services.support import PREFIX, ServiceProcess, aws_env, error_text, lake_env, mcp_call, wait_for

TOPIC = f"{PREFIX}-dissemination"


class Partner:
    """An HTTP endpoint: records every POST; answers 500 while ``failures[path]`` > 0, or
    ``failures["<path>#<insight id>"]`` for that insight's posts only (other tests' retries
    to the same path never use them up)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.failures: dict[str, int] = {}
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                posted = json.loads(body or b"{}")
                partner.received.append((self.path, dict(self.headers), posted))
                key = f"{self.path}#{posted.get('insight_id')}"
                key = key if key in partner.failures else self.path
                remaining = partner.failures.get(key, 0)
                if remaining:
                    partner.failures[key] = remaining - 1
                    self.send_response(500)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def posts(self, path: str) -> list[dict[str, Any]]:
        return [body for p, _, body in self.received if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def partner() -> Iterator[Partner]:
    server = Partner()
    server.failures = {"/down": 1_000_000}
    yield server
    server.close()


@pytest.fixture(scope="module")
def disseminator(engine: EngineProcess, log_dir: Path, partner: Partner) -> Iterator[ServiceProcess]:
    """aws-mcp in write mode with three webhooks: steady, flaky (failing as a test says), down."""
    env = (
        aws_env(engine)
        | lake_env()
        | {
            "DISSEMINATION_WEBHOOKS": ",".join(partner.url(p) for p in ("/steady", "/flaky", "/down")),
            "DISSEMINATION_WEBHOOK_SECRET": "s3cret",
            "DISSEMINATION_MAX_ATTEMPTS": "4",
            "DISSEMINATION_BACKOFF_SECONDS": "0.1",
        }
    )
    service = ServiceProcess("services.mcp.aws_mcp", log_dir, env, "--allow-write", name="aws-dissem").start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def subscribers(aws: Any, partner: Partner) -> dict[str, str]:
    """An SQS queue and an HTTP endpoint subscribed to the dissemination topic."""
    topic = aws("sns").create_topic(Name=TOPIC)["TopicArn"]
    queue_url = aws("sqs").create_queue(QueueName=f"{PREFIX}-partner-feed")["QueueUrl"]
    queue_arn = aws("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    aws("sns").subscribe(TopicArn=topic, Protocol="http", Endpoint=partner.url("/sns"))
    return {"queue_url": queue_url, "topic": topic}


def _insight_id() -> str:
    return f"ins-{uuid.uuid4().hex[:10]}"


def _disseminate(service: ServiceProcess, insight_id: str | None = None) -> tuple[str, dict[str, Any]]:
    insight_id = insight_id or _insight_id()
    insight = {"insight_id": insight_id, "confidence": 0.93, "summary": "device dev-0042 overheating"}
    result = mcp_call(service.mcp_url, "disseminate", {"insight": insight})
    assert not result.is_error, error_text(result)
    return insight_id, result.structured_content


def _deliveries(service: ServiceProcess, insight_id: str) -> dict[str, dict[str, Any]]:
    result = mcp_call(service.mcp_url, "dissemination_deliveries", {"insight_id": insight_id})
    return {
        d["target"].split(":", 1)[0] + ":" + d["target"].rsplit("/", 1)[-1]: d
        for d in result.structured_content["deliveries"]
    }


def test_sqs_subscriber_receives_the_insight(
    disseminator: ServiceProcess, subscribers: dict[str, str], aws: Any
) -> None:
    """The insight reaches the SQS partner through the SNS topic; its delivery is recorded delivered."""
    insight_id, answer = _disseminate(disseminator)
    sns = next(d for d in answer["deliveries"] if d["kind"] == "sns")
    assert sns["status"] == "delivered" and sns["attempts"] == 1

    def received() -> list[dict[str, Any]]:
        messages = (
            aws("sqs")
            .receive_message(QueueUrl=subscribers["queue_url"], MaxNumberOfMessages=10)
            .get("Messages", [])
        )
        bodies = [json.loads(json.loads(m["Body"])["Message"]) for m in messages]
        return [b for b in bodies if b["insight_id"] == insight_id]

    body = wait_for(received, what="the insight in the partner queue")[0]
    assert body["insight"]["summary"] == "device dev-0042 overheating"


def test_http_subscriber_of_the_topic_receives_the_insight(
    disseminator: ServiceProcess, subscribers: dict[str, str], partner: Partner
) -> None:
    """An HTTP(S) subscriber of the topic gets the SNS notification carrying the insight."""
    insight_id, _ = _disseminate(disseminator)
    posts = wait_for(
        lambda: [p for p in partner.posts("/sns") if insight_id in p.get("Message", "")], what="SNS POST"
    )
    assert json.loads(posts[0]["Message"])["insight_id"] == insight_id


def test_webhook_delivery_is_signed_and_recorded(disseminator: ServiceProcess, partner: Partner) -> None:
    """A webhook gets the insight with an idempotency id and an HMAC signature; the record says delivered."""
    insight_id, _ = _disseminate(disseminator)
    headers = next(h for p, h, b in partner.received if p == "/steady" and b["insight_id"] == insight_id)
    assert headers["X-Nexus-Delivery-Id"].startswith("dlv-")
    assert headers["X-Nexus-Signature"].startswith("sha256=")
    record = _deliveries(disseminator, insight_id)["webhook:steady"]
    assert (record["status"], record["attempts"]) == ("delivered", 1)


def test_failed_webhook_is_retried_with_backoff_until_delivered(
    disseminator: ServiceProcess, partner: Partner
) -> None:
    """A webhook failing twice is retried in the background and delivered on the third attempt."""
    insight_id = _insight_id()
    partner.failures[f"/flaky#{insight_id}"] = 2
    _disseminate(disseminator, insight_id)
    record = wait_for(
        lambda: (r := _deliveries(disseminator, insight_id)["webhook:flaky"])["status"] == "delivered" and r,
        what="the flaky webhook delivered",
    )
    assert record["attempts"] == 3
    assert [h["outcome"] for h in record["history"]] == ["failed", "failed", "delivered"]


def test_undeliverable_webhook_is_parked_not_dropped(disseminator: ServiceProcess, partner: Partner) -> None:
    """After the last attempt a delivery is parked with its error, listed as parked, and redeliverable."""
    insight_id, _ = _disseminate(disseminator)
    record = wait_for(
        lambda: (r := _deliveries(disseminator, insight_id)["webhook:down"])["status"] == "parked" and r,
        what="the dead webhook parked",
    )
    assert record["attempts"] == 4 and "HTTP 500" in record["last_error"]
    parked = mcp_call(
        disseminator.mcp_url, "dissemination_deliveries", {"status": "parked"}
    ).structured_content
    assert record["id"] in {d["id"] for d in parked["deliveries"]}
    partner.failures["/down"] = 0  # the partner is back
    redelivered = mcp_call(disseminator.mcp_url, "dissemination_redeliver", {"delivery_id": record["id"]})
    assert redelivered.structured_content["redelivered"][0]["status"] == "delivered"
    partner.failures["/down"] = 1_000_000


def test_a_retry_read_by_two_replicas_is_sent_by_one(
    engine: EngineProcess, partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two aws-mcp replicas' retry workers read the same due delivery; the one that acts
    second holds a stale version, its claim is refused, and the webhook gets one post."""
    from services.mcp.aws_mcp.dissemination import RETRYING, Delivery, DeliveryLedger, Disseminator
    from services.mcp.aws_mcp.settings import AwsMcpSettings
    from services.mcp.common import aws as pod_aws

    bucket = f"{PREFIX}-claims-{uuid.uuid4().hex[:8]}"  # a ledger no running service works on
    for name, value in aws_env(engine).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(pod_aws, "_clients", {})  # this test's clients, gone after it
    pod_aws.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    settings = AwsMcpSettings(
        vibranium_bucket=bucket, webhooks=partner.url("/replicas"), backoff_seconds=0.1, max_attempts=4
    )
    first, second = Disseminator(settings), Disseminator(settings)
    insight_id = _insight_id()
    target = f"webhook:{partner.url('/replicas')}"
    ledger = DeliveryLedger(bucket)
    due = Delivery(
        id=f"dlv-{uuid.uuid4().hex[:20]}",
        insight_id=insight_id,
        target=target,
        kind="webhook",
        payload={"insight_id": insight_id},
        status=RETRYING,
        attempts=1,
        next_attempt_at=1.0,  # long due
    )
    ledger.save(due)
    read_by_second = ledger.by_marker_versioned("pending")  # the second replica reads it ...
    first.retry_due()  # ... the first sends it meanwhile ...
    monkeypatch.setattr(
        DeliveryLedger, "by_marker_versioned", lambda self, marker, limit=1000: read_by_second
    )
    second.retry_due()  # ... then the second goes on with what it read
    assert len([b for b in partner.posts("/replicas") if b["insight_id"] == insight_id]) == 1
    record = ledger.load(due.key)
    assert record is not None and (record.status, record.attempts) == ("delivered", 2)
    first.close()
    second.close()
