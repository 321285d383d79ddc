"""Conditional S3 writes (``If-Match``, ``If-None-Match: *``) let exactly one of concurrent
writers succeed, as S3 does: claims and leases kept in S3 (the dissemination ledger's
retry claims) rely on it.

moto compares the ETag and then stores the object; between the two, another request's
comparison could pass too. The engine's S3 extension runs conditional writes through moto
one at a time. Here every store of the engine app is slowed down (moto's
``S3Backend.put_object`` waits before it stores), which holds that window open: without
the extension's lock all writers would pass the comparison while the first one waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from emulation.core.app import EngineApp
from emulation.core.settings import EngineSettings
from emulation.s3.extension import S3Extension
from tests.emulation.test_s3_objects import _call, _create_bucket

WRITERS = 6


@pytest.fixture(scope="module")
def app() -> EngineApp:
    extension = S3Extension()  # not started: its moto patches stay out of this process
    engine = EngineApp(EngineSettings(iam="off", persist=False, kinesis_limits="off"), [extension])
    extension.engine = engine
    _create_bucket(engine, "conditional-writes")
    return engine


@pytest.fixture
def slow_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto.s3.models import S3Backend

    store = S3Backend.put_object

    def slow_put_object(self: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.05)
        return store(self, *args, **kwargs)

    monkeypatch.setattr(S3Backend, "put_object", slow_put_object)
    yield


def _race(app: EngineApp, key: str, condition: dict[str, str]) -> list[int]:
    """WRITERS conditional PutObjects of ``key`` at once; their status codes."""
    start = threading.Barrier(WRITERS)

    def write(n: int) -> int:
        start.wait()
        answer = _call(app, "PUT", f"/conditional-writes/{key}", condition, f"writer {n}".encode())
        return int(answer.status_code)

    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(write, range(WRITERS)))


@pytest.mark.usefixtures("slow_stores")
def test_if_match_lets_one_of_concurrent_writers_replace_the_version_they_read(app: EngineApp) -> None:
    first = _call(app, "PUT", "/conditional-writes/claimed", {}, b"v0")
    statuses = _race(app, "claimed", {"If-Match": first.headers["ETag"]})
    assert sorted(statuses) == [200] + [412] * (WRITERS - 1)
    assert _call(app, "GET", "/conditional-writes/claimed").data.startswith(b"writer ")


@pytest.mark.usefixtures("slow_stores")
def test_if_none_match_lets_one_of_concurrent_writers_create_the_key(app: EngineApp) -> None:
    statuses = _race(app, "created", {"If-None-Match": "*"})
    assert sorted(statuses) == [200] + [412] * (WRITERS - 1)


def test_a_failed_condition_is_answered_as_s3_answers_it(app: EngineApp) -> None:
    """412 PreconditionFailed naming the condition; the object is unchanged."""
    _call(app, "PUT", "/conditional-writes/kept", {}, b"kept")
    refused = _call(app, "PUT", "/conditional-writes/kept", {"If-Match": '"0000"'}, b"lost")
    assert refused.status_code == 412 and b"<Code>PreconditionFailed</Code>" in refused.data
    assert b"If-Match" in refused.data
    assert _call(app, "GET", "/conditional-writes/kept").data == b"kept"
