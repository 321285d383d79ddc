"""Where engine ports are picked (``free_stack_port``), and the test workers' own ranges."""

from __future__ import annotations

import itertools

import pytest

from nexuskit.engine import (
    DEFAULT_PORT_RANGE,
    PORT_RANGE_ENV,
    SERVICE_PORT_SPAN,
    EngineError,
    free_stack_port,
    port_range,
)
from tests.conftest import worker_port_range


def test_ports_and_their_service_ports_stay_in_the_range_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PORT_RANGE_ENV, "24000-24200")
    for _ in range(20):
        port = free_stack_port()
        assert port >= 24000 and port + SERVICE_PORT_SPAN[-1] < 24200


@pytest.mark.parametrize("value", ["20000", "a-b", "30000-20000", "80-2000", "20000-70000"])
def test_a_bad_range_is_refused_with_what_was_wrong(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(PORT_RANGE_ENV, value)
    with pytest.raises(EngineError, match=f"{PORT_RANGE_ENV}='{value}' is not a port range"):
        port_range()


def test_a_range_too_small_for_a_stack_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PORT_RANGE_ENV, "25000-25050")
    with pytest.raises(EngineError, match="no room for an engine and its Service ports"):
        free_stack_port()


def test_unset_is_the_default_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PORT_RANGE_ENV, raising=False)
    assert port_range() == DEFAULT_PORT_RANGE


def test_test_workers_get_disjoint_slices_of_the_default_range() -> None:
    slices = [tuple(map(int, worker_port_range(i, 5).split("-"))) for i in range(5)]
    assert slices[0][0] == DEFAULT_PORT_RANGE[0] and slices[-1][1] < DEFAULT_PORT_RANGE[1]
    for (_, high), (next_low, _) in itertools.pairwise(slices):
        assert high < next_low
