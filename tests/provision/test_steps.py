"""The provisioner's step runner, Lake Formation batches and the shared botocore loader."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from emulation.modelcache import CachedJSONFileLoader
from nexuskit.aws import AwsTarget, shared_loader
from nexuskit.errors import ProvisionError
from nexuskit.provision.provisioner import run_steps
from nexuskit.provision.storage import LF_BATCH, batch_permissions


def test_steps_start_when_what_they_wait_for_has_finished() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def step(name: str, pause: float = 0.0) -> Any:
        def run() -> str:
            time.sleep(pause)
            with lock:
                order.append(name)
            return name.upper()

        return run

    results = run_steps(
        {
            "a": (step("a", 0.05), ()),
            "b": (step("b"), ()),
            "c": (step("c"), ("a", "b")),
            "d": (step("d"), ("c",)),
        }
    )
    assert results == {"a": "A", "b": "B", "c": "C", "d": "D"}
    assert order[0] == "b" and order[2:] == ["c", "d"]


def test_a_failed_step_skips_what_waits_for_it_and_is_raised_after_the_others() -> None:
    ran: list[str] = []

    def boom() -> None:
        raise ProvisionError("a: broken")

    def other() -> str:
        time.sleep(0.05)
        ran.append("other")
        return "ok"

    with pytest.raises(ProvisionError, match="a: broken"):
        run_steps(
            {
                "a": (boom, ()),
                "after_a": (lambda: ran.append("after_a"), ("a",)),
                "other": (other, ()),
            }
        )
    assert ran == ["other"]  # the independent step finished; the dependent one never ran


def test_a_step_waiting_for_an_unknown_step_or_a_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        run_steps({"a": (lambda: None, ("nope",))})
    with pytest.raises(ValueError, match="each other"):
        run_steps({"a": (lambda: None, ("b",)), "b": (lambda: None, ("a",)), "c": (lambda: None, ())})


class _FakeLakeFormation:
    def __init__(self, failing: set[str] | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.failing = failing or set()

    def batch_grant_permissions(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append(Entries)
        failures = [
            {"RequestEntry": e, "Error": {"ErrorCode": "InvalidInputException", "ErrorMessage": "no"}}
            for e in Entries
            if e["Principal"]["DataLakePrincipalIdentifier"] in self.failing
        ]
        return {"Failures": failures}


def _entry(principal: str) -> tuple[str, dict[str, Any]]:
    grant = {
        "Principal": {"DataLakePrincipalIdentifier": principal},
        "Resource": {"Catalog": {}},
        "Permissions": ["DESCRIBE"],
    }
    return principal, grant


def test_grants_go_in_batches_of_twenty_with_an_id_each() -> None:
    lf = _FakeLakeFormation()
    batch_permissions(lf, "lakeformation.permissions", [_entry(f"p{i}") for i in range(LF_BATCH + 5)])
    assert [len(call) for call in lf.calls] == [LF_BATCH, 5]
    assert all(len({e["Id"] for e in call}) == len(call) for call in lf.calls)
    batch_permissions(lf, "lakeformation.permissions", [])
    assert len(lf.calls) == 2  # nothing to grant: no call


def test_a_refused_entry_fails_the_run_naming_it() -> None:
    lf = _FakeLakeFormation(failing={"p3"})
    with pytest.raises(
        ProvisionError, match=re.escape("lakeformation.permissions p3: InvalidInputException")
    ):
        batch_permissions(lf, "lakeformation.permissions", [_entry(f"p{i}") for i in range(5)])


def test_targets_share_one_loader_and_its_models(monkeypatch: pytest.MonkeyPatch) -> None:
    first = AwsTarget("us-west-2", "AKIAEXAMPLE", "secret", "http://127.0.0.1:1")
    second = first.with_credentials("AKIAOTHER", "other")
    assert first.session()._loader is second.session()._loader is shared_loader()
    assert first.client("sqs").meta.service_model is not None

    def no_file(path: str) -> None:
        raise AssertionError(f"{path} read again")

    # the second target's client is made from the models the first one loaded
    monkeypatch.setattr(shared_loader().file_loader, "load_file", no_file)
    assert second.client("sqs").meta.service_model.service_name == "sqs"
    monkeypatch.undo()
    # each boto3 session adds its data folder once, not once per session
    paths = shared_loader().search_paths
    assert len(paths) == len(set(paths))


def test_model_cache_answers_what_the_json_says(tmp_path: Path) -> None:
    import botocore.loaders

    path = str(Path(botocore.loaders.__file__).parent / "data" / "sts" / "2011-06-15" / "service-2")
    plain = botocore.loaders.JSONFileLoader().load_file(path)
    cached = CachedJSONFileLoader(tmp_path)
    assert cached.load_file(path) == plain  # parsed, then stored
    assert len(list(tmp_path.iterdir())) == 1
    assert cached.load_file(path) == plain  # from the cache
    for stored in tmp_path.iterdir():
        stored.write_bytes(b"garbage")
    assert cached.load_file(path) == plain  # a broken cache file is parsed again
    assert cached.load_file(str(tmp_path / "missing")) is None
