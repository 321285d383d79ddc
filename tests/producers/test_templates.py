"""Templates: the built-ins follow the lake's contract, seeds reproduce, YAML errors are precise."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nexuskit.lake.schemas import RANGES, REQUIRED_FIELDS, SEVERITIES
from nexuskit.producers import ProduceOptions, TemplateError, dry_run
from nexuskit.producers.templates import load_template

START = 1_795_690_000.0  # 2026-11-26T10:46:40Z


def _records(template: str, count: int, **options: Any) -> list[dict[str, Any]]:
    doc = dry_run(ProduceOptions(template=template, clock_start=START, clock_step=1.0, **options), count)
    return [json.loads(line) for line in doc["records"]]


@pytest.mark.parametrize("template", ["telemetry", "event", "sensor"])
def test_builtin_records_carry_what_the_lake_requires(template: str) -> None:
    """Every built-in record has its type's required fields and stays inside the lake's ranges."""
    for record in _records(template, 200, seed=1):
        assert record["type"] == template
        assert all(record.get(name) not in (None, "") for name in REQUIRED_FIELDS[template])
        values = {**record, **record.get("readings", {})}
        for name, (low, high) in RANGES.items():
            if name in values:
                assert low <= values[name] <= high, (name, values[name])


def test_telemetry_devices_move_along_plausible_tracks() -> None:
    """A device's consecutive positions are a plausible drive apart (< 40 m/s x elapsed)."""
    records = [r for r in _records("telemetry", 500, seed=2) if r["device_id"] == "dev-0001"]
    assert len(records) == 10
    for before, after in itertools.pairwise(records):
        moved_m = ((after["lat"] - before["lat"]) ** 2 + (after["lon"] - before["lon"]) ** 2) ** 0.5 * 111_320
        assert moved_m < 40 * 50 + 1  # 50 devices round robin at 1 s steps: 50 s apart
        assert after["battery_pct"] <= before["battery_pct"] or after["battery_pct"] == 100.0


def test_event_severities_are_weighted() -> None:
    """info is the most common severity, critical the rarest, all of them the lake's."""
    severities = [r["severity"] for r in _records("event", 2000, seed=3)]
    assert set(severities) <= set(SEVERITIES)
    counts = {s: severities.count(s) for s in SEVERITIES}
    assert counts["info"] > counts["warning"] > counts["error"] > counts["critical"] > 0


def test_same_seed_gives_identical_records() -> None:
    """With --seed, --run-id and a simulated clock, two dry runs print the same bytes."""
    command = [sys.executable, "-m", "nexuskit.cli", "produce", "--dry-run", "--json", "--seed", "42"]
    command += ["--samples", "25", "--template", "telemetry", "--run-id", "replay"]
    command += ["--start", "2026-11-26T10:00:00Z", "--anomaly-rate", "0.2"]
    first = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    second = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert first == second
    assert len(json.loads(first)["records"]) == 25


def test_same_seed_gives_the_same_fields_in_every_run() -> None:
    """Two runs (own run ids, real clock) with one seed differ only in id, run_id and ts."""
    envelope = ("id", "run_id", "ts")

    def fields(run_id: str) -> list[dict[str, Any]]:
        doc = dry_run(ProduceOptions(template="event", seed=7, run_id=run_id), 30)
        return [{k: v for k, v in json.loads(line).items() if k not in envelope} for line in doc["records"]]

    assert fields("run-a") == fields("run-b")
    assert fields("run-a") != [
        {k: v for k, v in json.loads(line).items() if k not in envelope}
        for line in dry_run(ProduceOptions(template="event", seed=8, run_id="run-a"), 30)["records"]
    ]


GOOD = """\
name: orders
type: event
entity: source
fields:
  event_id: {sequence: {start: 100, format: "ord-{:05d}"}}
  source: {faker: user_name}
  severity: {choice: {info: 80, warning: 15, error: 5}}
  message: {faker: sentence, args: {nb_words: 4}}
  amount: {range: [1, 250], decimals: 2}
  items: {range: [1, 9], int: true}
  placed_at: {timestamp: epoch_ms, offset: -5m}
  channel: web
  address: {object: {city: {faker: city}, lat: {range: [40, 41]}}}
"""


