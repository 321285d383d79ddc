"""Contract tests of :mod:`emulation.core.moto_compat`, the one place that touches moto's
private parts: one test per private access or patch. When a moto release moves one of
them, the failure names the installed moto version and what moved, so that the seam (and
nothing else) is what gets updated.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from emulation.core import moto_compat
from emulation.core.moto_compat import kinesis, pickling, routing, s3

MOTO = importlib.metadata.version("moto")


def moved(what: str, needs: str) -> str:
    return f"moto {MOTO}: {what} - {needs} needs a new seam in emulation.core.moto_compat"


def test_moto_is_the_pinned_version() -> None:
    assert MOTO == "5.2.5", moved(f"moto is {MOTO}, not the pinned 5.2.5", "every contract below")


# -- speed-ups ---------------------------------------------------------------------------------
SPEEDUPS_PROBE = """
import json, logging
messages = []
class Catch(logging.Handler):
    def emit(self, record):
        messages.append(record.getMessage())
logging.getLogger("emulation.core.moto_compat.speedups").addHandler(Catch())
from emulation.core.moto_compat import speedups
speedups.install()
from moto.ec2.models import instance_types
print(json.dumps({
    "warnings": messages,
    "offerings": type(instance_types.INSTANCE_TYPE_OFFERINGS["region"]).__name__,
    "types": type(instance_types.INSTANCE_TYPES).__name__,
}))
"""


def test_every_speedup_applies() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SPEEDUPS_PROBE], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["warnings"] == [], moved(
        "a start-up speed-up could not be applied: " + "; ".join(out["warnings"]), "core start-up"
    )
    assert out["offerings"] == "LazyRegionOfferings", moved(
        "moto.ec2.models.instance_types.INSTANCE_TYPE_OFFERINGS is not read through load_resource",
        "the lazy EC2 offerings",
    )
    assert out["types"] == "LazyInstanceTypes", moved(
        "moto.ec2.models.instance_types.INSTANCE_TYPES moved", "the lazy EC2 instance types"
    )


# -- pickling ------------------------------------------------------------------------------------
def test_backend_dicts_are_listed() -> None:
    from moto.core.base_backend import BackendDict
    from moto.s3.models import s3_backends

    instances = getattr(BackendDict, "_instances", None)
    assert isinstance(instances, list), moved(
        "BackendDict._instances is gone", "the state store's list of services"
    )
    listed = any(found is s3_backends for found in instances)
    account = "000000000042"  # a service is listed once an account of it is used
    s3_backends[account]
    try:
        assert any(found is s3_backends for found in pickling.backend_dicts()), moved(
            "a used BackendDict is no longer registered in BackendDict._instances",
            "the state store's list of services",
        )
    finally:  # leave moto as it was
        dict.pop(s3_backends, account, None)
        if not listed:
            instances.remove(s3_backends)


def test_fake_key_keeps_its_attributes_in_its_dict() -> None:
    from moto.s3.models import FakeKey

    key = FakeKey("k", b"body", account_id="123456789012", region_name="us-east-1")
    attributes = vars(key)
    for name in ("_value_buffer", "lock", "name", "contentsize"):
        assert name in attributes, moved(
            f"moto.s3.models.FakeKey no longer keeps {name} in __dict__", "the blob store's pickling"
        )
    assert callable(getattr(FakeKey, "__setstate__", None)), moved(
        "moto.s3.models.FakeKey has no __setstate__", "the blob store's pickling"
    )
    pickling.cache_body_digest(key, 4, "d")
    state = pickling.fake_key_state(key)
    assert "_value_buffer" not in state and "_nexus_blob" not in state and "lock" not in state
    restored = pickling.new_fake_key(FakeKey, state, b"body", "d")
    assert restored.value == b"body", moved(
        "FakeKey.__setstate__ no longer takes the body as 'value'", "the blob store"
    )
    assert pickling.cached_body_digest(restored) == (4, "d")


def test_versioned_key_store_is_a_dict_of_version_lists() -> None:
    types = pickling.s3_types()
    assert types is not None, moved("moto.s3.utils._VersionedKeyStore is gone", "the S3 versions' pickling")
    _, store_type = types
    store = store_type()
    store["a"] = 1
    store["a"] = 2
    assert isinstance(store, dict) and dict.__getitem__(store, "a") == [1, 2], moved(
        "_VersionedKeyStore no longer keeps every version in a list per key", "the S3 versions' pickling"
    )
    assert list(store.items()) == [("a", 2)]
    copy = pickling.new_key_store(store_type, pickling.key_store_lists(store))
    assert dict.__getitem__(copy, "a") == [1, 2] and copy["a"] == 2


def test_kinesis_shard_is_its_dict() -> None:
    from moto.kinesis.models import Shard

    shard = Shard(3, 0, 100)
    state = pickling.shard_state(shard)
    assert "records" in state, moved(
        "moto.kinesis.models.Shard keeps no 'records' in __dict__", "shard pickling"
    )
    assert pickling.kinesis_shard_type() is Shard
    copy = pickling.new_shard(Shard, state)
    assert copy.shard_id == shard.shard_id and copy.records is shard.records
    assert kinesis.shard_number(shard) == 3, moved("Shard._shard_id is gone", "the journal's stream layout")


def test_lambda_classes_keep_what_the_pickling_replaces() -> None:
    from moto.awslambda import models
    from moto.utilities.docker_utilities import DockerModel

    source = inspect.getsource(DockerModel.__init__)
    assert "self.__docker_client = None" in source, moved(
        "DockerModel no longer keeps __docker_client", "the Lambda function's pickling"
    )
    for cls in (models.LambdaStorage, models.LayerStorage):
        init = inspect.getsource(cls.__init__)
        assert "self._arns" in init, moved(f"{cls.__name__} no longer keeps _arns", "Lambda's pickling")
    assert "self._aliases" in inspect.getsource(models.LambdaStorage.__init__), moved(
        "LambdaStorage no longer keeps _aliases", "Lambda's pickling"
    )
    assert "self.logs_backend" in inspect.getsource(models.LambdaFunction.__init__), moved(
        "LambdaFunction no longer holds logs_backend", "Lambda's pickling"
    )
    moto_compat.install_lambda_pickling()
    storage = models.LambdaStorage("us-east-1", "123456789012")
    assert pickle.loads(pickle.dumps(storage)).__dict__.keys() == storage.__dict__.keys()


# -- Kinesis -------------------------------------------------------------------------------------
def test_records_are_built_from_the_first_ones_attributes() -> None:
    from moto.kinesis.models import Record

    build = kinesis.record_builder()
    first = build("p", "ZGF0YQ==", 1, None)
    second = build("q", "ZQ==", 2, "7")
    expected = Record("q", "ZQ==", 2, "7")
    assert type(second) is Record and second.__dict__.keys() == expected.__dict__.keys(), moved(
        "moto.kinesis.models.Record's attributes changed", "the Kinesis put path's record copies"
    )
    assert (second.partition_key, second.data, second.sequence_number, second.explicit_hash_key) == (
        "q",
        "ZQ==",
        2,
        "7",
    )
    assert second.created_at == first.created_at


def test_stream_metrics_are_sent_by_the_backend() -> None:
    from moto.kinesis.models import KinesisBackend

    method = getattr(KinesisBackend, "_send_stream_metrics", None)
    assert method is not None, moved("KinesisBackend._send_stream_metrics is gone", "the put path's metrics")
    assert list(inspect.signature(method).parameters) == [
        "self",
        "stream_name",
        "incoming_bytes",
        "incoming_records",
    ], moved("KinesisBackend._send_stream_metrics changed its parameters", "the put path's metrics")


# -- S3 ------------------------------------------------------------------------------------------
def test_s3_response_sender() -> None:
    send = s3.response_sender()
    status, headers, body = send((200, {"etag": '"x"'}, "text"))
    assert status == 200 and body == b"text" and headers["etag"] == '"x"', moved(
        "S3Response._send_response changed", "the S3 object fast path"
    )


@pytest.mark.parametrize(
    ("host", "virtual"),
    [("bucket.s3.amazonaws.com", True), ("localhost:4566", False), ("s3.amazonaws.com", False)],
)
def test_s3_virtual_host_rule(host: str, virtual: bool) -> None:
    assert s3.is_virtual_host(host, "/key") is virtual, moved(
        "S3Response.subdomain_based_buckets reads another part of the request", "S3 addressing"
    )


def test_s3_virtual_host_rule_follows_the_settings_it_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer for a host is remembered, but not past a change of the settings moto reads."""
    from moto import settings

    host = "bucket.s3.example-endpoint.test"
    assert s3.is_virtual_host(host, "/key") is True
    monkeypatch.setenv("MOTO_S3_CUSTOM_ENDPOINTS", f"http://{host}")
    assert s3.is_virtual_host(host, "/key") is False  # an S3-compatible endpoint: path style
    monkeypatch.delenv("MOTO_S3_CUSTOM_ENDPOINTS")
    monkeypatch.setattr(settings, "S3_IGNORE_SUBDOMAIN_BUCKETNAME", True)
    assert s3.is_virtual_host(host, "/key") is False
    monkeypatch.setattr(settings, "S3_IGNORE_SUBDOMAIN_BUCKETNAME", False)
    assert s3.is_virtual_host(host, "/key") is True
    assert s3.is_virtual_host("", "/key") is False  # no host: moto reads the URL's


