"""The stacks scenarios run on: the current one, or fresh ones the runner starts and removes.

* :class:`CurrentStack` - the stack of ``--port``/``--state-dir`` (as every other command).
  A scenario whose profile asks for something this stack does not have (IAM enforced, a
  clock skew...) is skipped, saying what it needs and how to get it.
* :class:`FreshStacks` - one stack per distinct profile, each started by
  :func:`nexuskit.lifecycle.up` (what ``nexuskit up --local`` calls) in a temporary state
  dir on free ports, in a process of its own (:mod:`nexuskit.scenarios.stack_child`: the
  engine gets the profile's environment, and the stacks start in parallel); ``exclusive``
  scenarios (those that restart the engine) get one of their own. ``close()`` stops them
  and wipes their state.

* :class:`LocalStackStacks` - ``--engine localstack``: the LocalStack answering on the
  settings' port, or (with ``--fresh``) one started through testcontainers by
  :func:`nexuskit.localstack.up` and removed afterwards. Scenarios needing what LocalStack
  lacks (the control plane, IAM enforcement, an engine restart, the embedded producers) are
  skipped with the reason.

A :class:`StackHandle` is what steps use: the admin identity, the names, the auth URL,
the log files, and :meth:`StackHandle.restart_engine`.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.engine import EmbeddedEngine
from nexuskit.errors import EngineError, NexuskitError, ScenarioError
from nexuskit.params import StackSpec
from nexuskit.scenarios import stack_child
from nexuskit.scenarios.model import Scenario, StackProfile, WaitForStep, step_kind

log = logging.getLogger(__name__)

SKEW_ENV = "NEXUSKIT_CLOCK_SKEW_SECONDS"
BEDROCK_ENV = "NEXUSKIT_BEDROCK"
CASSETTES_ENV = "NEXUSKIT_BEDROCK_CASSETTES"
SERVICE_PORT_SPAN = 120  # the control plane puts its Services at engine port + 100...
_ENV_LOCK = threading.Lock()


@dataclass(frozen=True)
class StackFacts:
    """The settings of a stack that scenario profiles care about."""

    iam: str = "enforce"
    firehose_buffering: str = "fast"
    kinesis_limits: str = "aws"
    clock_skew_s: float = 0.0
    bedrock: str = "local"
    cassettes: str | None = None

    def describe(self) -> str:
        parts = [f"iam={self.iam}", f"firehose={self.firehose_buffering}", f"limits={self.kinesis_limits}"]
        if self.clock_skew_s:
            parts.append(f"clock_skew={self.clock_skew_s:g}s")
        if self.bedrock != "local":
            parts.append(f"bedrock={self.bedrock}")
        return " ".join(parts)

    def engine_env(self) -> dict[str, str | None]:
        """The environment the engine reads at start for these facts (None = unset)."""
        return {
            SKEW_ENV: f"{self.clock_skew_s:g}" if self.clock_skew_s else None,
            BEDROCK_ENV: self.bedrock if self.bedrock != "local" else None,
            CASSETTES_ENV: self.cassettes if self.bedrock != "local" else None,
        }


def facts_of(health: dict[str, Any]) -> StackFacts:
    """The facts of a running engine, from its ``/_nexus/health`` document."""
    settings = health.get("settings") or {}
    extensions = health.get("extensions") or {}
    iam = extensions.get("iam") or {}
    bedrock = extensions.get("bedrock") or {}
    return StackFacts(
        iam=str(settings.get("iam", "off")),
        firehose_buffering=str(settings.get("firehose_buffering", "fast")),
        kinesis_limits=str(settings.get("kinesis_limits", "aws")),
        clock_skew_s=float(iam.get("clock_skew_s") or 0.0),
        bedrock=str(bedrock.get("mode") or "local"),
        cassettes=bedrock.get("cassettes"),
    )


def fresh_facts(profile: StackProfile, *, record: bool = False, cassettes: Path | None = None) -> StackFacts:
    """What a stack started for ``profile`` runs with (AWS-faithful defaults)."""
    bedrock: str = profile.bedrock or "local"
    if bedrock == "replay" and record:
        bedrock = "record"
    return StackFacts(
        iam=profile.iam or "enforce",
        firehose_buffering=profile.firehose_buffering or "fast",
        kinesis_limits=profile.kinesis_limits or "aws",
        clock_skew_s=float(profile.clock_skew_s or 0.0),
        bedrock=bedrock,
        cassettes=str(cassettes) if cassettes and bedrock != "local" else None,
    )


def mismatch(profile: StackProfile, facts: StackFacts, *, record: bool = False) -> str | None:
    """Why a stack with ``facts`` cannot run a scenario with ``profile`` (None when it can)."""
    wanted: list[str] = []
    for name in ("iam", "firehose_buffering", "kinesis_limits"):
        value = getattr(profile, name)
        if value is not None and value != getattr(facts, name):
            wanted.append(f"{name}={value} (this stack has {getattr(facts, name)})")
    if profile.clock_skew_s is not None and abs(profile.clock_skew_s - facts.clock_skew_s) > 0.5:
        wanted.append(f"clock_skew_s={profile.clock_skew_s:g} (this stack has {facts.clock_skew_s:g})")
    if profile.bedrock is not None:
        expected = "record" if (profile.bedrock == "replay" and record) else profile.bedrock
        if facts.bedrock != expected:
            wanted.append(f"bedrock={expected} (this stack has {facts.bedrock})")
    if not wanted:
        return None
    return "needs a stack with " + ", ".join(wanted)


def _port_block_free(port: int) -> bool:
    for candidate in (port, *range(port + 100, port + 110)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                return False
    return True


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def pick_port(avoid: Iterable[int] = ()) -> int:
    """A free engine port whose control-plane Service ports (port + 100...) are free too.

    Chosen below the kernel's ephemeral range, so the pods' own listeners and outgoing
    connections (which get ephemeral ports) cannot take one of them meanwhile.
    """
    taken = list(avoid)
    low, _ = _ephemeral_range()
    top = max(20_000, low - SERVICE_PORT_SPAN - 1)
    rng = random.Random()
    for _ in range(500):
        port = rng.randrange(10_000, top)
        if any(abs(port - other) < SERVICE_PORT_SPAN for other in taken):
            continue
        if _port_block_free(port):
            return port
    raise EngineError("found no free block of ports for a fresh stack")


@contextlib.contextmanager
def engine_environment(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or unset) environment variables while an engine is started from this process."""
    with _ENV_LOCK:
        saved = {key: os.environ.get(key) for key in values}
        try:
            for key, value in values.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@dataclass
