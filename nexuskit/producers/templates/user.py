"""User templates: a YAML file that says how to make each field of a record.

::

    name: orders                 # optional (default: the file name)
    type: event                  # the record's type: telemetry | event | sensor | your own
    entity: source               # optional: the field that names the entity (partition keys)
    locale: en_US                # optional: Faker's locale
    fields:
      event_id: {sequence: {start: 1, format: "evt-{:06d}"}}
      source: {faker: user_name}
      severity: {choice: {info: 70, warning: 20, error: 8, critical: 2}}
      category: {choice: [billing, shipping]}
      message: {faker: sentence, args: {nb_words: 6}}
      amount: {range: [1, 250], decimals: 2}
      items: {range: [1, 9], int: true}
      placed_at: {timestamp: epoch_ms, offset: -5m}
      channel: web                 # a constant (any scalar or list)
      meta: {const: {v: 1}}        # a constant mapping
      address: {object: {city: {faker: city}, zip: {faker: postcode}}}

Generators: ``faker`` (any Faker provider, ``args`` passed on), ``range`` ([min, max],
``int``, ``decimals``, ``distribution: uniform|normal``), ``choice`` (a list, or value ->
weight), ``sequence`` (``start``, ``step``, ``format``), ``timestamp`` (``iso`` |
``epoch`` | ``epoch_ms`` of the record's clock, optional ``offset``), ``const``, ``object``.
``ts`` is made from the clock unless the template defines it; ``id``, ``run_id`` and
``type`` are the producer's.

Everything is checked when the file is loaded: a problem fails with the file, the line
and the field (``orders.yaml:7: field 'severity': choice weight 'high' is not a number``).
For the lake's record types the required fields of :data:`nexuskit.lake.schemas.REQUIRED_FIELDS`
must be defined, and ranges of fields the lake checks (:data:`~nexuskit.lake.schemas.RANGES`)
must stay inside the lake's bounds (out-of-range records are ``--anomaly-rate``'s job).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nexuskit.lake.schemas import RANGES, RECORD_TYPES, REQUIRED_FIELDS
from nexuskit.producers.errors import ProducerError, TemplateError
from nexuskit.producers.rate import parse_duration
from nexuskit.producers.templates.clock import iso_ms

ENVELOPE = ("id", "run_id", "type")
GENERATORS = ("faker", "range", "choice", "sequence", "timestamp", "const", "object")
TOP_LEVEL = ("name", "type", "entity", "locale", "fields", "description")
TIMESTAMP_FORMATS = ("iso", "epoch", "epoch_ms")
_OPTIONS: dict[str, tuple[str, ...]] = {
    "faker": ("args",),
    "range": ("int", "decimals", "distribution"),
    "choice": (),
    "sequence": (),
    "timestamp": ("offset",),
    "const": (),
    "object": (),
}

#: makes one value: (rng, record sequence number, record timestamp) -> value
Generator = Callable[[random.Random, int, float], Any]


@dataclass
class _Context:
    file: str
    loader: yaml.SafeLoader
    faker: Any = None
    locale: str | None = None
    seed: int = 0

    def fail(self, node: yaml.Node, path: str | None, problem: str, hint: str | None = None) -> TemplateError:
        where = f"{self.file}:{node.start_mark.line + 1}"
        what = f"field '{path}': " if path else ""
        return TemplateError(f"{where}: {what}{problem}", hint)

    def value(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def get_faker(self) -> Any:
        if self.faker is None:
            from faker import Faker

            self.faker = Faker(self.locale) if self.locale else Faker()
            self.faker.seed_instance(self.seed)
        return self.faker


def _pairs(node: yaml.MappingNode) -> list[tuple[str, yaml.ScalarNode, yaml.Node]]:
    return [(str(key.value), key, value) for key, value in node.value]


def _number(ctx: _Context, node: yaml.Node, path: str, what: str) -> float:
    value = ctx.value(node)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.fail(node, path, f"{what} {value!r} is not a number")
    return float(value)


def _faker(ctx: _Context, node: yaml.Node, options: dict[str, yaml.Node], path: str) -> Generator:
    provider = ctx.value(node)
    if not isinstance(provider, str):
        raise ctx.fail(
            node, path, f"faker provider {provider!r} must be a provider name such as name or city"
        )
    args_node = options.get("args")
    args = ctx.value(args_node) if args_node is not None else {}
    if not isinstance(args, dict):
        raise ctx.fail(args_node or node, path, "faker args must be a mapping of argument names to values")
    fake = ctx.get_faker()
    try:
        method = getattr(fake, provider)
    except AttributeError:
        method = None
    if provider.startswith("_") or not callable(method):
        raise ctx.fail(node, path, f"Faker has no provider '{provider}'", "see https://faker.readthedocs.io")
    try:
        method(**args)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ctx.fail(args_node or node, path, f"faker {provider}({args}) fails: {exc}") from None
    return lambda rng, seq, ts: method(**args)


def _range(ctx: _Context, node: yaml.Node, options: dict[str, yaml.Node], path: str) -> Generator:
    if not isinstance(node, yaml.SequenceNode) or len(node.value) != 2:
        raise ctx.fail(node, path, "range must be a list [min, max]")
    low = _number(ctx, node.value[0], path, "range minimum")
    high = _number(ctx, node.value[1], path, "range maximum")
    if low > high:
        raise ctx.fail(node, path, f"range minimum {low:g} is above its maximum {high:g}")
    leaf = path.rsplit(".", 1)[-1]
    bounds = RANGES.get(leaf)
    if bounds is not None and (low < bounds[0] or high > bounds[1]):
        raise ctx.fail(
            node,
            path,
            f"range [{low:g}, {high:g}] leaves the lake's valid range [{bounds[0]:g}, {bounds[1]:g}]",
            "records outside it are quarantined; use --anomaly-rate to produce bad records on purpose",
        )
    as_int = ctx.value(options["int"]) if "int" in options else False
    if not isinstance(as_int, bool):
        raise ctx.fail(options["int"], path, "int must be true or false")
    decimals = 2
    if "decimals" in options:
        decimals = ctx.value(options["decimals"])
        if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 12:
            raise ctx.fail(options["decimals"], path, "decimals must be a whole number from 0 to 12")
    distribution = ctx.value(options["distribution"]) if "distribution" in options else "uniform"
    if distribution not in {"uniform", "normal"}:
        raise ctx.fail(options["distribution"], path, "distribution must be uniform or normal")
    if as_int:
        low_i, high_i = int(low), int(high)
        if distribution == "uniform":
            return lambda rng, seq, ts: rng.randint(low_i, high_i)
        mid, spread = (low + high) / 2, (high - low) / 6 or 1.0
        return lambda rng, seq, ts: min(high_i, max(low_i, round(rng.gauss(mid, spread))))
    if distribution == "uniform":
        return lambda rng, seq, ts: round(rng.uniform(low, high), decimals)
    mid, spread = (low + high) / 2, (high - low) / 6
    return lambda rng, seq, ts: round(min(high, max(low, rng.gauss(mid, spread))), decimals)


def _choice(ctx: _Context, node: yaml.Node, options: dict[str, yaml.Node], path: str) -> Generator:
    if isinstance(node, yaml.SequenceNode):
        values = ctx.value(node)
        if not values:
            raise ctx.fail(node, path, "choice needs at least one value")
        return lambda rng, seq, ts: rng.choice(values)
    if isinstance(node, yaml.MappingNode):
        choices: list[Any] = []
        weights: list[float] = []
        for _, key, weight_node in _pairs(node):
            weight = ctx.value(weight_node)
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise ctx.fail(weight_node, path, f"choice weight {weight!r} is not a number")
            if weight < 0:
                raise ctx.fail(weight_node, path, f"choice weight {weight} is negative")
            choices.append(ctx.value(key))
            weights.append(float(weight))
        if not choices or not sum(weights):
            raise ctx.fail(node, path, "choice needs at least one value with a weight above 0")
        return lambda rng, seq, ts: rng.choices(choices, weights)[0]
    raise ctx.fail(node, path, "choice must be a list of values or a mapping of value: weight")


def _sequence(ctx: _Context, node: yaml.Node, options: dict[str, yaml.Node], path: str) -> Generator:
    spec = ctx.value(node)
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = {"start": spec}
    if not isinstance(spec, dict) or set(spec) - {"start", "step", "format"}:
        raise ctx.fail(node, path, "sequence must be a start number or {start, step, format}")
    start, step, fmt = spec.get("start", 1), spec.get("step", 1), spec.get("format")
    for name, value in (("start", start), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.fail(node, path, f"sequence {name} {value!r} is not a whole number")
    if fmt is not None:
        if not isinstance(fmt, str):
            raise ctx.fail(node, path, "sequence format must be a string such as 'evt-{:06d}'")
        try:
            fmt.format(start)
        except (ValueError, IndexError, KeyError) as exc:
            raise ctx.fail(node, path, f"sequence format {fmt!r} does not format a number: {exc}") from None
        return lambda rng, seq, ts: fmt.format(start + seq * step)
    return lambda rng, seq, ts: start + seq * step


def _timestamp(ctx: _Context, node: yaml.Node, options: dict[str, yaml.Node], path: str) -> Generator:
    fmt = ctx.value(node) or "iso"
    if fmt not in TIMESTAMP_FORMATS:
        raise ctx.fail(node, path, f"timestamp format {fmt!r} is not one of {', '.join(TIMESTAMP_FORMATS)}")
    offset = 0.0
    if "offset" in options:
        raw = str(ctx.value(options["offset"])).strip()
        sign = -1.0 if raw.startswith("-") else 1.0
        try:
            offset = sign * parse_duration(raw.lstrip("+-"))
        except ProducerError as exc:
            raise ctx.fail(options["offset"], path, f"timestamp offset {raw!r}: {exc.message}") from None
    if fmt == "epoch":
        return lambda rng, seq, ts: round(ts + offset, 3)
    if fmt == "epoch_ms":
        return lambda rng, seq, ts: int((ts + offset) * 1000)
    return lambda rng, seq, ts: iso_ms(ts + offset)


def _const(ctx: _Context, node: yaml.Node, options: dict[str, yaml.Node], path: str) -> Generator:
    value = ctx.value(node)
    return lambda rng, seq, ts: value


def _object(ctx: _Context, node: yaml.Node, options: dict[str, yaml.Node], path: str) -> Generator:
    if not isinstance(node, yaml.MappingNode) or not node.value:
        raise ctx.fail(node, path, "object must be a mapping of field names to field specs")
    makers = _fields(ctx, node, path + ".")
    return lambda rng, seq, ts: {name: make(rng, seq, ts) for name, make in makers.items()}


_BUILDERS: dict[str, Callable[[_Context, yaml.Node, dict[str, yaml.Node], str], Generator]] = {
    "faker": _faker,
    "range": _range,
    "choice": _choice,
    "sequence": _sequence,
    "timestamp": _timestamp,
    "const": _const,
    "object": _object,
}


def _field(ctx: _Context, node: yaml.Node, path: str) -> Generator:
    if not isinstance(node, yaml.MappingNode):
        value = ctx.value(node)  # a scalar or a list: a constant
        return lambda rng, seq, ts: value
    pairs = {name: (key, value) for name, key, value in _pairs(node)}
    kinds = [name for name in pairs if name in GENERATORS]
    if len(kinds) != 1:
        unknown = [name for name in pairs if name not in GENERATORS]
        problem = (
            f"unknown generator '{unknown[0]}'"
            if unknown and not kinds
            else f"{len(kinds)} generators ({', '.join(kinds)})"
        )
        raise ctx.fail(
            node,
            path,
            f"{problem}; a field spec has exactly one of {', '.join(GENERATORS)}",
            "a constant mapping is written {const: {...}}, a nested object {object: {...}}",
        )
    kind = kinds[0]
    options: dict[str, yaml.Node] = {}
    for name, (key, value) in pairs.items():
        if name == kind:
            continue
        if name not in _OPTIONS[kind]:
            allowed = ", ".join(_OPTIONS[kind]) or "none"
            raise ctx.fail(key, path, f"'{name}' is not an option of {kind} (options: {allowed})")
        options[name] = value
    return _BUILDERS[kind](ctx, pairs[kind][1], options, path)


def _fields(ctx: _Context, node: yaml.MappingNode, prefix: str = "") -> dict[str, Generator]:
    makers: dict[str, Generator] = {}
    for name, key, value in _pairs(node):
        if not prefix and name in ENVELOPE:
            raise ctx.fail(key, name, f"'{name}' is set by the producer; remove it from the template")
        if name in makers:
            raise ctx.fail(key, prefix + name, "is defined twice")
        makers[name] = _field(ctx, value, prefix + name)
    return makers


@dataclass
class UserTemplate:
    """A loaded YAML template (see the module docstring)."""

    name: str
    record_type: str
    entity_field: str | None
    makers: dict[str, Generator]
    seed: int
    source: str
    faker: Any = None
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to the start of the seeded sequence (Faker included)."""
        self._rng = random.Random(self.seed)
        if self.faker is not None:
            self.faker.seed_instance(self.seed)

    def fields(self, seq: int, ts: float) -> dict[str, Any]:
        rng = self._rng
        return {name: make(rng, seq, ts) for name, make in self.makers.items()}


