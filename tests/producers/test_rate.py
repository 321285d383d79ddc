"""Rate control: schedules, parsing, and a producer's achieved rate on a monotonic clock."""

from __future__ import annotations

import json
import time

import pytest

from nexuskit.producers import ProduceOptions, Producer, ProducerError, parse_duration, parse_rate
from nexuskit.producers.rate import BurstSchedule, ConstantSchedule, PeriodicSchedule, planned_count
from tests.producers.support import FakeKinesis, platform


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("500/s", 500.0), ("500", 500.0), ("30/min", 0.5), ("3600/h", 1.0), ("2.5/sec", 2.5)],
)
def test_rates_are_read_per_second(text: str, per_second: float) -> None:
    """Rates are given per second, minute or hour and read as records per second."""
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("2m", 120), ("1h30m", 5400), ("500ms", 0.5), ("45", 45)]
)
def test_durations_are_read_in_seconds(text: str, seconds: float) -> None:
    """Durations like 30s, 2m, 1h30m and 500ms are understood."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["fast", "0/s", "-3/s", "10/week"])
def test_a_bad_rate_says_how_to_write_one(text: str) -> None:
    """An unreadable or non-positive rate fails with a hint."""
    with pytest.raises(ProducerError):
        parse_rate(text)


def test_constant_schedule_spaces_records_evenly() -> None:
    """At 500/s record k is due at k/500 s, and a 10 s run plans 5,000 records."""
    schedule = ConstantSchedule(500)
    assert [schedule.due_at(k) for k in (0, 1, 500)] == [0.0, 0.002, 1.0]
    assert planned_count(schedule, None, 10.0) == 5000


def test_periodic_schedule_averages_the_rate_over_a_period() -> None:
    """The periodic mode swings around the rate: a whole period holds rate x period records."""
    schedule = PeriodicSchedule(100, period=10.0, amplitude=0.8)
    assert planned_count(schedule, None, 10.0) == pytest.approx(1000, abs=1)
    first_half = schedule.due_count(5.0)
    assert first_half > 500 + 200  # the sine's positive half comes first


def test_burst_schedule_sends_a_second_worth_at_once() -> None:
    """The burst mode makes rate x interval records due at the start of each interval."""
    schedule = BurstSchedule(100, interval=2.0)
    assert schedule.due_count(0.0) == 200
    assert schedule.due_count(1.99) == 200
    assert schedule.due_count(2.0) == 400


def test_a_producer_never_runs_ahead_of_its_schedule() -> None:
    """At 1,000/s record k goes out no earlier than k ms after the start, and the run keeps pace.

    (How close to the rate a run gets on a given machine is benchmarks/bench_producers.py's
    figure; this checks the scheduler's rule, which does not depend on the machine's load.)
    """
    fake = FakeKinesis()
    readings: list[float] = []

    def clock() -> float:  # the producer's clock; its first reading is the run's start
        readings.append(time.monotonic())
        return readings[-1]

    options = ProduceOptions(rate=1000, count=2000, seed=1)
    report = Producer(options, platform(), "s", client_factory=lambda _t: fake, monotonic=clock).run()
    assert report.sent == 2000
    start = readings[0]
    seqs = [int(json.loads(data)["id"][-12:], 16) for _, data in fake.accepted]  # ids end in seq
    assert sorted(seqs) == list(range(2000))
    assert all(t - start >= seq / 1000 for seq, (t, _) in zip(seqs, fake.accepted, strict=True))
    assert 800 <= report.achieved_rate <= 1010


def test_records_go_out_in_batches_as_they_fall_due() -> None:
    """A 1,000/s run sends about a tenth of a second's records per call (the linger), not 500."""
    fake = FakeKinesis()
    Producer(
        ProduceOptions(rate=1000, count=1000, seed=1), platform(), "s", client_factory=lambda _t: fake
    ).run()
    assert 8 <= fake.calls <= 40


def test_records_are_json_lines_with_id_and_run_id() -> None:
    """Every record is one JSON object with id and run_id, ending in a newline."""
    fake = FakeKinesis()
    report = Producer(
        ProduceOptions(rate=None, count=50, seed=2), platform(), "s", client_factory=lambda _t: fake
    ).run()
    lines = [data for _, data in fake.accepted]
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    docs = [json.loads(line) for line in lines]
    assert {doc["run_id"] for doc in docs} == {report.run_id}
    assert len({doc["id"] for doc in docs}) == 50