class StackHandle:
    """A running stack as the steps see it."""

    settings: KitSettings
    facts: StackFacts
    owned: bool = False
    label: str = "current"
    _spec: StackSpec | None = field(default=None, repr=False)
    _target: AwsTarget | None = field(default=None, repr=False)

    @property
    def spec(self) -> StackSpec:
        if self._spec is None:
            self._spec = self.settings.stack()
        return self._spec

    @property
    def engine(self) -> EmbeddedEngine:
        return EmbeddedEngine(self.engine_settings())

    def engine_settings(self) -> KitSettings:
        """The stack's settings with the engine options it really runs with."""
        return self.settings.model_copy(
            update={
                "iam": self.facts.iam,
                "firehose_buffering": self.facts.firehose_buffering,
                "kinesis_limits": self.facts.kinesis_limits,
            }
        )

    @property
    def target(self) -> AwsTarget:
        """The bootstrap admin identity (the platform's own; internal producers use it)."""
        if self._target is None:
            self._target = self.engine.target(self.spec.region)
        return self._target

    @property
    def endpoint(self) -> str:
        return self.settings.endpoint

    @property
    def state_dir(self) -> Path:
        return self.settings.resolved_state_dir()

    def describe(self) -> str:
        return f"{self.label} stack at {self.endpoint} ({self.facts.describe()})"

    def auth_url(self) -> str | None:
        from nexuskit.edge.auth import auth_url

        try:
            return auth_url(self.spec, self.target)
        except NexuskitError as exc:
            log.info("no auth URL: %s", exc)
            return None

    def endpoints(self) -> dict[str, Any]:
        from nexuskit.lifecycle import endpoints

        try:
            return endpoints(self.settings)
        except NexuskitError as exc:
            log.info("no service endpoints: %s", exc)
            return {"aws": self.endpoint}

    def context(self) -> dict[str, Any]:
        """``stack.*`` for templates: every derived name plus endpoint, auth URL, facts."""
        doc = self.spec.as_dict()
        doc.update(
            {
                "endpoint": self.endpoint,
                "account_id": self.target.account_id,
                "auth_url": self.auth_url(),
                "endpoints": self.endpoints(),
                "iam": self.facts.iam,
                "clock_skew_s": self.facts.clock_skew_s,
                "state_dir": str(self.state_dir),
            }
        )
        return doc

    def known_values(self, context: dict[str, Any]) -> dict[str, str]:
        """Values of this stack that snapshots replace with a label."""
        known = {self.endpoint: "endpoint", str(self.state_dir): "state-dir"}
        known[self.target.access_key_id] = "admin-access-key"
        auth = context.get("auth_url")
        if isinstance(auth, str) and "/execute-api/" in auth:
            known[auth.split("/execute-api/", 1)[1].split("/", 1)[0]] = "api-id"
        for key, url in _flatten(context.get("endpoints") or {}):
            if isinstance(url, str) and url.startswith("http") and url != self.endpoint:
                known[url] = f"endpoint:{key}"
        return known

    def log_files(self) -> dict[str, Path]:
        """The stack's logs by name (engine, IAM denials, control-plane runtime)."""
        logs = self.state_dir / "logs"
        return {
            "engine.log": logs / "engine.log",
            "iam-denials.jsonl": logs / "iam-denials.jsonl",
            "runtime.log": logs / "runtime.log",
        }

    def restart_engine(self, mode: str = "kill", timeout: float = 20.0) -> dict[str, Any]:
        """Stop the engine (SIGKILL for ``kill``, SIGTERM for ``graceful``) and start it again."""
        engine = self.engine
        pid = engine.pid()
        if pid is None:
            raise ScenarioError(f"no engine process owns {self.state_dir}", "is the stack up?")
        started = time.perf_counter()
        if mode == "kill":
            try:
                os.kill(pid, signal.SIGKILL)
                psutil.Process(pid).wait(timeout)
            except psutil.NoSuchProcess:
                pass
            except psutil.TimeoutExpired:
                raise ScenarioError(f"engine pid {pid} did not die after SIGKILL") from None
        else:
            engine.stop(timeout)
        stopped = time.perf_counter()
        with engine_environment(self.facts.engine_env()):
            health = engine.start()
        self._target = None
        return {
            "mode": mode,
            "old_pid": pid,
            "new_pid": health.get("pid"),
            "stop_s": round(stopped - started, 3),
            "start_s": round(time.perf_counter() - stopped, 3),
            "restored": (health.get("persistence") or {}).get("restored", []),
        }