def test_s3_listing_hooks() -> None:
    from moto.s3.models import S3Backend

    backend = S3Backend("us-east-1", "123456789012")
    assert isinstance(getattr(backend, "_pagination_tokens", None), dict), moved(
        "S3Backend._pagination_tokens is gone", "the fast bucket listings"
    )
    backend._pagination_tokens["t"] = "key"
    assert s3.pagination_token(backend, "t") == "key" and s3.pagination_token(backend, None) is None
    methods = s3.listing_methods()
    assert set(methods) == set(s3.LISTING_METHODS)
    for name, method in methods.items():
        assert callable(method), moved(f"S3Backend.{name} is gone", "the fast bucket listings")
    assert list(inspect.signature(S3Backend.list_objects_v2).parameters)[1:] == [
        "bucket",
        "prefix",
        "delimiter",
        "continuation_token",
        "start_after",
        "max_keys",
    ], moved("S3Backend.list_objects_v2 changed its parameters", "the fast bucket listings")


def test_s3_bucket_permission_hook() -> None:
    from moto.s3.models import FakeBucket

    assert list(inspect.signature(FakeBucket.get_permission).parameters) == ["self", "action", "resource"], (
        moved("FakeBucket.get_permission changed its parameters", "IAM's verdict on bucket policies")
    )


