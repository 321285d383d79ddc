"""`--progress jsonl` lines: what a watcher reads, and a run that stops when asked or unwatched."""

from __future__ import annotations

import json
from pathlib import Path

from nexuskit.producers import ProduceOptions, Producer
from nexuskit.producers.progress import ProgressLines, parse_line, report_event, started_event
from nexuskit.producers.runs import RunStore
from tests.producers.support import FakeKinesis, platform


def _producer(tmp_path: Path, lines: ProgressLines, fake: FakeKinesis, count: int = 5000) -> Producer:
    options = ProduceOptions(rate=1000, count=count, seed=3)
    return Producer(
        options,
        platform(),
        "s",
        runs=RunStore(tmp_path),
        on_progress=lines.on_progress,
        client_factory=lambda _t: fake,
    )


def test_a_run_reads_back_as_started_progress_report(tmp_path: Path) -> None:
    """Every line parses; the report line carries the proof's inputs (run id, made, failed seqs)."""
    written: list[str] = []
    lines = ProgressLines(written.append, every=0.0)
    fake = FakeKinesis()
    producer = _producer(tmp_path, lines, fake, count=300)
    lines.emit(started_event(producer))
    lines.emit(report_event(producer.run()))
    events = [parse_line(line) for line in written]
    assert all(event is not None for event in events)
    kinds = [event["event"] for event in events if event]
    assert kinds[0] == "started" and kinds[-1] == "report" and "progress" in kinds
    report = events[-1]
    assert report is not None
    assert (report["run_id"], report["made"], report["sent"], report["failed_seqs"]) == (
        producer.run_id,
        300,
        300,
        [],
    )
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in written)


def test_a_stop_request_ends_the_run_like_ctrl_c(tmp_path: Path) -> None:
    """request_stop() (what SIGTERM calls): the run ends "interrupted" and sends what it made."""
    lines = ProgressLines(lambda _line: None)
    fake = FakeKinesis()
    lines.request_stop()
    report = _producer(tmp_path, lines, fake).run()
    assert report.status == "interrupted"
    assert report.made < 5000 and (report.sent, report.failed) == (report.made, 0)


def test_a_run_nobody_watches_stops(tmp_path: Path) -> None:
    """The reader has gone (broken pipe): no more lines, and the run stops instead of running on."""

    def broken(_line: str) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    lines = ProgressLines(broken)
    report = _producer(tmp_path, lines, FakeKinesis()).run()
    assert lines.reader_gone
    assert report.status == "interrupted" and report.made < 5000


def test_other_lines_are_not_events() -> None:
    """A warning on the same stream, or JSON without a known event, is not taken for progress."""
    assert parse_line("WARNING something\n") is None
    assert parse_line(json.dumps({"event": "nonsense"})) is None
    assert parse_line(json.dumps([1, 2])) is None
    assert parse_line(json.dumps({"event": "progress", "sent": 3})) == {"event": "progress", "sent": 3}