def _flatten(doc: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in doc.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            yield from _flatten(value, name)
        else:
            yield name, value


class StackProvider(abc.ABC):
    """Gives each scenario the stack it runs on (or the reason it cannot run)."""

    @abc.abstractmethod
    def stack_for(self, scenario: Scenario) -> StackHandle | str:
        """The stack ``scenario`` runs on, or why it cannot run."""

    def prepare(self, scenarios: Iterable[Scenario]) -> None:
        """Start what the scenarios will need, in parallel where possible (optional hook)."""
        return None

    def describe(self) -> list[dict[str, Any]]:
        return []

    def close(self) -> None:
        """Stop and wipe whatever this provider started (optional hook)."""
        return None


class CurrentStack(StackProvider):
    """The stack that is already running for these settings."""

    def __init__(self, settings: KitSettings, *, record: bool = False) -> None:
        self.settings = settings
        self.record = record
        self._handle: StackHandle | None = None

    def handle(self) -> StackHandle:
        if self._handle is None:
            engine = EmbeddedEngine(self.settings)
            health = engine.health()
            if health is None:
                raise ScenarioError(
                    f"no stack answers on {engine.endpoint} (state dir {engine.state_dir})",
                    "start one with `nexuskit up --local --iam enforce`, or run the scenarios with --fresh",
                )
            self._handle = StackHandle(self.settings, facts_of(health), owned=False, label="current")
        return self._handle

    def stack_for(self, scenario: Scenario) -> StackHandle | str:
        handle = self.handle()
        reason = mismatch(scenario.stack, handle.facts, record=self.record)
        if reason:
            return f"{reason}; start such a stack, or use --fresh"
        return handle

    def describe(self) -> list[dict[str, Any]]:
        if self._handle is None:
            return []
        return [
            {"label": "current", "endpoint": self._handle.endpoint, "facts": self._handle.facts.describe()}
        ]


@dataclass
class _Fresh:
    handle: StackHandle
    process: subprocess.Popen[str] | None
    started_at: float
    up_seconds: float = 0.0
    error: ScenarioError | None = None


#: step types and capabilities that talk to the control plane's services (agent-core, MCP)
_SERVICE_STEPS = frozenset({"workflow", "mcp_call"})
_SERVICE_CAPABILITIES = frozenset({"workflows", "mcp", "controlplane"})


def needs_control_plane(scenario: Scenario) -> bool:
    """Whether a scenario talks to agent-core or an MCP service (else its stack is AWS only)."""
    if _SERVICE_CAPABILITIES & set(scenario.requires):
        return True
    for step in scenario.steps:
        kind = step_kind(step)
        if kind in _SERVICE_STEPS:
            return True
        if isinstance(step, WaitForStep) and step.wait_for.kind == "workflow":
            return True
    return False


class FreshStacks(StackProvider):
    """Stacks started for the scenarios (one per profile; exclusive scenarios get their own)."""

    def __init__(
        self,
        *,
        base_dir: Path | None = None,
        record: bool = False,
        cassettes: Path | None = None,
        env: str | None = None,
        start_timeout: float = 180.0,
    ) -> None:
        self._own_base = base_dir is None
        self.base_dir = base_dir or Path(tempfile.mkdtemp(prefix="nexuskit-scenarios-"))
        self.record = record
        self.cassettes = cassettes
        self.env = env
        self.start_timeout = start_timeout
        self._stacks: dict[tuple[Any, ...], _Fresh] = {}
        self._lock = threading.Lock()

    def _key(self, scenario: Scenario) -> tuple[Any, ...]:
        facts = fresh_facts(scenario.stack, record=self.record, cassettes=self.cassettes)
        return (facts, scenario.name if scenario.stack.exclusive else "", needs_control_plane(scenario))

    def _launch(self, key: tuple[Any, ...]) -> _Fresh:
        facts: StackFacts = key[0]
        port = pick_port(f.handle.settings.port for f in self._stacks.values())
        state_dir = self.base_dir / f"stack-{len(self._stacks) + 1}-{port}"
        overrides: dict[str, Any] = {"port": port, "state_dir": state_dir}
        if self.env:
            overrides["env"] = self.env
        settings = KitSettings(**overrides)
        engine_options: dict[str, Any] = {
            "iam": facts.iam,
            "firehose_buffering": facts.firehose_buffering,
            "kinesis_limits": facts.kinesis_limits,
        }
        if not key[2]:
            engine_options["control_plane"] = False  # no step talks to agent-core or an MCP service
        # A process per stack, not a call: see nexuskit.scenarios.stack_child (each engine
        # takes its profile's environment, and the stacks start at the same time).
        command = stack_child.command({**overrides, **engine_options})
        child_env = dict(os.environ)
        child_env.pop("AWS_ENDPOINT_URL", None)
        for name, value in facts.engine_env().items():
            if value is None:
                child_env.pop(name, None)
            else:
                child_env[name] = value
        log.info("starting a fresh stack on port %s (%s)", port, facts.describe())
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env
        )
        label = f"fresh#{len(self._stacks) + 1}" + (f" ({key[1]})" if key[1] else "")
        label += "" if key[2] else " (AWS only)"
        handle = StackHandle(settings, facts, owned=True, label=label)
        fresh = _Fresh(handle, process, time.perf_counter())
        self._stacks[key] = fresh
        return fresh

    def _wait(self, fresh: _Fresh) -> StackHandle:
        process = fresh.process
        if fresh.error is not None:
            raise fresh.error
        if process is None:
            return fresh.handle
        try:
            out, err = process.communicate(timeout=self.start_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            raise ScenarioError(
                f"a fresh stack did not come up within {self.start_timeout:.0f} s",
                f"see {fresh.handle.state_dir / 'logs'}",
            ) from None
        fresh.process = None
        fresh.up_seconds = time.perf_counter() - fresh.started_at
        if process.returncode != 0:
            lines = [line.strip() for line in (err or out).strip().splitlines() if line.strip()]
            said = " ".join(lines[-4:]) or f"exit status {process.returncode}"
            fresh.error = ScenarioError(
                f"a fresh stack did not start: {said}",
                f"see {fresh.handle.state_dir / 'logs'}",
            )
            raise fresh.error
        return fresh.handle

    def prepare(self, scenarios: Iterable[Scenario]) -> None:
        with self._lock:
            launched = [self._launch(key) for key in dict.fromkeys(self._key(s) for s in scenarios)
                        if key not in self._stacks]  # fmt: skip
            errors = []
            for fresh in launched:
                try:
                    self._wait(fresh)
                except ScenarioError as exc:
                    errors.append(exc)
            if errors:
                raise errors[0]

    def stack_for(self, scenario: Scenario) -> StackHandle | str:
        key = self._key(scenario)
        with self._lock:
            fresh = self._stacks.get(key) or self._launch(key)
            return self._wait(fresh)

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "label": f.handle.label,
                "endpoint": f.handle.endpoint,
                "facts": f.handle.facts.describe(),
                "up_s": round(f.up_seconds, 3),
            }
            for f in self._stacks.values()
        ]

    def handles(self) -> list[StackHandle]:
        return [f.handle for f in self._stacks.values()]

    def close(self) -> None:
        """Stop every stack (in parallel) and wipe its state."""
        from concurrent.futures import ThreadPoolExecutor

        from nexuskit.lifecycle import down

        def stop(fresh: _Fresh) -> None:
            if fresh.process is not None:
                fresh.process.kill()
                fresh.process.communicate()
            try:
                down(fresh.handle.engine_settings(), purge=True)
            except NexuskitError as exc:
                log.warning("could not stop %s: %s", fresh.handle.describe(), exc)

        stacks = list(self._stacks.values())
        if stacks:
            with ThreadPoolExecutor(max_workers=len(stacks)) as pool:
                list(pool.map(stop, stacks))
        self._stacks.clear()
        if self._own_base:
            shutil.rmtree(self.base_dir, ignore_errors=True)


