"""The scenario format: the committed JSON Schema, and loader errors that say where and what."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from nexuskit.scenarios.loader import ScenarioFileError, load_all, load_scenario, parse_scenario
from nexuskit.scenarios.model import STEP_TYPES
from nexuskit.scenarios.schema import schema_text
from nexuskit.scenarios.template import new_scenario
from tests.scenarios.conftest import SHIPPED, shipped_files


def _problems(text: str) -> list[str]:
    with pytest.raises(ScenarioFileError) as caught:
        parse_scenario(text, Path("s.yaml"))
    return caught.value.problems


def test_committed_schema_is_current() -> None:
    """scenarios/schema.json is what the model generates now.

    Regenerate it with ``python -c "from nexuskit.scenarios.schema import write_schema as w;
    from pathlib import Path; w(Path('scenarios'))"``.
    """
    assert (SHIPPED / "schema.json").read_text() == schema_text()


def test_schema_is_valid_and_accepts_every_shipped_scenario() -> None:
    """Editors get a valid Draft 2020-12 schema that every shipped file satisfies."""
    schema = json.loads((SHIPPED / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in shipped_files():
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], f"{path.name}: {errors}"


def test_schema_rejects_a_step_without_a_known_type() -> None:
    """The schema (not only the loader) refuses an unknown step type."""
    validator = jsonschema.Draft202012Validator(json.loads(schema_text()))
    doc = {"schema_version": 1, "name": "x", "steps": [{"asert": {"path": "$.a", "equals": 1}}]}
    assert list(validator.iter_errors(doc))


def test_every_shipped_scenario_loads_and_marks_one_key_step() -> None:
    """The shipped files load, have unique names, and each says which assertion it exists for."""
    loaded = load_all([SHIPPED])
    assert len(loaded) == len(shipped_files()) >= 10
    for item in loaded:
        assert sum(step.key for step in item.scenario.steps) == 1, item.path


def test_unknown_step_type_names_file_line_step_and_a_suggestion() -> None:
    """A typo in a step type is reported with its line and the closest step type."""
    text = "schema_version: 1\nname: x\nsteps:\n  - id: a\n    asert: {path: $.a, equals: 1}\n"
    (problem,) = _problems(text)
    assert problem.startswith("s.yaml:4: step 1: unknown step type 'asert' (did you mean 'assert'?)")


def test_missing_field_names_step_id_type_and_field() -> None:
    """A missing field is reported as file:line, step N (type 'id'), field path."""
    text = "schema_version: 1\nname: x\nsteps:\n  - id: put\n    aws:\n      service: kinesis\n"
    assert _problems(text) == ["s.yaml:5: step 1 (aws 'put'), field aws.operation: field required"]


def test_bad_value_deep_in_a_step_is_located() -> None:
    """A wrong literal inside a nested mapping names its field and line."""
    text = "schema_version: 1\nname: x\nsteps:\n  - wait_for:\n      records: {tier: platinum, count: 3}\n"
    (problem,) = _problems(text)
    assert problem.startswith("s.yaml:5: step 1 (wait_for), field wait_for.records.tier:")
    assert "'platinum'" in problem


def test_two_step_types_in_one_step_are_refused() -> None:
    """One step, one type: a step with both aws and assert says to split it."""
    text = (
        "schema_version: 1\nname: x\nsteps:\n"
        "  - aws: {service: s3, operation: list_buckets}\n    assert: {value: 1, equals: 1}\n"
    )
    (problem,) = _problems(text)
    assert "has 2 step type keys (aws, assert); split it into steps" in problem


def test_duplicate_step_ids_are_refused_with_both_steps() -> None:
    """Results are named by id, so an id can be used once."""
    text = (
        "schema_version: 1\nname: x\nsteps:\n"
        "  - id: a\n    aws: {service: s3, operation: list_buckets}\n"
        "  - id: a\n    aws: {service: s3, operation: list_buckets}\n"
    )
    (problem,) = _problems(text)
    assert problem.startswith("s.yaml:6: step 2: reuses the id 'a' of step 1")


def test_unknown_field_and_bad_yaml_and_missing_file() -> None:
    """Unknown fields, broken YAML and absent files each get one clear line."""
    text = "schema_version: 1\nname: x\nsteps:\n  - assert: {value: 1, equals: 1, colour: red}\n"
    assert _problems(text) == ["s.yaml:4: step 1 (assert), field assert.0.colour: unknown field"]
    assert _problems("name: [unclosed\n")[0].startswith("s.yaml:2: not valid YAML")
    with pytest.raises(ScenarioFileError, match="no such scenario file"):
        load_scenario(Path("/nonexistent/x.yaml"))


def test_every_step_type_is_in_the_schema() -> None:
    """The schema documents all twelve step types."""
    text = schema_text()
    for kind in STEP_TYPES:
        assert f'"{kind}"' in text


def test_new_scenario_template_is_a_valid_scenario(tmp_path: Path) -> None:
    """`scenario new` writes a commented file that loads as it is."""
    path = new_scenario("my-flow", tmp_path)
    loaded = load_scenario(path)
    assert loaded.name == "my-flow"
    assert path.read_text().startswith("# yaml-language-server: $schema=./schema.json")
    with pytest.raises(Exception, match="already exists"):
        new_scenario("my-flow", tmp_path)