def test_iam_reads_managed_policy_documents_only_when_it_loads_them_all() -> None:
    """The documents' module is deferred: moto may read its text only where speedups hands
    the real one over (``IAMBackend._init_aws_policies`` when told to load them, SSO Admin's
    models as they are imported)."""
    import moto
    from moto.iam import models

    readers = {}
    for source in Path(moto.__file__).parent.rglob("*.py"):
        count = source.read_text(encoding="utf-8").count("aws_managed_policies_data")
        if count:
            readers[str(source.relative_to(Path(moto.__file__).parent))] = count
    assert readers == {"iam/aws_managed_policies.py": 1, "iam/models.py": 4, "ssoadmin/models.py": 2}, moved(
        f"moto reads AWS's managed policy documents elsewhere: {readers}", "the deferred documents"
    )
    creator = inspect.getsource(inspect.unwrap(models.IAMBackend._init_aws_policies))
    for step in ("load_iam_aws_managed_policies()", "json.loads(aws_managed_policies_data)"):
        assert step in creator, moved(
            f"IAMBackend._init_aws_policies no longer has {step}", "the deferred documents"
        )


# -- routing -------------------------------------------------------------------------------------
def test_the_dispatch_the_engine_borrows_from_moto() -> None:
    """The engine asks moto's dispatcher for the services it routes by more than the
    signature's scope, builds moto's Flask app for moto's API alone, and answers as moto's
    Flask wrapper does (the answers are compared in test_moto_routing)."""
    from moto.core.utils import convert_to_flask_response
    from moto.moto_server import werkzeug_app

    dispatcher = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
    for name in ("lock", "get_backend_for_host", "infer_service_region_host"):
        assert hasattr(dispatcher, name), moved(
            f"DomainDispatcherApplication.{name} is gone", "the engine's routing"
        )
    assert werkzeug_app.DEFAULT_SERVICE_REGION == ("s3", "us-east-1"), moved(
        "the default service changed", "the engine's routing"
    )
    source = inspect.getsource(convert_to_flask_response.__call__)
    for step in (
        "normalize_request(",
        "recorder._record_request(request)",
        "self.callback(request, request.raw_url, dict(request.headers))",
        "except ClientError as exc:",
        'response.headers["Content-Length"] = headers["content-length"]',
    ):
        assert step in source, moved(f"moto's Flask wrapper no longer does {step}", "routing.ServiceApp")
    engine = routing.dispatcher()
    routing.ensure_backend_app(engine, "sts")
    assert isinstance(engine.app_instances["sts"], routing.ServiceApp)


