"""Modules the engine runs only when something uses them (emulation.core.moto_compat.deferred)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulation.core.moto_compat import deferred

#: what the engine's first answer (an S3 ListBuckets) does without: moto's mocking machinery,
#: requests' own parts, botocore's credential providers, moto's access control (its checks
#: are off: the engine enforces IAM), moto's Kinesis (the record store patches it when a
#: Kinesis request imports it), and the Bedrock runtime and HTTP API data plane (made on
#: their first request)
NOT_IMPORTED = (
    "responses",
    "unittest.mock",
    "s3transfer",
    "charset_normalizer",
    "idna",
    "http.cookiejar",
    "requests.adapters",
    "botocore.credentials",
    "moto.iam.access_control",
    "moto.kinesis.models",
    "emulation.bedrock.models",
    "emulation.apigatewayv2.models",
    "flask",
    "jinja2",
    "click",
    "moto.moto_server.werkzeug_app",
    "emulation.awslambda.models",
    "emulation.iam.extension",
)

FIRST_ANSWER = (
    f"NOT_IMPORTED = {NOT_IMPORTED!r}"
    + """
import http.client, json, sys, time
import emulation.server as server
server.prepare_process()
engine = server.EngineServer(server.parse_args(["--port", "0", "--iam", "off", "--no-persist"]))
engine.start()
port = engine.http.socket.getsockname()[1]
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
connection.request("GET", "/", headers={
    "Host": f"127.0.0.1:{port}", "x-amz-date": stamp, "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIAPROBE/{stamp[:8]}/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
})
answer = connection.getresponse()
body = answer.read().decode()
from emulation.core.moto_compat import deferred
print(json.dumps({
    "status": answer.status,
    "body": body,
    "imported": {name: name in sys.modules for name in NOT_IMPORTED},
    "loaded": {name: deferred.is_loaded(name) for name in deferred.DEFERRED},
}))
engine.request_stop()
engine.shutdown()
"""
)

ON_USE = """
import json, sys
from emulation.core.moto_compat import deferred
deferred.install()
import moto
import moto.core.models as models
from moto import mock_aws
import boto3
import cryptography.x509
import moto.iam.models
import sqlite3
before = {
    module_name: {name: getattr(sys.modules[module_name], name) for name in names}
    for module_name, names in deferred.DEFERRED.items()
}
not_loaded = {name: deferred.is_loaded(name) for name in deferred.DEFERRED}
with mock_aws():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="probe-bucket")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
from cryptography import x509
import moto.core
x509_callable = callable(x509.load_pem_x509_certificate)
from emulation.core.moto_compat.deferred import loaded
policies = loaded("moto.iam.aws_managed_policies").aws_managed_policies_data
sqlite3.connect(":memory:").close()
import requests
from moto.utilities.utils import CaseInsensitiveDict
requests_whole = {
    "session": isinstance(requests.Session(), requests.sessions.Session),
    "structures": issubclass(CaseInsensitiveDict, requests.structures.CaseInsensitiveDict),
    "adapters_loader": type(sys.modules["requests.adapters"].__spec__.loader).__name__,
}
out = {
    "not_loaded": not_loaded,
    "buckets": buckets,
    "loaded": {name: deferred.is_loaded(name) for name in deferred.DEFERRED},
    "mock_class": isinstance(models.MockAWS, type),
    "session_class": isinstance(boto3.Session(), boto3.session.Session),
    "x509": x509_callable,
    "moto_core_forwards": moto.core.patch_client.__module__,
    "requests": requests_whole,
    "policies": len(json.loads(policies)),
}
same = {}
for module_name, names in deferred.DEFERRED.items():
    module = sys.modules[module_name]
    for name, value in names.items():
        real, taken = getattr(module, name), before[module_name][name]
        if value is deferred.FORWARD:  # the module's own code replaced the forwarder
            same[f"{module_name}.{name}"] = callable(real) and real is not taken
        elif isinstance(value, deferred.Alias):
            same[f"{module_name}.{name}"] = real is value.resolve() is taken
        elif isinstance(value, deferred.Unread):  # the stand-in, then the module's own value
            same[f"{module_name}.{name}"] = taken is value.stand_in and real is not taken
        else:
            same[f"{module_name}.{name}"] = real == value == taken
