"""Templating between steps and the snapshot normalisers (no stack needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from nexuskit.scenarios.normalise import normalise
from nexuskit.scenarios.templating import TemplateError, render

CONTEXT = {
    "steps": {
        "tok": {"credentials": {"AccessKeyId": "ASIAEXAMPLE"}, "streams": [{"name": "a"}, {"name": "b"}]}
    },
    "vars": {"count": 3, "user": "ann"},
    "scenario": {"run_id": "run-1"},
}


def test_a_lone_template_keeps_its_type_and_text_interpolates() -> None:
    """'{{ vars.count }}' is the int 3; inside text it is '3'."""
    assert render("{{ vars.count }}", CONTEXT) == 3
    assert render("n={{ vars.count }} for {{vars.user}}", CONTEXT) == "n=3 for ann"
    assert render("{{ steps.tok.credentials }}", CONTEXT) == {"AccessKeyId": "ASIAEXAMPLE"}


def test_paths_index_lists_and_filters_apply() -> None:
    """Dots and [n] index lists; filters transform."""
    assert render("{{ steps.tok.streams[1].name }}", CONTEXT) == "b"
    assert render("{{ steps.tok.streams.0.name | upper }}", CONTEXT) == "A"
    assert render("{{ steps.tok.streams | length }}", CONTEXT) == 2
    assert render("{{ scenario.run_id | json }}", CONTEXT) == '"run-1"'


def test_repeat_and_json_directives_build_records() -> None:
    """$repeat makes a list with {{ i }}; $jsonl makes a JSON-lines record."""
    value = {
        "$repeat": {
            "count": "{{ vars.count }}",
            "item": {"$jsonl": {"id": "{{ scenario.run_id }}-{{ i }}", "n": "{{ i }}"}},
        }
    }
    rendered = render(value, CONTEXT)
    assert rendered == ['{"id":"run-1-0","n":0}\n', '{"id":"run-1-1","n":1}\n', '{"id":"run-1-2","n":2}\n']


def test_a_missing_name_says_where_the_path_stopped() -> None:
    """The error names the template, where it stopped and what exists there."""
    with pytest.raises(TemplateError) as caught:
        render("{{ steps.tok.credential.AccessKeyId }}", CONTEXT)
    message = caught.value.message
    assert "steps.tok has no 'credential'" in message
    assert "credentials" in message


def test_templates_never_evaluate_code() -> None:
    """Anything but a path and known filters is refused; nothing is executed."""
    with pytest.raises(TemplateError):
        render("{{ __import__('os').system('true') }}", CONTEXT)
    with pytest.raises(TemplateError, match="unknown filter"):
        render("{{ vars.count | eval }}", CONTEXT)


def test_normaliser_numbers_volatile_values_and_keeps_equality() -> None:
    """Same value -> same placeholder; known values by label; timestamps, ids, keys replaced."""
    doc = {
        "Records": [{"SequenceNumber": "495"}, {"SequenceNumber": "496"}, {"SequenceNumber": "495"}],
        "When": datetime(2026, 1, 1, tzinfo=UTC),
        "ResponseId": "3f2b8a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        "Arn": "arn:aws:sts::123456789012:assumed-role/bearer/ann.cf9330b5",
        "Key": "client/2026/11/26/10/s-1-2026-11-26-10-54-12-098d49fa-2b9d-402d-b68c-8b17643f7a08.gz",
        "AccessKeyId": "ASIARZPUZDIKLRZ7MBGY",
        "UserId": "AROARZPUZDIKLO2FB4QNN:ann",
        "SecretAccessKey": "abc",
        "run": "run-1 at http://127.0.0.1:4566",
        "count": 3,
    }
    out = normalise(
        doc, {"ann.cf9330b5": "tok.session", "run-1": "run-id", "http://127.0.0.1:4566": "endpoint"}
    )
    assert [r["SequenceNumber"] for r in out["Records"]] == [
        "<sequence-number:1>",
        "<sequence-number:2>",
        "<sequence-number:1>",
    ]
    assert out["When"] == "<timestamp>"
    assert out["ResponseId"] == "<uuid:2>"  # keys are walked sorted: Key comes first
    assert out["Arn"] == "arn:aws:sts::123456789012:assumed-role/bearer/<tok.session>"
    assert out["Key"] == "client/<yyyy>/<mm>/<dd>/<hh>/s-1-<datetime>-<uuid:1>.gz"
    assert out["AccessKeyId"] == "<access-key:1>"
    assert out["UserId"] == "<unique-id:1>:ann"
    assert out["SecretAccessKey"] == "<secret>"
    assert out["run"] == "<run-id> at <endpoint>"
    assert out["count"] == 3


def test_normalising_two_equivalent_documents_gives_the_same_text() -> None:
    """Different ids and times with the same shape normalise to identical JSON."""

    def doc(seq: str, ts: str, req: str) -> dict[str, object]:
        return {"b": {"SequenceNumber": seq, "ts": ts}, "a": {"RequestId": req}}

    one = normalise(doc("1", "2026-11-26T10:00:00Z", "r1"))
    two = normalise(doc("99", "2027-01-01T00:00:01.5Z", "r2"))
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
