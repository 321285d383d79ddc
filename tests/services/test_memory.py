"""The pods' release of their start-up garbage (``services.common.memory``)."""

from __future__ import annotations

import asyncio

import pytest

from services.common import memory


def test_released_after_start_runs_once_while_serving_and_not_after_a_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Inside the lifespan the release runs once its delay is over; a lifespan that ends
    first cancels it (the loop runs on, nothing is released); without a running loop there
    is nothing to schedule and nothing fails."""
    calls: list[str] = []
    monkeypatch.setattr(memory, "release_free_memory", lambda: calls.append("released"))

    async def serve(for_s: float, then_s: float = 0.0) -> None:
        with memory.released_after_start(0.05):
            await asyncio.sleep(for_s)
        await asyncio.sleep(then_s)

    asyncio.run(serve(0.3))
    assert calls == ["released"]
    asyncio.run(serve(0.0, then_s=0.2))
    assert calls == ["released"]
    with memory.released_after_start(0.0):
        pass
    assert calls == ["released"]
