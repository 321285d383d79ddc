"""Dissemination (spec §3.5, §7): curated insights pushed to mission partners, never dropped.

Targets of one insight: the SNS topic ``${prefix}-dissemination`` (its SQS and HTTP(S)
subscribers are the partners; SNS fans out) and every webhook in
``DISSEMINATION_WEBHOOKS`` (POSTed by aws-mcp itself, with ``X-Nexus-Delivery-Id`` for
idempotency and an HMAC-SHA256 ``X-Nexus-Signature`` when a secret is configured).

Every delivery is a record in the vibranium bucket, written before and after each
attempt::

    _dissemination/deliveries/<insight>/<delivery>.json   target, status, attempts, history
    _dissemination/pending/<delivery>.json                marker while it awaits a retry
    _dissemination/parked/<delivery>.json                 marker once retries ran out

A delivery's id is derived from the insight and the target, so disseminating the same
insight again does not send it twice to a target that already has it. The first attempt
happens in the ``disseminate`` call; a failed one is retried by :class:`RetryWorker` with
exponential backoff (``DISSEMINATION_BACKOFF_SECONDS`` doubling up to
``DISSEMINATION_BACKOFF_MAX_SECONDS``) until ``DISSEMINATION_MAX_ATTEMPTS``, then parked.
Pending markers survive a restart of aws-mcp: the worker resumes them when it starts.
Parked deliveries keep their payload and are sent again by ``dissemination_redeliver``.

Every replica of aws-mcp runs a retry worker over the same ledger. A worker claims a due
delivery before sending it: it writes the record back with its next attempt moved past
the time the attempt can take, on the condition that the record is still the version it
read (S3's ``If-Match``). Of two workers that read the same version one claim succeeds;
the other gets ``412 PreconditionFailed`` and leaves the delivery to the first, so a
retry is sent once and its attempt is counted in one record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from services.mcp.aws_mcp.settings import AwsMcpSettings
from services.mcp.common import aws, tool_error

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

ROOT = "_dissemination"
DELIVERED, RETRYING, PARKED = "delivered", "retrying", "parked"


def _now_iso(ts: float | None = None) -> str:
    return (
        datetime.fromtimestamp(ts or time.time(), UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


@dataclass
class Delivery:
    """One insight to one target, and what happened to it."""

    id: str
    insight_id: str
    target: str
    kind: str  # sns | webhook
    payload: dict[str, Any]
    status: str = RETRYING
    attempts: int = 0
    max_attempts: int = 5
    created_at: str = field(default_factory=_now_iso)
    updated_at: str = field(default_factory=_now_iso)
    next_attempt_at: float | None = None
    last_error: str | None = None
    receipt: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{ROOT}/deliveries/{self.insight_id}/{self.id}.json"

    def summary(self) -> dict[str, Any]:
        """The record without the payload (what tools answer)."""
        data = asdict(self)
        data.pop("payload")
        data["next_attempt_at"] = _now_iso(self.next_attempt_at) if self.next_attempt_at else None
        return data


def delivery_id(insight_id: str, target: str) -> str:
    return "dlv-" + hashlib.sha256(f"{insight_id}\n{target}".encode()).hexdigest()[:20]


class DeliveryLedger:
    """Delivery records and their pending/parked markers in the vibranium bucket."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def _put(self, key: str, document: dict[str, Any], if_match: str | None = None) -> None:
        body = json.dumps(document, indent=1, sort_keys=True, default=str).encode()
        condition = {"IfMatch": if_match} if if_match else {}
        aws.client("s3").put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", **condition
        )

    def _get(self, key: str) -> dict[str, Any] | None:
        found = self._get_versioned(key)
        return found[0] if found else None

    def _get_versioned(self, key: str) -> tuple[dict[str, Any], str] | None:
        """The document and its ETag (the version a conditional write names), None when absent."""
        try:
            answer = aws.client("s3").get_object(Bucket=self.bucket, Key=key)
            data: dict[str, Any] = json.loads(answer["Body"].read())
        except ClientError as exc:
            if aws.error_code(exc) in {"NoSuchKey", "404"}:
                return None
            raise
        return data, str(answer["ETag"])

    def _delete(self, key: str) -> None:
        aws.client("s3").delete_object(Bucket=self.bucket, Key=key)

    def _keys(self, prefix: str, limit: int) -> list[str]:
        keys: list[str] = []
        paginator = aws.client("s3").get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
            if len(keys) >= limit:
                break
        return keys[:limit]

    def save(self, delivery: Delivery) -> None:
        """Record first, then the marker that matches its status (a crash leaves a findable record)."""
        delivery.updated_at = _now_iso()
        self._put(delivery.key, asdict(delivery))
        pending = f"{ROOT}/pending/{delivery.id}.json"
        parked = f"{ROOT}/parked/{delivery.id}.json"
        pointer = {"record": delivery.key, "target": delivery.target, "insight_id": delivery.insight_id}
        if delivery.status == RETRYING:
            self._put(pending, {**pointer, "next_attempt_at": delivery.next_attempt_at})
            self._delete(parked)
        elif delivery.status == PARKED:
            self._put(
                parked, {**pointer, "parked_at": delivery.updated_at, "last_error": delivery.last_error}
            )
            self._delete(pending)
        else:
            self._delete(pending)
            self._delete(parked)

    def claim(self, delivery: Delivery, version: str, until: float) -> bool:
        """Take a due delivery for one attempt: its record rewritten with the next attempt at
        ``until``, on the condition that it is still ``version`` (its ETag when read). False
        when another worker changed it first (it claimed or settled the delivery)."""
        delivery.next_attempt_at = until
        delivery.updated_at = _now_iso()
        try:
            self._put(delivery.key, asdict(delivery), if_match=version)
        except ClientError as exc:
            if aws.error_code(exc) in {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}:
                return False
            raise
        return True

    def load(self, key: str) -> Delivery | None:
        found = self.load_versioned(key)
        return found[0] if found else None

    def load_versioned(self, key: str) -> tuple[Delivery, str] | None:
        found = self._get_versioned(key)
        return (Delivery(**found[0]), found[1]) if found else None

    def find(self, insight_id: str, target: str) -> Delivery | None:
        return self.load(Delivery(delivery_id(insight_id, target), insight_id, target, "", {}).key)

    def by_marker(self, marker: str, limit: int = 1000) -> list[Delivery]:
        return [delivery for delivery, _ in self.by_marker_versioned(marker, limit)]

    def by_marker_versioned(self, marker: str, limit: int = 1000) -> list[tuple[Delivery, str]]:
        """The records a marker points at, each with the version (ETag) that was read."""
        found = []
        for key in self._keys(f"{ROOT}/{marker}/", limit):
            pointer = self._get(key)
            record = self.load_versioned(str(pointer["record"])) if pointer else None
            if record is not None:
                found.append(record)
        return found

    def by_insight(self, insight_id: str, limit: int = 1000) -> list[Delivery]:
        records = [self.load(key) for key in self._keys(f"{ROOT}/deliveries/{insight_id}/", limit)]
        return [r for r in records if r is not None]

    def recent(self, limit: int = 100) -> list[Delivery]:
        records = [self.load(key) for key in self._keys(f"{ROOT}/deliveries/", limit)]
        return [r for r in records if r is not None]