out["same"] = same
print(json.dumps(out))
"""


def _run(code: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    doc: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return doc


def test_the_engine_answers_its_first_request_without_mocking_machinery() -> None:
    doc = _run(FIRST_ANSWER)
    assert doc["status"] == 200, doc["body"]
    assert "<ListAllMyBucketsResult" in doc["body"]
    assert doc["imported"] == dict.fromkeys(NOT_IMPORTED, False)
    assert doc["loaded"] == {name: False for name in deferred.DEFERRED}


def test_deferred_modules_load_on_first_use_and_are_then_the_real_modules() -> None:
    doc = _run(ON_USE)
    assert doc["not_loaded"] == {name: False for name in deferred.DEFERRED}
    assert doc["buckets"] == ["probe-bucket"]  # moto's mock_aws works through the forwarder
    assert doc["loaded"] == {name: True for name in deferred.DEFERRED}
    assert doc["mock_class"] and doc["session_class"] and doc["x509"]
    assert doc["moto_core_forwards"] == "moto.core.models"
    assert doc["requests"] == {"session": True, "structures": True, "adapters_loader": "SourceFileLoader"}
    assert doc["policies"] > 1000
    # every name taken before the load is what the module (as moto ships it) defines
    assert doc["same"] and all(doc["same"].values()), doc["same"]


PROBE_SOURCE = """
import sys, time
sys.nexus_probe_runs = getattr(sys, "nexus_probe_runs", 0) + 1
time.sleep(0.2)
VALUE = 42
CONST = 7
def double(x):
    return 2 * x