# -- the localstack engine ------------------------------------------------------------------
#: what a stack on the localstack engine runs with: nexuskit starts LocalStack without
#: ENFORCE_IAM, and LocalStack enforces no Kinesis shard limits
LOCALSTACK_FACTS = StackFacts(iam="off", firehose_buffering="aws", kinesis_limits="off")

#: step types the localstack engine cannot run, and what they need that it lacks
_LOCALSTACK_LACKS: dict[str, str] = {
    "restart_engine": "an engine restart (only the embedded engine's process can be restarted)",
    "produce": "the embedded engine's producers and run records",
    "expect_denied": "IAM enforcement (nexuskit starts LocalStack without ENFORCE_IAM)",
}


def localstack_lacks(scenario: Scenario) -> str | None:
    """Why ``scenario`` cannot run on the localstack engine (None when it can)."""
    if needs_control_plane(scenario):
        return "needs the control plane (agent-core, MCP services), which the localstack engine does not run"
    for step in scenario.steps:
        why = _LOCALSTACK_LACKS.get(step_kind(step))
        if why:
            return f"needs {why} ({step_kind(step)} step)"
    return None


@dataclass
class LocalStackHandle(StackHandle):
    """A LocalStack stack: the admin identity is the environment's account (keys ``<account>``/test)."""

    account: str = "000000000000"

    @property
    def target(self) -> AwsTarget:
        if self._target is None:
            self._target = AwsTarget(
                region=self.spec.region,
                access_key_id=self.account,
                secret_access_key="test",
                endpoint_url=self.endpoint,
                account_id=self.account,
            )
        return self._target

    def engine_settings(self) -> KitSettings:
        return self.settings

    def describe(self) -> str:
        return f"{self.label} LocalStack at {self.endpoint} ({self.facts.describe()})"

    def endpoints(self) -> dict[str, Any]:
        return {"aws": self.endpoint}

    def restart_engine(self, mode: str = "kill", timeout: float = 20.0) -> dict[str, Any]:
        raise ScenarioError("the localstack engine cannot be restarted by a scenario")


