"""The input form's fields and checks, from the inputs a workflow declares (no stack needed)."""

from __future__ import annotations

from typing import Any

from tui.workflow_inputs import form_texts, input_fields, read_form, starting_texts

ENRICH: dict[str, Any] = {
    "name": "enrich-telemetry",
    "input": {
        "required": ["device_id", "lat", "lon"],
        "properties": {
            "id": {"type": "string"},
            "device_id": {"type": "string", "minLength": 1},
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "ts": {"type": ["string", "number"]},
            "readings": {"type": "object"},
            "events": {"type": "array"},
            "mode": {"enum": ["fast", "slow"], "default": "fast"},
            "dry": {"type": "boolean"},
        },
    },
}


def test_a_workflow_without_inputs_has_no_form() -> None:
    """No declared inputs: no fields (the screen shows the JSON editor instead)."""
    assert input_fields({"name": "x"}) == []
    assert input_fields({"name": "x", "input": {}}) == []


def test_required_fields_come_first_and_defaults_fill_the_form() -> None:
    """Required inputs first, in their order; a fresh form holds the declared defaults."""
    fields = input_fields(ENRICH)
    assert [f.name for f in fields][:4] == ["device_id", "lat", "lon", "id"]
    assert starting_texts(fields)["mode"] == "fast"
    kinds = {f.name: f.kind for f in fields}
    assert [kinds[n] for n in ("mode", "dry", "readings", "lat")] == ["choice", "choice", "json", "text"]


def test_a_right_form_gives_typed_values() -> None:
    """Numbers become numbers, JSON becomes objects, a string-or-number takes what it can be."""
    texts = {
        "device_id": "d-1",
        "lat": "45.5",
        "lon": "-73",
        "ts": "1700000000",
        "readings": '{"temp": 21}',
        "events": "[1, 2]",
        "dry": "true",
    }
    document, problems = read_form(input_fields(ENRICH), texts)
    assert problems == {}
    assert document == {
        "device_id": "d-1",
        "lat": 45.5,
        "lon": -73,
        "ts": 1700000000,
        "readings": {"temp": 21},
        "events": [1, 2],
        "dry": True,
    }


def test_each_wrong_field_gets_its_own_message() -> None:
    """Missing, wrong type, out of range, too short, wrong JSON kind: one clear message per field."""
    texts = {"device_id": "", "lat": "north", "lon": "200", "readings": "[1]", "mode": "medium"}
    _, problems = read_form(input_fields(ENRICH), texts)
    assert problems == {
        "device_id": "required",
        "lat": "must be a number",
        "lon": "must be at most 180",
        "readings": 'must be a JSON object, e.g. {"key": 1}',
        "mode": "must be one of fast, slow",
    }


def test_json_goes_back_into_the_form_and_says_what_does_not_fit() -> None:
    """A JSON document shown in the form; keys the form has no field for are named."""
    texts, extra = form_texts(input_fields(ENRICH), {"lat": 1.5, "readings": {"a": 1}, "colour": "red"})
    assert (texts["lat"], texts["readings"], texts["device_id"]) == ("1.5", '{"a": 1}', "")
    assert extra == ["colour"]