def _signed_environ(method: str, path: str, service: str) -> dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    auth = (
        f"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261205/us-west-2/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00"
    )
    return EnvironBuilder(method=method, path=path, headers={"Authorization": auth}).get_environ()


def test_api_gateway_v2_calls_are_served_without_the_rest_api_backend() -> None:
    """v2 paths go to moto's apigatewayv2 app; the REST API's paths still go to apigateway's;
    and the v2 app is one moto would route v2's paths to itself."""
    from moto.apigatewayv2.urls import url_bases as v2_bases
    from moto.apigatewayv2.urls import url_paths as v2_paths
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    engine = routing.dispatcher()
    v2 = engine.get_application(_signed_environ("GET", "/v2/apis", "apigateway"))
    assert v2 is engine.app_instances["apigatewayv2"]
    assert "apigateway" not in engine.app_instances
    assert any(rule.rule.startswith("/v2/apis") for rule in v2.url_map.iter_rules())
    rest = engine.get_application(_signed_environ("GET", "/restapis", "apigateway"))
    assert rest is engine.app_instances["apigateway"] and rest is not v2
    assert engine.get_application(_signed_environ("GET", "/", "sts")) is engine.app_instances["sts"]
    plain = DomainDispatcherApplication(engine.create_app)
    assert plain.get_backend_for_host("apigateway.us-west-2.amazonaws.com") == "apigateway"
    assert "https?://apigateway\\.(.+)\\.amazonaws\\.com" in v2_bases and any(
        "/v2/apis" in p for p in v2_paths
    ), moved("apigatewayv2's URLs changed", "serving API Gateway v2 through its own app")


def test_rest_routers_are_built_per_protocol() -> None:
    from moto.core.routing import get_service_router

    assert callable(getattr(get_service_router("s3"), "_get_router", None)), moved(
        "the service router's _get_router is gone", "the engine's warm-up"
    )
    routing.warm_model("s3")


def test_reset_and_recorder() -> None:
    import moto.moto_api
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data

    assert callable(BackendDict.reset) and callable(reset_model_data)
    assert hasattr(moto.moto_api, "recorder"), moved(
        "moto.moto_api.recorder is gone", "the redacting recorder"
    )


# -- the rest ------------------------------------------------------------------------------------
def test_random_ids() -> None:
    from moto.moto_api._internal import mock_random

    assert callable(getattr(mock_random, "get_random_string", None)), moved(
        "moto.moto_api._internal.mock_random.get_random_string is gone", "Kinesis Video's stream versions"
    )
    value = moto_compat.random_lowercase_id()
    assert value.isalpha() and value.islower()


def test_glue_table_current_version() -> None:
    from moto.glue.models import FakeTable

    table: Any = FakeTable("db", "t", {"StorageDescriptor": {"Location": "s3://b/p"}}, "123456789012")
    assert isinstance(getattr(table, "_current_version", None), int), moved(
        "moto.glue.models.FakeTable._current_version is gone", "Lake Formation's table locations"
    )
    assert moto_compat.current_table_version(table)["StorageDescriptor"]["Location"] == "s3://b/p"


