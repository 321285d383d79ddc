"""Fixtures shared by every test folder, and how ``make test`` spreads modules over workers."""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from nexuskit.engine import DEFAULT_PORT_RANGE, PORT_RANGE_ENV
from tests.helpers import EngineProcess

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

# Modules that take minutes each (terraform apply/destroy against an engine): they start first,
# so under ``-n 2`` the rest of the suite runs beside them instead of after them.
RUN_FIRST = (
    "tests/terraform/test_local_terraform.py",
    "tests/promote/test_rehearsal.py",
    "tests/localstack/test_tflocal.py",
    "tests/reliability/test_kill9_at_scale.py",
)


def _module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _shared_fixture_defs(
    item: pytest.Item, scopes: tuple[str, ...] = ("session", "package")
) -> dict[str, Any]:
    """The session- and package-scoped fixtures of this suite (not of plugins) the test uses,
    by ``baseid::name``."""
    found: dict[str, Any] = {}
    info = getattr(item, "_fixtureinfo", None)  # pytest's own record of the test's fixtures
    for name, defs in (info.name2fixturedefs if info else {}).items():
        fixturedef = defs[-1]
        if fixturedef.scope in scopes and fixturedef.baseid.startswith("tests"):
            found[f"{fixturedef.baseid}::{name}"] = fixturedef
    return found


def worker_groups(items: list[pytest.Item]) -> dict[str, str]:
    """Module -> group: modules that share a session (or package) fixture, such as a running
    stack, are one group, so ``--dist loadgroup`` runs them on one worker and no stack is
    started twice; every other module is a group of its own (its tests stay together, so its
    module-scoped fixtures are made once)."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for item in items:
        module = root(_module_of(item))
        for fixture in _shared_fixture_defs(item):
            other = root(fixture)
            if other != module:
                parent[max(other, module)] = min(other, module)
                module = min(other, module)
    return {_module_of(item): root(_module_of(item)) for item in items}


#: a worker's :func:`worker_groups`, for :func:`pytest_runtest_teardown`
_GROUPS = pytest.StashKey[dict[str, str]]()


def _groups_file(run_id: str) -> Path:
    """Where the workers leave :func:`worker_groups` for the controller's scheduler."""
    return Path(tempfile.gettempdir()) / f"nexuskit-xdist-groups-{run_id}.json"


def pytest_configure(config: pytest.Config) -> None:
    """The controller of an ``-n`` run names the run, so its workers and its scheduler agree
    on the groups file. Each worker picks engine ports from a range of its own (for its
    engines, and the stacks its ``nexuskit`` commands start): a port an engine frees while a
    test restarts it is then never taken by another worker's engine meanwhile."""
    if getattr(config.option, "numprocesses", None) and not getattr(config.option, "testrunuid", None):
        config.option.testrunuid = uuid.uuid4().hex
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        os.environ[PORT_RANGE_ENV] = worker_port_range(
            int(str(workerinput["workerid"]).removeprefix("gw")), int(workerinput["workercount"])
        )


def worker_port_range(index: int, count: int) -> str:
    """Worker ``index`` of ``count``'s slice of the engine ports (see ``free_stack_port``)."""
    low, high = DEFAULT_PORT_RANGE
    width = (high - low) // max(1, count)
    return f"{low + index * width}-{low + (index + 1) * width - 1}"


@pytest.hookimpl(wrapper=True)  # a wrapper: done before the other plugins see the order
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Iterator[None]:
    """In an xdist worker: start the longest modules first (the controller schedules in the
    order the workers collected) and write each module's group (see :func:`worker_groups`)
    for :class:`SharedStackScheduling`. Without xdist the order stays as collected.

    The order: :data:`RUN_FIRST`, then the groups that share a session stack or engine (they
    start processes and run for tens of seconds to minutes), then the other modules, so the
    run ends on short modules that even out the workers' last minute (ending on the TUI's
    stack group left one worker busy for a minute after the others were done)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        groups = worker_groups(items)
        first = {groups[m] for m in RUN_FIRST if m in groups}
        staged = {groups[_module_of(item)] for item in items if _shared_fixture_defs(item)}

        def rank(item: pytest.Item) -> tuple[bool, bool]:
            group = groups[_module_of(item)]
            return group not in first, group not in staged

        items.sort(key=rank)  # stable: collection order within each rank
        config.stash[_GROUPS] = groups
        path = _groups_file(workerinput["testrunuid"])
        part = path.with_name(f"{path.name}.{workerinput['workerid']}")
        part.write_text(json.dumps(groups))
        part.replace(path)  # every worker writes the same groups; none is ever half-written
    yield


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """In an xdist worker, at the end of a group: stop the session fixtures (stacks, engines,
    pods) only that group uses, instead of leaving them running until the worker's last test.

    Every module that uses a session fixture is in its group (:func:`worker_groups`) and a
    group runs whole on one worker, so once the next test is of another group no later test
    of this worker uses them. An idle stack still polls and probes (its consumers, probes,
    leases: about a tenth of a core), and the suite is CPU-bound. Were one needed again,
    pytest would start it again (a finished fixture has no cached value)."""
    result = yield
    groups = item.config.stash.get(_GROUPS, None)
    if groups is None or nextitem is None:
        return result  # not an xdist worker, or the session's end tears everything down
    if groups.get(_module_of(item)) == groups.get(_module_of(nextitem)):
        return result
    still_used = _shared_fixture_defs(nextitem, ("session",))
    for key, fixturedef in reversed(_shared_fixture_defs(item, ("session",)).items()):
        if key not in still_used:
            fixturedef.finish(item._request)  # type: ignore[attr-defined]
    return result


if importlib.util.find_spec("xdist") is not None:
    from xdist.scheduler import LoadScopeScheduling

    class SharedStackScheduling(LoadScopeScheduling):
        """``--dist loadgroup`` for this suite: a work unit is a group of modules that share a
        session stack (:func:`worker_groups`, computed by the workers at collection). xdist's
        own loadgroup reads ``xdist_group`` marks by renaming test ids, which pytest 9 no
        longer allows, so it would hand out single tests and start every stack on each worker."""

        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            self._groups_path = _groups_file(str(config.option.testrunuid))
            self._groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:
                self._groups = json.loads(self._groups_path.read_text())
                self._groups_path.unlink(missing_ok=True)
            module = nodeid.split("::", 1)[0]
            return self._groups.get(module, module)

    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> SharedStackScheduling | None:
        """Our scheduler for ``--dist loadgroup`` (what ``make test`` runs)."""
        return SharedStackScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[Callable[..., EngineProcess]]:
    """Start real engine processes (``python -m emulation``); all are stopped afterwards.

    ``engine_factory("--kinesis-limits", "off")`` starts one with those arguments and its
    own state dir and free port.
    """
    started: list[EngineProcess] = []

    def start(*args: str, state_dir: Path | None = None) -> EngineProcess:
        engine = EngineProcess(state_dir or tmp_path / f"engine{len(started)}", *args)
        started.append(engine)
        return engine.start()

    yield start
    for engine in started:
        engine.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One real stack (``nexuskit up --local``, IAM enforced) shared by the end-to-end and
    security tests of a session; they leave it as they found it. Folders that need a
    stack of another shape define their own ``stack``."""
    from tests.e2e.conftest import nexuskit, start_stack

    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    nexuskit("down", *running.args)
