"""Records as the lake expects them: the envelope, ids, JSON lines and partition keys.

Every record is ``{"id", "run_id", "type", "ts", ...template fields}`` serialised as one
JSON line with its trailing newline (so Firehose's concatenation in bronze is JSON
lines). The ``id`` is derived from the run id and the record's sequence number
(:func:`record_id`), so a delivery proof needs only the run record to know every id the
run sent.

Partition key strategies (``--partition-key``): ``random`` (default: a seeded random
128-bit key, records spread evenly over the shards), ``id`` (the record id), ``entity``
(the template's entity field: a device's records stay in order on one shard),
``field:NAME`` (any field), ``constant:VALUE`` (one hot shard).
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

from nexuskit.producers.anomalies import damage
from nexuskit.producers.errors import ProducerError
from nexuskit.producers.templates import Clock, RecordTemplate, iso_ms

_NAMESPACE = uuid.UUID("6f1c3c9e-6a58-4d0e-9a43-6e65787573b1")  # nexuskit producer record ids
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
PARTITION_STRATEGIES = ("random", "id", "entity", "field:NAME", "constant:VALUE")


def id_prefix(run_id: str) -> str:
    """The first 80 bits of the ids of a run (a name-based UUID of the run id)."""
    text = str(uuid.uuid5(_NAMESPACE, run_id))
    return text[:24]


def record_id(run_id: str, seq: int, prefix: str | None = None) -> str:
    """The id of record ``seq`` of run ``run_id``: UUID-shaped, unique per run and record.

    The run's name-based UUID with its last 48 bits replaced by ``seq`` (cheap to make,
    and a delivery proof can list every id of a run from its run id and record count).
    """
    return f"{prefix or id_prefix(run_id)}{seq:012x}"


def encode(record: dict[str, Any]) -> bytes:
    """One JSON line with its newline."""
    return _DUMPS(record).encode("utf-8") + b"\n"


@dataclass(frozen=True)
class EncodedRecord:
    seq: int
    data: bytes
    partition_key: str
    anomaly: str | None = None


def check_partition_strategy(strategy: str, template: RecordTemplate) -> None:
    """ProducerError for a strategy this template cannot follow."""
    kind, _, argument = strategy.partition(":")
    if kind in {"random", "id"} and not argument:
        return
    if kind == "entity" and not argument:
        if template.entity_field is None:
            raise ProducerError(f"template {template.name} names no entity field", "use field:NAME or random")
        return
    if kind in {"field", "constant"} and argument:
        return
    raise ProducerError(
        f"partition key strategy {strategy!r} is not one of {', '.join(PARTITION_STRATEGIES)}"
    )


class RecordFactory:
    """Makes the records of one run in order: template fields, envelope, damage, key."""

    def __init__(
        self,
        template: RecordTemplate,
        run_id: str,
        clock: Clock,
        *,
        seed: int,
        anomaly_rate: float = 0.0,
        partition_key: str = "random",
    ) -> None:
        if not 0.0 <= anomaly_rate <= 1.0:
            raise ProducerError(f"anomaly rate {anomaly_rate} must be between 0 and 1 (0.05 is 5 %)")
        check_partition_strategy(partition_key, template)
        self.template = template
        self.run_id = run_id
        self.clock = clock
        self.anomaly_rate = anomaly_rate
        self.strategy, _, self.argument = partition_key.partition(":")
        if self.strategy == "entity":
            self.strategy, self.argument = "field", str(template.entity_field)
        # Separate streams of randomness: the template's records do not depend on the
        # anomaly rate or the key strategy.
        self._damage_rng = random.Random(f"{seed}/anomalies")
        self._key_rng = random.Random(f"{seed}/keys")
        self.anomalies = 0
        self.next_seq = 0
        self._id_prefix = id_prefix(run_id)

    def record(self, seq: int) -> dict[str, Any]:
        """The (valid) record ``seq``; records must be asked for in order."""
        if seq != self.next_seq:
            raise ProducerError(f"records are made in order: asked for {seq}, next is {self.next_seq}")
        self.next_seq += 1
        ts = self.clock.stamp(seq)
        fields = self.template.fields(seq, ts)
        record: dict[str, Any] = {
            "id": record_id(self.run_id, seq, self._id_prefix),
            "run_id": self.run_id,
            "type": self.template.record_type,
            "ts": iso_ms(ts),
        }
        record.update(fields)
        return record

    def _partition_key(self, record: dict[str, Any]) -> str:
        strategy = self.strategy
        if strategy == "random":
            return f"{self._key_rng.getrandbits(128):032x}"
        if strategy == "id":
            return str(record["id"])
        if strategy == "constant":
            return self.argument
        value = record.get(self.argument)
        return str(value) if value not in (None, "") else str(record["id"])

    def make(self, seq: int) -> EncodedRecord:
        record = self.record(seq)
        key = self._partition_key(record)
        anomaly: str | None = None
        if self.anomaly_rate and self._damage_rng.random() < self.anomaly_rate:
            anomaly, payload = damage(record, self._damage_rng)
            self.anomalies += 1
            if payload is not None:
                return EncodedRecord(seq, payload, key, anomaly)
        return EncodedRecord(seq, encode(record), key, anomaly)
