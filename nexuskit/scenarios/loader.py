"""Load scenario files with errors that name the file, the line, the step and the field.

``load_scenario(path)`` parses the YAML (keeping each node's line), checks each step has
exactly one step type key (suggesting the closest one for a typo), validates against
:class:`~nexuskit.scenarios.model.Scenario`, and raises :class:`ScenarioFileError` with
one line per problem, for example::

    scenarios/x.yaml:14: step 3 (aws 'put'), field aws.service: field required
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nexuskit.errors import ScenarioError
from nexuskit.scenarios.model import STEP_MODELS, STEP_TYPES, Scenario

SUFFIXES = (".yaml", ".yml")
RESERVED_DIRS = ("snapshots", "cassettes")


class ScenarioFileError(ScenarioError):
    """A scenario file cannot be read or is not a valid scenario."""

    def __init__(self, path: Path, problems: list[str], hint: str | None = None) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems) or f"{path}: invalid scenario", hint)


@dataclass
class LoadedScenario:
    """A validated scenario, where it came from, and its raw step mappings (rendered at run time)."""

    scenario: Scenario
    path: Path
    raw_steps: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.scenario.name

    def step_line(self, index: int) -> int | None:
        """1-based line of step ``index`` (1-based) in the file."""
        return self.lines[index - 1] if 0 < index <= len(self.lines) else None


# -- YAML with line numbers -----------------------------------------------------------------
def _node_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)  # a mapping value keeps its key's line
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _node_lines(value_node, (*path, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*path, index), out)


def _parse(path: Path, text: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ScenarioFileError(path, [f"{path}{line}: not valid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ScenarioFileError(path, [f"{path}: not valid YAML: {exc}"]) from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _node_lines(node, (), lines)
    return data, lines


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


# -- checks before pydantic -----------------------------------------------------------------
def _step_type_problems(path: Path, steps: Any, lines: dict[tuple[Any, ...], int]) -> list[str]:
    if not isinstance(steps, list):
        return []
    problems = []
    ids: dict[str, int] = {}
    for index, raw in enumerate(steps):
        where = f"{path}:{_line_of(lines, ('steps', index))}: step {index + 1}"
        ident = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(ident, str):
            if ident in ids:
                problems.append(f"{where}: reuses the id {ident!r} of step {ids[ident]}; ids name results")
            ids.setdefault(ident, index + 1)
        if not isinstance(raw, dict):
            problems.append(f"{where}: a step is a mapping with one step type key, not {type(raw).__name__}")
            continue
        kinds = [k for k in raw if k in STEP_MODELS]
        if len(kinds) > 1:
            problems.append(
                f"{where}: has {len(kinds)} step type keys ({', '.join(kinds)}); split it into steps"
            )
        elif not kinds:
            unknown = [str(k) for k in raw if k not in ("id", "name", "key")]
            guesses = [g for k in unknown for g in difflib.get_close_matches(k, STEP_TYPES, n=1)]
            hint = f" (did you mean {guesses[0]!r}?)" if guesses else ""
            what = f"unknown step type {unknown[0]!r}{hint}" if unknown else "no step type key"
            problems.append(f"{where}: {what}; use one of {', '.join(STEP_TYPES)}")
    return problems


def _describe(
    err: dict[str, Any], data: dict[str, Any], path: Path, lines: dict[tuple[Any, ...], int]
) -> str:
    loc = tuple(err.get("loc", ()))
    # the step union adds the tag to the location: steps, 3, aws, aws, service -> drop one "aws"
    if len(loc) >= 3 and loc[0] == "steps" and isinstance(loc[1], int) and loc[2] in STEP_MODELS:
        loc = (loc[0], loc[1], *loc[3:])
    line = _line_of(lines, loc)
    prefix = f"{path}:{line}" if line else str(path)
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "field required"
    elif kind in {"literal_error", "enum"}:
        message = f"{message} (got {err.get('input')!r})"
    where = ""
    rest = loc
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        index = loc[1]
        raw = data.get("steps", [])[index] if isinstance(data.get("steps"), list) else {}
        kinds = [k for k in raw if k in STEP_MODELS] if isinstance(raw, dict) else []
        ident = raw.get("id") if isinstance(raw, dict) else None
        label = f"{kinds[0]} {ident!r}" if kinds and ident else (kinds[0] if kinds else "")
        where = f"step {index + 1}" + (f" ({label})" if label else "")
        rest = loc[2:]
    field_name = ".".join(str(p) for p in rest if "[" not in str(p))
    parts = [p for p in (where, f"field {field_name}" if field_name else "") if p]
    return f"{prefix}: {', '.join(parts) + ': ' if parts else ''}{message}"


# -- public ---------------------------------------------------------------------------------
def parse_scenario(text: str, path: Path) -> LoadedScenario:
    """Validate scenario ``text`` (read from ``path``, for messages)."""
    data, lines = _parse(path, text)
    if not isinstance(data, dict):
        raise ScenarioFileError(path, [f"{path}: a scenario file is a YAML mapping (name, steps, ...)"])
    problems = _step_type_problems(path, data.get("steps"), lines)
    if problems:
        raise ScenarioFileError(path, problems)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        described = [_describe(dict(e), data, path, lines) for e in exc.errors()]
        raise ScenarioFileError(
            path, list(dict.fromkeys(described)), "the format is in scenarios/schema.json"
        ) from None
    raw_steps = [dict(step) for step in data["steps"]]
    step_lines = [_line_of(lines, ("steps", i)) or 0 for i in range(len(raw_steps))]
    return LoadedScenario(scenario=scenario, path=path, raw_steps=raw_steps, lines=step_lines)


def load_scenario(path: Path | str) -> LoadedScenario:
    """Read and validate one scenario file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioFileError(
            file, [f"{file}: no such scenario file"], "see `nexuskit scenario list`"
        ) from None
    except OSError as exc:
        raise ScenarioFileError(file, [f"{file}: cannot read it ({exc.strerror})"]) from None
    return parse_scenario(text, file)


def scenario_files(folder: Path) -> list[Path]:
    """The scenario files directly in ``folder`` (sorted; schema and snapshots left out)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES)


def expand(paths: Iterable[Path | str]) -> list[Path]:
    """Files as given, folders as the scenario files in them."""
    out: list[Path] = []
    for item in paths:
        path = Path(item)
        out.extend(scenario_files(path) if path.is_dir() else [path])
    return out


def load_all(paths: Iterable[Path | str]) -> list[LoadedScenario]:
    """Load every file; ScenarioError listing every bad file and duplicate name."""
    loaded: list[LoadedScenario] = []
    problems: list[str] = []
    first: Path | None = None
    for path in expand(paths):
        try:
            loaded.append(load_scenario(path))
        except ScenarioFileError as exc:
            first = first or exc.path
            problems.extend(exc.problems)
    names: dict[str, Path] = {}
    for item in loaded:
        if item.name in names:
            problems.append(f"{item.path}: scenario name {item.name!r} is already used by {names[item.name]}")
        names.setdefault(item.name, item.path)
    if problems:
        raise ScenarioFileError(first or Path("."), problems)
    return loaded