class LocalStackStacks(StackProvider):
    """Scenarios on LocalStack: the one answering on the settings' port, or (``fresh``) one
    started through testcontainers with ``terraform/stacks/platform`` applied, removed on close.

    Scenarios that need what LocalStack lacks (the control plane, IAM enforcement, an engine
    restart, the embedded producers, a profile it does not match) are skipped with the reason.
    """

    def __init__(
        self, settings: KitSettings, *, fresh: bool = False, record: bool = False, start_timeout: float = 600
    ) -> None:
        self.settings = settings
        self.fresh = fresh
        self.record = record
        self.start_timeout = start_timeout
        self._handle: StackHandle | None = None
        self._started_port: int | None = None

    def check(self) -> None:
        """One clear error before anything runs: what a fresh LocalStack needs, or a LocalStack
        answering on the settings' port."""
        from nexuskit import localstack

        if self.fresh:
            localstack.preflight().close()
            return
        endpoint = self.settings.endpoint
        health = localstack.read_health(endpoint)
        if health is None:
            raise ScenarioError(
                f"no LocalStack answers on {endpoint}{localstack.HEALTH_PATH}",
                "start it with `nexuskit up --local --engine localstack`, or add --fresh",
            )
        if health.get("edition") == "nexuskit":
            raise ScenarioError(
                f"the engine on {endpoint} is nexuskit's embedded engine, not LocalStack",
                "run without --engine localstack, or point --port at LocalStack",
            )

    def handle(self) -> StackHandle:
        if self._handle is not None:
            return self._handle
        from nexuskit import localstack

        settings = self.settings
        if self.fresh:
            port = pick_port()
            settings = settings.model_copy(update={"port": port})
            log.info("starting LocalStack on port %s", port)
            self._started_port = port
            localstack.up(env=settings.env, port=port, timeout=self.start_timeout)
        else:
            self.check()
        spec = settings.stack()
        account = (spec.params.allowed_account_ids or ["000000000000"])[0]
        label = "fresh" if self.fresh else "current"
        self._handle = LocalStackHandle(
            settings, LOCALSTACK_FACTS, owned=self.fresh, label=label, account=account
        )
        return self._handle

    def skip_reason(self, scenario: Scenario) -> str | None:
        """Why ``scenario`` cannot run on LocalStack (known before any LocalStack starts)."""
        lacks = localstack_lacks(scenario)
        if lacks is None:
            lacks = mismatch(scenario.stack, LOCALSTACK_FACTS, record=self.record)
            lacks = lacks.replace("this stack", "LocalStack") if lacks else None
        return f"{lacks}; run it on the embedded engine" if lacks else None

    def prepare(self, scenarios: Iterable[Scenario]) -> None:
        if any(self.skip_reason(s) is None for s in scenarios):
            self.handle()  # a fresh LocalStack only when some scenario can run on it

    def stack_for(self, scenario: Scenario) -> StackHandle | str:
        return self.skip_reason(scenario) or self.handle()

    def describe(self) -> list[dict[str, Any]]:
        if self._handle is None:
            return []
        return [
            {
                "label": f"{self._handle.label} LocalStack",
                "endpoint": self._handle.endpoint,
                "facts": self._handle.facts.describe(),
            }
        ]

    def close(self) -> None:
        if self._started_port is None:
            return
        from nexuskit import localstack

        try:
            localstack.down(self._started_port)
        except NexuskitError as exc:
            log.warning("could not remove the LocalStack container: %s", exc)
        self._started_port = None
