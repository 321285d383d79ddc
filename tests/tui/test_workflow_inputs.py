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


def test_each_wrong_field_gets_agent_cores_message() -> None:
    """Missing, wrong type, out of range, wrong JSON kind, not a choice: agent-core's message per field."""
    texts = {"device_id": "", "lat": "north", "lon": "200", "readings": "[1]", "mode": "medium"}
    document, problems = read_form(input_fields(ENRICH), texts)
    assert problems == {
        "device_id": "Field required",
        "lat": "Input should be of type number",
        "lon": "Input should be less than or equal to 180",
        "readings": "Input should be of type object",
        "mode": "Input should be one of ['fast', 'slow']",
    }
    assert document == {}  # nothing wrong is sent


def test_the_form_checks_as_agent_core_does() -> None:
    """The form's messages are exactly those agent-core gives for the same input (its own model)."""
    from services.agent_core.workflow.model import InputSchema

    texts = {"device_id": "", "lat": "north", "lon": "200", "events": "{}", "dry": "yes"}
    fields = input_fields(ENRICH)
    _, problems = read_form(fields, texts)
    sent = {"lat": "north", "lon": 200, "events": "{}", "dry": "yes"}
    refused = InputSchema.model_validate(ENRICH["input"]).problems(sent)
    assert problems == {p["loc"][-1]: p["msg"] for p in refused}


def test_json_goes_back_into_the_form_and_says_what_does_not_fit() -> None:
    """A JSON document shown in the form; keys the form has no field for are named."""
    texts, extra = form_texts(input_fields(ENRICH), {"lat": 1.5, "readings": {"a": 1}, "colour": "red"})
    assert (texts["lat"], texts["readings"], texts["device_id"]) == ("1.5", '{"a": 1}', "")
    assert extra == ["colour"]