class Disseminator:
    """Sends insights to the SNS topic and the webhooks, records every attempt."""

    def __init__(self, settings: AwsMcpSettings) -> None:
        self.settings = settings
        self._topic_arn: str | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._http_client: httpx.Client | None = None  # made by the first webhook delivery

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._http_client is None:
                import httpx

                self._http_client = httpx.Client(timeout=self.settings.webhook_timeout_seconds)
            return self._http_client

    @property
    def ledger(self) -> DeliveryLedger:
        bucket = self.settings.vibranium_bucket
        if not bucket:
            raise tool_error(
                "no vibranium bucket is configured (LAKE_VIBRANIUM_BUCKET): deliveries need a ledger"
            )
        return DeliveryLedger(bucket)

    def topic_arn(self) -> str:
        """The dissemination topic (created on first use; CreateTopic is idempotent)."""
        with self._lock:
            if self._topic_arn is None:
                answer = aws.client("sns").create_topic(
                    Name=self.settings.topic_name, Tags=[{"Key": "nexus:purpose", "Value": "dissemination"}]
                )
                self._topic_arn = str(answer["TopicArn"])
            return self._topic_arn

    def targets(self) -> list[tuple[str, str]]:
        found = [("sns", f"sns:{self.topic_arn()}")]
        found.extend(("webhook", f"webhook:{url}") for url in self.settings.webhook_urls)
        return found

    # -- the tool -----------------------------------------------------------------------------
    def disseminate(
        self, insight: dict[str, Any], insight_id: str | None = None, subject: str | None = None
    ) -> dict[str, Any]:
        if not isinstance(insight, dict) or not insight:
            raise tool_error("insight must be a non-empty JSON object")
        ident = (
            insight_id
            or str(insight.get("insight_id") or insight.get("id") or "")
            or f"ins-{uuid.uuid4().hex[:16]}"
        )
        if not all(c.isalnum() or c in "-_.:" for c in ident) or len(ident) > 200:
            raise tool_error(f"insight_id {ident!r} may hold letters, digits and -_.: only (at most 200)")
        payload = {
            "type": "nexus.insight",
            "insight_id": ident,
            "subject": subject or f"Nexus insight {ident}",
            "disseminated_at": _now_iso(),
            "insight": insight,
        }
        try:
            ledger = self.ledger
            deliveries = []
            for kind, target in self.targets():
                existing = ledger.find(ident, target)
                if existing is not None and existing.status in {DELIVERED, RETRYING}:
                    deliveries.append(existing)  # already delivered, or the worker owns it
                    continue
                if existing is not None:  # parked before: a fresh budget, the history kept
                    existing.max_attempts = existing.attempts + self.settings.max_attempts
                    delivery = existing
                else:
                    delivery = Delivery(
                        id=delivery_id(ident, target),
                        insight_id=ident,
                        target=target,
                        kind=kind,
                        payload=payload,
                        max_attempts=self.settings.max_attempts,
                    )
                # recorded before the first attempt, due only after it could have finished,
                # so the retry worker never sends it at the same time as this call
                delivery.status = RETRYING
                delivery.next_attempt_at = self._attempt_deadline()
                ledger.save(delivery)
                self.attempt(delivery, ledger)
                deliveries.append(delivery)
        except (ClientError, BotoCoreError) as exc:
            raise tool_error(f"dissemination ledger: {aws.describe(exc)}") from None
        if any(d.status == RETRYING for d in deliveries):
            self._wake.set()
        return {
            "insight_id": ident,
            "topic_arn": self._topic_arn,
            "deliveries": [d.summary() for d in deliveries],
            "delivered": sum(1 for d in deliveries if d.status == DELIVERED),
            "retrying": sum(1 for d in deliveries if d.status == RETRYING),
            "parked": sum(1 for d in deliveries if d.status == PARKED),
        }

    # -- one attempt --------------------------------------------------------------------------
    def _attempt_deadline(self) -> float:
        """When an attempt starting now has surely finished (its HTTP timeout and a margin)."""
        return time.time() + self.settings.webhook_timeout_seconds + 5

    def attempt(self, delivery: Delivery, ledger: DeliveryLedger) -> None:
        """Send once; record the outcome, the next retry time or the parking."""
        delivery.attempts += 1
        started = time.time()
        try:
            receipt = self._send(delivery)
        except Exception as exc:  # any failure of a send is recorded, never raised
            error = (
                f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, (ClientError, BotoCoreError))
                else aws.describe(exc)
            )
            delivery.last_error = error[:500]
            delivery.history.append(
                {
                    "attempt": delivery.attempts,
                    "at": _now_iso(started),
                    "outcome": "failed",
                    "error": delivery.last_error,
                }
            )
            if delivery.attempts >= delivery.max_attempts:
                delivery.status = PARKED
                delivery.next_attempt_at = None
                log.warning(
                    "delivery %s to %s parked after %d attempts: %s",
                    delivery.id,
                    delivery.target,
                    delivery.attempts,
                    error,
                )
            else:
                delay = min(
                    self.settings.backoff_max_seconds,
                    self.settings.backoff_seconds * 2 ** (delivery.attempts - 1),
                )
                delivery.status = RETRYING
                delivery.next_attempt_at = time.time() + delay
                log.info(
                    "delivery %s to %s failed (attempt %d), retry in %.2fs",
                    delivery.id,
                    delivery.target,
                    delivery.attempts,
                    delay,
                )
        else:
            delivery.status = DELIVERED
            delivery.next_attempt_at = None
            delivery.last_error = None
            delivery.receipt = receipt
            delivery.history.append(
                {"attempt": delivery.attempts, "at": _now_iso(started), "outcome": "delivered"}
            )
        ledger.save(delivery)

    def _send(self, delivery: Delivery) -> dict[str, Any]:
        body = json.dumps(delivery.payload, sort_keys=True, default=str)
        if delivery.kind == "sns":
            answer = aws.client("sns").publish(
                TopicArn=delivery.target.removeprefix("sns:"),
                Message=body,
                Subject=str(delivery.payload.get("subject", "Nexus insight"))[:100],
                MessageAttributes={
                    "insight_id": {"DataType": "String", "StringValue": delivery.insight_id},
                    "type": {"DataType": "String", "StringValue": "nexus.insight"},
                },
            )
            return {"message_id": answer.get("MessageId")}
        url = delivery.target.removeprefix("webhook:")
        headers = {
            "Content-Type": "application/json",
            "X-Nexus-Delivery-Id": delivery.id,
            "X-Nexus-Attempt": str(delivery.attempts),
            "X-Nexus-Insight-Id": delivery.insight_id,
        }
        if self.settings.webhook_secret:
            mac = hmac.new(self.settings.webhook_secret.encode(), body.encode(), hashlib.sha256).hexdigest()
            headers["X-Nexus-Signature"] = f"sha256={mac}"
        response = self._http().post(url, content=body.encode(), headers=headers)
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"HTTP {response.status_code} from {url}")
        return {"http_status": response.status_code}

    # -- retries ------------------------------------------------------------------------------
    def retry_due(self) -> float:
        """Attempt every pending delivery whose time has come; seconds until the next is due."""
        ledger = self.ledger
        next_due = float("inf")
        now = time.time()
        for delivery, version in ledger.by_marker_versioned("pending"):
            if delivery.status != RETRYING:
                ledger.save(delivery)  # a stale marker: settle it
                continue
            due = delivery.next_attempt_at or now
            if due <= now:
                # as disseminate does: due again only after this attempt could have finished
                if not ledger.claim(delivery, version, self._attempt_deadline()):
                    continue  # another replica's worker took it
                self.attempt(delivery, ledger)
                if delivery.status == RETRYING and delivery.next_attempt_at:
                    next_due = min(next_due, delivery.next_attempt_at - time.time())
            else:
                next_due = min(next_due, due - now)
        return next_due

    def redeliver(self, delivery_id_: str | None = None, insight_id: str | None = None) -> dict[str, Any]:
        """Give parked deliveries a fresh budget of attempts and send each once now."""
        ledger = self.ledger
        if delivery_id_:
            parked = [d for d in ledger.by_marker("parked") if d.id == delivery_id_]
        elif insight_id:
            parked = [d for d in ledger.by_insight(insight_id) if d.status == PARKED]
        else:
            parked = ledger.by_marker("parked")
        for delivery in parked:
            delivery.max_attempts = delivery.attempts + self.settings.max_attempts
            self.attempt(delivery, ledger)
        if any(d.status == RETRYING for d in parked):
            self._wake.set()
        return {"redelivered": [d.summary() for d in parked], "count": len(parked)}

    def deliveries(
        self, insight_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        ledger = self.ledger
        if insight_id:
            found = ledger.by_insight(insight_id, limit)
        elif status == PARKED:
            found = ledger.by_marker("parked", limit)
        elif status == RETRYING:
            found = ledger.by_marker("pending", limit)
        else:
            found = ledger.recent(limit)
        if status:
            found = [d for d in found if d.status == status]
        return {"deliveries": [d.summary() for d in found], "count": len(found)}

    def close(self) -> None:
        with self._lock:
            client, self._http_client = self._http_client, None
        if client is not None:
            client.close()


class RetryWorker:
    """A thread that retries pending deliveries when they fall due (and resumes them at start)."""

    def __init__(self, disseminator: Disseminator, idle_seconds: float = 5.0) -> None:
        self.disseminator = disseminator
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.disseminator.settings.vibranium_bucket:
            return
        self._thread = threading.Thread(target=self._run, name="dissemination-retry", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        wake = self.disseminator._wake
        while not self._stop.is_set():
            try:
                wait = self.disseminator.retry_due()
            except Exception as exc:  # the ledger is unreachable for now: try again later
                log.warning("dissemination retry pass failed: %s", exc)
                wait = self.idle_seconds
            wake.clear()
            wake.wait(max(0.05, min(wait, self.idle_seconds)))

    def stop(self) -> None:
        self._stop.set()
        self.disseminator._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