"""


@pytest.fixture
def probe_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = "nexus_deferred_probe"
    (tmp_path / f"{name}.py").write_text(PROBE_SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(deferred.DEFERRED, name, {"CONST": 7, "double": deferred.FORWARD})
    monkeypatch.setattr(sys, "nexus_probe_runs", 0, raising=False)
    finder = deferred._DeferringFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield name
    finally:
        sys.meta_path.remove(finder)
        sys.modules.pop(name, None)


def test_a_deferred_module_runs_once_whichever_threads_ask_first(probe_module: str) -> None:
    module = __import__(probe_module)
    assert module.CONST == 7 and sys.nexus_probe_runs == 0  # type: ignore[attr-defined]
    results: list[Any] = []
    started = threading.Barrier(8)

    def use(index: int) -> None:
        started.wait()
        results.append(module.double(3) if index % 2 else module.VALUE)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [6] * 4 + [42] * 4
    assert sys.nexus_probe_runs == 1  # type: ignore[attr-defined]
    assert deferred.is_loaded(probe_module)
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        module.missing  # noqa: B018
    assert module.double(5) == 10
    assert sys.nexus_probe_runs == 1  # type: ignore[attr-defined]


LOAD_ALONE = """
import sys
from emulation.core.moto_compat import deferred, speedups
speedups.install()
import moto.iam.models, moto.s3.responses  # what an engine has imported by its first answer
import emulation.core.s3store
name = sys.argv[1]
assert not deferred.is_loaded(name), name
module = deferred.loaded(name)
assert deferred.is_loaded(name) and not deferred._own_getattr(module)  # the module's own stays
print(sorted(vars(module))[:3])
"""


@pytest.mark.parametrize("name", sorted(deferred.DEFERRED))
def test_each_deferred_module_loads_alone_as_it_would_have_been_imported(name: str) -> None:
    """A deferred module's code runs after what it imports has run (NEEDS), whichever
    module a request happens to load first."""
    result = subprocess.run(
        [sys.executable, "-c", LOAD_ALONE, name], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_when_loaded_hooks_run_once_the_code_has_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook sees the module after its code ran: deferred (on first use, not at import), and
    imported by a deferred module's code while that runs (then it is not deferred)."""
    (tmp_path / "nexus_probe_outer.py").write_text("import nexus_probe_inner\nOUTER = 1\n", encoding="utf-8")
    (tmp_path / "nexus_probe_inner.py").write_text("INNER = 2\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("nexus_probe_outer", "nexus_probe_inner"):
        monkeypatch.setitem(deferred.DEFERRED, name, {})
    finder = deferred._DeferringFinder()
    sys.meta_path.insert(0, finder)
    seen: list[tuple[str, Any]] = []
    try:
        deferred.when_loaded("nexus_probe_outer", lambda m: seen.append(("outer", m.OUTER)))
        deferred.when_loaded("nexus_probe_inner", lambda m: seen.append(("inner", m.INNER)))
        outer = __import__("nexus_probe_outer")
        assert seen == [] and not deferred.is_loaded("nexus_probe_outer")
        assert outer.OUTER == 1  # first use: the code runs, importing the inner module at once
        assert seen == [("inner", 2), ("outer", 1)]
        assert deferred.is_loaded("nexus_probe_inner")
        deferred.when_loaded("nexus_probe_outer", lambda m: seen.append(("late", m.OUTER)))
        assert seen[-1] == ("late", 1)  # already run: the hook runs at once
    finally:
        sys.meta_path.remove(finder)
        for name in ("nexus_probe_outer", "nexus_probe_inner"):
            sys.modules.pop(name, None)


SUBMODULE_FIRST = """
import json, sys
from emulation.core.moto_compat import deferred
deferred.install()
import moto.utilities.utils  # imports requests.structures: requests itself stays deferred
before = deferred.is_loaded("requests"), deferred.is_loaded("requests.compat")
import requests.adapters  # a submodule that needs its package: the package runs first
import requests
print(json.dumps({
    "before": before,
    "after": [deferred.is_loaded("requests"), deferred.is_loaded("requests.compat")],
    "same": requests.adapters is sys.modules["requests.adapters"],
    "used_by_package": requests.sessions.HTTPAdapter is requests.adapters.HTTPAdapter,
    "loader": type(requests.adapters.__spec__.loader).__name__,
    "structures_loader": type(sys.modules["requests.structures"].__spec__.loader).__name__,
}))
"""


def test_a_submodule_of_a_deferred_package_runs_after_the_package() -> None:
    """``import requests.adapters`` with ``requests`` deferred: the package runs first (its
    code imports the adapters, which the import then hands back as they are), as when the
    package was imported before; ``requests.structures`` runs without it."""
    doc = _run(SUBMODULE_FIRST)
    assert doc["before"] == [False, False]
    assert doc["after"] == [True, True]
    assert doc["same"] and doc["used_by_package"]
    assert doc["loader"] == doc["structures_loader"] == "SourceFileLoader"


PACKAGE_INIT = """
import sys, threading, time
sys.nexus_pkg_runs = getattr(sys, "nexus_pkg_runs", 0) + 1
sys.nexus_pkg_started.set()
time.sleep(0.3)  # meanwhile another thread imports the submodule this code imports next
from nexus_probe_pkg import sub
VALUE = sub.X + 1
"""

PACKAGE_SUB = """
import sys, time
sys.nexus_sub_runs = getattr(sys, "nexus_sub_runs", 0) + 1
time.sleep(0.3)
X = 41
"""


def test_a_package_running_in_one_thread_while_another_imports_its_submodule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thread A runs a deferred package's code, which imports its submodule; thread B
    imports that submodule meanwhile. Neither waits for the other forever: B imports it as
    usual (as with a package another thread is initializing), A's import gets B's module."""
    package = tmp_path / "nexus_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(PACKAGE_INIT, encoding="utf-8")
    (package / "sub.py").write_text(PACKAGE_SUB, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(deferred.DEFERRED, "nexus_probe_pkg", {})
    monkeypatch.setattr(sys, "nexus_pkg_started", threading.Event(), raising=False)
    monkeypatch.setattr(sys, "nexus_pkg_runs", 0, raising=False)
    monkeypatch.setattr(sys, "nexus_sub_runs", 0, raising=False)
    finder = deferred._DeferringFinder()
    sys.meta_path.insert(0, finder)
    results: dict[str, Any] = {}
    try:
        module = __import__("nexus_probe_pkg")
        assert not deferred.is_loaded("nexus_probe_pkg")

        def run_package() -> None:
            results["value"] = module.VALUE

        def import_submodule() -> None:
            sys.nexus_pkg_started.wait(10)  # type: ignore[attr-defined]
            import nexus_probe_pkg.sub  # type: ignore[import-not-found]

            results["x"] = nexus_probe_pkg.sub.X

        threads = [threading.Thread(target=run_package), threading.Thread(target=import_submodule)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert not any(thread.is_alive() for thread in threads), "the two imports wait for each other"
        assert results == {"value": 42, "x": 41}
        assert sys.nexus_pkg_runs == 1 and sys.nexus_sub_runs == 1  # type: ignore[attr-defined]
        assert sys.modules["nexus_probe_pkg"].sub is sys.modules["nexus_probe_pkg.sub"]
    finally:
        sys.meta_path.remove(finder)
        for name in ("nexus_probe_pkg.sub", "nexus_probe_pkg"):
            sys.modules.pop(name, None)