def test_a_user_template_makes_its_fields(tmp_path: Path) -> None:
    """Faker, choices, sequences, ranges, timestamps, constants and objects, seeded."""
    path = tmp_path / "orders.yaml"
    path.write_text(GOOD)
    records = _records(str(path), 20, seed=9)
    assert [r["event_id"] for r in records[:3]] == ["ord-00100", "ord-00101", "ord-00102"]
    assert all(r["type"] == "event" and r["severity"] in {"info", "warning", "error"} for r in records)
    assert all(1 <= r["amount"] <= 250 and isinstance(r["items"], int) for r in records)
    assert records[0]["placed_at"] == int((START - 300) * 1000)
    assert all(r["channel"] == "web" and 40 <= r["address"]["lat"] <= 41 for r in records)
    assert len({r["source"] for r in records}) > 1
    assert records == _records(str(path), 20, seed=9)


@pytest.mark.parametrize(
    ("line", "field", "change", "message"),
    [
        (
            7,
            "severity",
            ("{info: 80, warning: 15, error: 5}", "{info: 80, warning: high}"),
            "is not a number",
        ),
        (6, "source", ("{faker: user_name}", "{faker: no_such_provider}"), "Faker has no provider"),
        (9, "amount", ("{range: [1, 250], decimals: 2}", "{rnage: [1, 250]}"), "unknown generator 'rnage'"),
        (
            13,
            "address.lat",
            ("lat: {range: [40, 41]}", "lat: {range: [40, 91]}"),
            "leaves the lake's valid range",
        ),
        (
            11,
            "placed_at",
            ("{timestamp: epoch_ms, offset: -5m}", "{timestamp: epoch_ms, offset: soon}"),
            "offset",
        ),
    ],
)
def test_a_broken_template_names_the_line_and_field(
    tmp_path: Path, line: int, field: str, change: tuple[str, str], message: str
) -> None:
    """The error says file:line and the field, and what is wrong with it."""
    path = tmp_path / "orders.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(TemplateError) as caught:
        load_template(str(path), seed=1)
    text = caught.value.message
    assert text.startswith(f"{path}:{line}: field '{field}': "), text
    assert message in text


def test_a_template_missing_a_required_field_names_it(tmp_path: Path) -> None:
    """An event template without 'severity' fails: the lake would quarantine every record."""
    path = tmp_path / "orders.yaml"
    path.write_text(GOOD.replace("  severity: {choice: {info: 80, warning: 15, error: 5}}\n", ""))
    with pytest.raises(
        TemplateError, match=r"orders.yaml:4: field 'severity': is required for event records"
    ):
        load_template(str(path), seed=1)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    """A YAML syntax error points at its line."""
    path = tmp_path / "orders.yaml"
    path.write_text(GOOD.replace("  channel: web\n", "  channel: [web\n"))
    with pytest.raises(TemplateError, match=r"orders.yaml:1[23]: not valid YAML"):
        load_template(str(path), seed=1)


def test_the_cli_reports_a_broken_template_in_one_line(tmp_path: Path) -> None:
    """`nexuskit produce --template bad.yaml` exits 2 with the file, line and field on stderr."""
    path = tmp_path / "orders.yaml"
    path.write_text(GOOD.replace("{faker: user_name}", "{faker: 42}"))
    result = subprocess.run(
        [sys.executable, "-m", "nexuskit.cli", "produce", "--dry-run", "--template", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert f"{path}:6: field 'source': faker provider 42" in result.stderr


def test_the_example_template_loads_and_makes_valid_events() -> None:
    """The shipped example (templates/examples/orders.yaml) loads and makes lake-valid events."""
    path = (
        Path(__file__).resolve().parents[2]
        / "nexuskit"
        / "producers"
        / "templates"
        / "examples"
        / "orders.yaml"
    )
    records = _records(str(path), 50, seed=4)
    assert all(r.get(name) for r in records for name in REQUIRED_FIELDS["event"])
    assert {r["severity"] for r in records} <= set(SEVERITIES)