def load_user_template(path: Path, seed: int) -> UserTemplate:
    """Load and check a YAML template; TemplateError names the file, line and field."""
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read template {label}: {exc.strerror or exc}") from None
    return parse_user_template(text, label, seed, default_name=path.stem)


def parse_user_template(text: str, label: str, seed: int, default_name: str = "template") -> UserTemplate:
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f":{mark.line + 1}" if mark is not None else ""
            raise TemplateError(f"{label}{line}: not valid YAML: {exc.problem or exc}") from None
        ctx = _Context(label, loader, seed=seed)
        if not isinstance(root, yaml.MappingNode):
            raise TemplateError(f"{label}: a template is a YAML mapping with 'type' and 'fields'")
        top = {name: (key, value) for name, key, value in _pairs(root)}
        for name, (key, _) in top.items():
            if name not in TOP_LEVEL:
                raise ctx.fail(key, None, f"unknown key '{name}' (allowed: {', '.join(TOP_LEVEL)})")
        if "locale" in top:
            ctx.locale = str(ctx.value(top["locale"][1]))
        if "type" not in top:
            raise TemplateError(f"{label}: the template has no 'type' (telemetry, event, sensor or your own)")
        record_type = ctx.value(top["type"][1])
        if not isinstance(record_type, str) or not record_type:
            raise ctx.fail(top["type"][1], None, "'type' must be a name such as event")
        if (
            "fields" not in top
            or not isinstance(top["fields"][1], yaml.MappingNode)
            or not top["fields"][1].value
        ):
            node = top["fields"][1] if "fields" in top else root
            raise ctx.fail(node, None, "'fields' must be a mapping of field names to field specs")
        fields_key, fields_node = top["fields"]
        assert isinstance(fields_node, yaml.MappingNode)
        makers = _fields(ctx, fields_node)
        if record_type in RECORD_TYPES:
            missing = [
                f for f in REQUIRED_FIELDS[record_type] if f not in (*ENVELOPE, "ts") and f not in makers
            ]
            if missing:
                raise ctx.fail(
                    fields_key,
                    missing[0],
                    f"is required for {record_type} records and not defined",
                    f"the lake requires {', '.join(REQUIRED_FIELDS[record_type])} (nexuskit.lake.schemas)",
                )
        entity = ctx.value(top["entity"][1]) if "entity" in top else None
        if entity is not None and entity not in makers:
            raise ctx.fail(top["entity"][1], None, f"entity '{entity}' is not one of the template's fields")
        name = str(ctx.value(top["name"][1])) if "name" in top else default_name
    finally:
        loader.dispose()
    template = UserTemplate(name, record_type, entity, makers, seed, label, ctx.faker)
    try:
        template.fields(0, 0.0)  # every generator runs once: errors surface now, not mid-run
    except Exception as exc:  # a generator that fails at run time is a template error
        raise TemplateError(f"{label}: making a sample record failed: {exc}") from None
    template.reset()  # the sample must not shift the seeded sequence
    return template
