"""--anomaly-rate: the bad records are exactly the ones the lake's bronze -> silver step quarantines."""

from __future__ import annotations

import pyarrow.compute as pc  # type: ignore[import-untyped]
import pytest

from nexuskit.producers.records import RecordFactory, record_id
from nexuskit.producers.templates import SimulatedClock, load_template
from services.medallion.lib.parse import parse_object
from services.medallion.lib.validate import CHECKS, Lineage


def _quarantined(payload: bytes) -> tuple[set[str], set[int]]:
    """Ids the lake rejects, and the numbers of lines it cannot read at all."""
    parsed = parse_object(payload)
    ids = {bad.record_id for bad in parsed.bad if bad.record_id}
    table = parsed.table
    for kind, check in CHECKS.items():
        subset = table.filter(pc.fill_null(pc.equal(table["type"], kind), False))
        if subset.num_rows:
            ids |= {row["id"] for row in check(subset, Lineage("k", "v", "client")).rejected.to_pylist()}
    return ids, {bad.line for bad in parsed.bad}


@pytest.mark.parametrize("template", ["telemetry", "event", "sensor"])
def test_anomalies_are_quarantined_and_valid_records_are_not(template: str) -> None:
    """With a 30 % anomaly rate, the lake rejects every damaged record and keeps every other."""
    factory = RecordFactory(
        load_template(template, 11), "run-q", SimulatedClock(1_795_690_000, 0.5), seed=11, anomaly_rate=0.3
    )
    records = [factory.make(seq) for seq in range(600)]
    rejected_ids, unreadable_lines = _quarantined(b"".join(r.data for r in records))
    damaged = [r for r in records if r.anomaly]
    assert 120 < len(damaged) < 240
    assert len({r.anomaly for r in damaged}) >= 4  # several kinds of damage
    for record in records:
        quarantined = record_id("run-q", record.seq) in rejected_ids or record.seq + 1 in unreadable_lines
        assert quarantined == (record.anomaly is not None), (record.anomaly, record.data)


def test_malformed_lines_keep_their_id_and_run_id() -> None:
    """Even a cut-off JSON line starts with its id and run_id (so a delivery proof finds it)."""
    factory = RecordFactory(
        load_template("event", 1), "run-m", SimulatedClock(0, 1), seed=1, anomaly_rate=1.0
    )
    malformed = [r for r in (factory.make(seq) for seq in range(300)) if r.anomaly == "malformed_json"]
    assert malformed
    for record in malformed:
        assert record.data.startswith(f'{{"id":"{record_id("run-m", record.seq)}","run_id":"run-m"'.encode())