# -- reading backends without creating them ----------------------------------------------------
def test_existing_backends_are_read_without_creating_any() -> None:
    from moto.backends import get_backend

    from emulation.core.moto_compat import existing_backend, existing_backends, existing_regions

    account = "210987654321"
    kinesis_backends = get_backend("kinesis")
    assert existing_backend("kinesis", account, "eu-north-1") is None
    assert existing_regions(kinesis_backends, account) == []
    assert all(found[0] != account for found in existing_backends("kinesis"))
    assert account not in dict.keys(kinesis_backends), moved(
        "looking at a BackendDict with dict's own get/items created an account's backends",
        "reading backends without creating them",
    )
    created = kinesis_backends[account]["eu-north-1"]
    try:
        assert existing_backend(kinesis_backends, account, "eu-north-1") is created
        assert existing_regions("kinesis", account) == [("eu-north-1", created)]
        assert (account, "eu-north-1", created) in existing_backends(kinesis_backends)
    finally:
        dict.pop(kinesis_backends, account)


NOT_IMPORTED_PROBE = """
import json, sys
from emulation.core.moto_compat import existing_backends, existing_regions
from moto.backends import get_backend
before = {"all": existing_backends("kinesis"), "regions": existing_regions("kinesis", "123456789012")}
imported_by_the_look = "moto.kinesis" in sys.modules
get_backend("kinesis")["123456789012"]["eu-north-1"]
print(json.dumps({
    "before": before, "imported": imported_by_the_look,
    "after": [region for _account, region, _backend in existing_backends("kinesis")],
}))
"""


def test_backends_of_a_service_moto_has_not_imported_are_none_without_importing_it() -> None:
    result = subprocess.run(
        [sys.executable, "-c", NOT_IMPORTED_PROBE], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["before"] == {"all": [], "regions": []} and out["imported"] is False
    assert out["after"] == ["eu-north-1"], moved(
        "moto.backends.get_backend no longer imports moto.<ALT_SERVICE_NAMES name>",
        "reading backends of services not imported yet",
    )


def test_s3_bodies_can_live_in_blob_files(tmp_path: Path) -> None:
    """What the S3 row store relies on: ``FakeKey.value`` is a property moto sets from
    ``__init__``, bodies are read through ``_value_buffer`` (seek/read), and the backend's
    changing methods keep their names and leading arguments."""
    from moto.s3.models import FakeKey, S3Backend

    assert isinstance(vars(FakeKey).get("value"), property), moved(
        "moto.s3.models.FakeKey.value is no longer a property", "S3 bodies on disk"
    )
    for name in (*s3._BUCKET_CHANGES, *s3._KEY_CHANGES):
        parameters = list(inspect.signature(getattr(S3Backend, name)).parameters)
        assert parameters[1] in {"bucket_name", "dest_bucket_name"}, moved(
            f"S3Backend.{name} no longer takes the bucket's name first", "S3's rows"
        )
        if name in s3._KEY_CHANGES:
            assert parameters[2] == "key_name", moved(f"S3Backend.{name} lost its key_name", "S3's rows")
    for name, leading in (
        ("copy_object", ["self", "src_key", "dest_bucket_name", "dest_key_name"]),
        ("put_object_tagging", ["self", "key", "tags"]),
        ("delete_objects", ["self", "bucket_name", "objects"]),
    ):
        parameters = list(inspect.signature(getattr(S3Backend, name)).parameters)
        assert parameters[: len(leading)] == leading, moved(f"S3Backend.{name} changed", "S3's rows")
    blob = tmp_path / "ab" / ("ab" + "0" * 62)
    blob.parent.mkdir()
    blob.write_bytes(b"stored body")
    key = FakeKey("k", b"", account_id="123456789012", region_name="us-east-1")
    state = pickling.fake_key_state(key)
    state["contentsize"] = len(b"stored body")
    state["_etag"] = None
    restored = s3.new_stored_key(FakeKey, state, str(tmp_path), blob.name)
    assert restored.value == b"stored body" and restored.size == 11
    assert restored.etag.strip('"') == hashlib.md5(b"stored body").hexdigest(), moved(
        "FakeKey.etag no longer reads the body through _value_buffer", "S3 bodies on disk"
    )
