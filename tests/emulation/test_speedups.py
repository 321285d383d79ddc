"""The engine's start-up speed-ups change no answer moto or botocore gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROBE = """
import json, sys
import boto3
from moto.backends import list_of_moto_modules
from moto.core.utils import get_service_model

def answers():
    session = boto3.session.Session()
    return {
        "regions": {s: sorted(session.get_available_regions(s)) for s in ("ec2", "kinesis", "eks", "s3")},
        "cn": sorted(session.get_available_regions("ec2", "aws-cn")),
        "partitions": sorted(session.get_available_partitions()),
        "modules": sorted(list_of_moto_modules()),
    }

if sys.argv[1] == "patched":
    from emulation.core.moto_compat import speedups
    speedups.install()
    speedups.install()  # idempotent
out = answers()
out["s3_operations"] = sorted(get_service_model("s3").operation_names)
from moto.backends import get_backend
out["backend_regions"] = {s: get_backend(s)["123456789012"].regions for s in ("kinesis", "s3", "iam")}
from moto.eks.utils import validate_role_arn
validate_role_arn("arn:aws-cn:iam::123456789012:role/node")
try:
    validate_role_arn("arn:aws-moon:iam::123456789012:role/node")
    out["eks_unknown_partition"] = "accepted"
except Exception as exc:
    out["eks_unknown_partition"] = type(exc).__name__
print(json.dumps(out))
"""


def _probe(code: str, *args: str, env: dict[str, str] | None = None) -> Any:
    """The JSON ``code`` prints, run by a fresh interpreter with ``args``."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def _answers(mode: str) -> dict[str, object]:
    doc: dict[str, object] = _probe(PROBE, mode)
    return doc


def test_speedups_give_the_same_regions_partitions_modules_and_models() -> None:
    plain, patched = _answers("plain"), _answers("patched")
    assert patched == plain
    assert "us-west-2" in plain["regions"]["ec2"]  # type: ignore[index]
    assert "PutObject" in plain["s3_operations"]  # type: ignore[operator]
    assert "us-west-2" in plain["backend_regions"]["kinesis"]  # type: ignore[index]
    assert plain["eks_unknown_partition"] == "InvalidParameterException"


OFFERINGS_PROBE = """
import json, sys
if sys.argv[1] == "patched":
    from emulation.core.moto_compat import speedups
    speedups.install()
import boto3
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

def listed(items):
    return sorted(json.dumps(item, sort_keys=True, default=str) for item in items)

out = {}
with mock_aws():
    ec2 = boto3.client("ec2", region_name="us-west-2", aws_access_key_id="a", aws_secret_access_key="b")
    out["t3"] = ec2.describe_instance_type_offerings(
        Filters=[{"Name": "instance-type", "Values": ["t3.micro"]}]
    )["InstanceTypeOfferings"]
    ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
        Placement={"AvailabilityZone": "us-west-2a"},
    )
    out["m5"] = ec2.describe_instance_types(InstanceTypes=["m5.large"])["InstanceTypes"]
    # The long lists (thousands of offerings, every instance type, the spot prices) from the
    # backend the API answers from: moto's serializer and botocore's parser, the same code
    # either way, took four fifths of the run through the client.
    from moto.ec2.models import ec2_backends
    backend = ec2_backends[DEFAULT_ACCOUNT_ID]["us-west-2"]
    for location_type in ("region", "availability-zone", "availability-zone-id"):
        out[location_type] = listed(backend.describe_instance_type_offerings(location_type=location_type))
    out["spot"] = listed(backend.describe_spot_price_history(filters={}))
    out["types"] = listed(backend.describe_instance_types())
    out["filtered"] = len(backend.describe_instance_types(filters={"vcpu-info.default-vcpus": ["2"]}))
from moto.ec2.models.instance_types import INSTANCE_FAMILIES, INSTANCE_TYPE_OFFERINGS, INSTANCE_TYPES
out["families"] = sorted(INSTANCE_FAMILIES)
out["lazy"] = type(INSTANCE_TYPE_OFFERINGS["region"]).__name__
out["lazy_types"] = type(INSTANCE_TYPES).__name__
print(json.dumps(out))
"""


def test_lazy_instance_type_offerings_answer_as_moto_does() -> None:
    """EC2 offerings and instance types read on first use give the same
    DescribeInstanceTypeOfferings, DescribeInstanceTypes, spot price history, RunInstances
    placement and instance families (listed from the names kept on disk) as moto's eager
    load."""
    answers = {mode: _probe(OFFERINGS_PROBE, mode) for mode in ("plain", "patched")}
    assert answers["patched"].pop("lazy") == "LazyRegionOfferings"
    assert answers["plain"].pop("lazy") == "dict"
    assert answers["patched"].pop("lazy_types") == "LazyInstanceTypes"
    assert answers["plain"].pop("lazy_types") == "dict"
    assert answers["patched"] == answers["plain"]
    assert answers["plain"]["t3"] and answers["plain"]["availability-zone"] and answers["plain"]["spot"]
    assert answers["plain"]["m5"] and answers["plain"]["filtered"] and answers["plain"]["types"]
    assert "m5" in answers["plain"]["families"]


_LOAD_STS = """
from emulation.core.moto_compat import speedups
speedups.install()
from moto.core.utils import get_service_model
print(get_service_model("sts").operation_names[0])
"""


def test_the_engine_reads_models_through_the_cache_on_disk(tmp_path: Path) -> None:
    """moto's models come from the marshal cache once one run has parsed them; a broken
    cache file is parsed again; NEXUSKIT_MODEL_CACHE=0 writes nothing."""
    from emulation.modelcache import MODEL_CACHE_ENV

    def run(cache_home: Path, **env: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", _LOAD_STS],
            env={**os.environ, "XDG_CACHE_HOME": str(cache_home), **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    first = run(tmp_path / "on")
    stored = list((tmp_path / "on").rglob("*.marshal"))
    assert first and stored
    for path in stored:
        path.write_bytes(b"not marshal")
    assert run(tmp_path / "on") == first
    assert run(tmp_path / "off", **{MODEL_CACHE_ENV: "0"}) == first
    assert not (tmp_path / "off").exists()


_BUILDERS = """
import json, sys
if sys.argv[1] == "patched":
    from emulation.core.moto_compat import speedups
    speedups.install()
from werkzeug.routing import Map, Rule

rules = Map(
    [
        Rule("/a/<int:x>/<path:rest>", endpoint="a"),
        Rule("/b/", endpoint="b", defaults={"page": 1}),
        Rule("/b/page/<int:page>", endpoint="b"),
        Rule("/<bucket>/<path:key>", endpoint="obj", methods=["GET", "PUT"]),
    ]
)
urls = rules.bind("example.com")
lazy = [rule._build.__func__.__qualname__ for rule in rules.iter_rules()]
print(json.dumps({
    "built": [
        urls.build("a", {"x": 3, "rest": "q/r", "extra": "z ü"}),
        urls.build("b", {"page": 1}),
        urls.build("b", {"page": 2}),
        urls.build("obj", {"bucket": "bk", "key": "a b/c"}, method="PUT", force_external=True),
    ],
    "matched": list(urls.match("/a/4/x/y")),
    "lazy": all("_compile_builder" in name for name in lazy),
}))
"""


def test_url_builders_compiled_on_first_use_build_what_werkzeug_builds() -> None:
    """werkzeug's URL builders, compiled when first called, build the same URLs (defaults,
    converters, unknown arguments as a query) and matching is unchanged."""
    answers = {}
    for mode in ("plain", "patched"):
        result = subprocess.run(
            [sys.executable, "-c", _BUILDERS, mode], capture_output=True, text=True, check=False, timeout=120
        )
        assert result.returncode == 0, result.stderr
        answers[mode] = json.loads(result.stdout)
    assert answers["patched"].pop("lazy") is True
    assert answers["plain"].pop("lazy") is False
    assert answers["patched"] == answers["plain"]
    assert answers["plain"]["built"][0] == "/a/3/q/r?extra=z+%C3%BC"


def test_kms_key_pairs_of_symmetric_keys_are_made_on_first_use() -> None:
    """A symmetric or HMAC key's RSA pair (which moto makes for every key) is made when
    first used and survives a snapshot either way; RSA and ECC keys get theirs at once."""
    import io
    import pickle

    from emulation.core import persistence
    from emulation.core.moto_compat import speedups

    speedups.install()
    from moto.kms.models import KmsBackend

    backend = KmsBackend("us-west-2", "123456789012")

    def create(spec: str, usage: str) -> object:
        key = backend.create_key(policy=None, key_usage=usage, key_spec=spec, description="t", tags=None)
        return key.private_key  # type: ignore[attr-defined]

    def through_a_snapshot(value: object) -> object:
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer)
        pickler.dispatch_table = persistence._base_dispatch_table()  # type: ignore[attr-defined]
        pickler.dump(value)
        return pickle.loads(buffer.getvalue())

    symmetric = create("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    hmac = create("HMAC_256", "GENERATE_VERIFY_MAC")
    assert isinstance(symmetric, speedups.DeferredKeyPair) and not symmetric.made()
    assert isinstance(hmac, speedups.DeferredKeyPair) and not hmac.made()
    restored = through_a_snapshot(symmetric)
    assert isinstance(restored, speedups.DeferredKeyPair) and not restored.made()

    public = symmetric.public_key()  # type: ignore[attr-defined]
    assert symmetric.made() and public == symmetric.public_key()  # type: ignore[attr-defined]
    kept = through_a_snapshot(symmetric)
    assert type(kept).__name__ == "RSAPrivateKey" and kept.public_key() == public  # type: ignore[attr-defined]

    for spec, usage in (("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_P256", "SIGN_VERIFY")):
        assert not isinstance(create(spec, usage), speedups.DeferredKeyPair)


def test_the_service_list_is_kept_with_the_models(tmp_path: Path, monkeypatch: Any) -> None:
    """botocore's list of services (and moto's loader's, which searches moto's package too)
    is read from the cache once a loader has listed it, equals botocore's own, and a data
    path of the user's is still listed as botocore does."""
    import botocore.loaders

    from emulation.modelcache import use_model_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(botocore.loaders.Loader, "CUSTOMER_DATA_PATH", str(tmp_path / "none"))
    plain = botocore.loaders.create_loader().list_available_services("service-2")
    assert use_model_cache(botocore.loaders.create_loader()).list_available_services("service-2") == plain

    def no_listing(path: str) -> list[str]:
        raise AssertionError(f"listed {path}")

    with monkeypatch.context() as listing_fails:
        listing_fails.setattr(os, "listdir", no_listing)
        second = use_model_cache(botocore.loaders.create_loader())
        assert second.list_available_services("service-2") == plain

    # moto's loader searches moto's package as well (its extra models): kept too
    from moto.core.loaders import create_loader as moto_loader

    with_moto = moto_loader().list_available_services("service-2")
    assert use_model_cache(moto_loader()).list_available_services("service-2") == with_moto
    with monkeypatch.context() as listing_fails:
        listing_fails.setattr(os, "listdir", no_listing)
        assert use_model_cache(moto_loader()).list_available_services("service-2") == with_moto

    own = tmp_path / "models" / "nexusown" / "2024-01-01"
    own.mkdir(parents=True)
    (own / "service-2.json").write_text("{}")
    mine = use_model_cache(botocore.loaders.create_loader(str(tmp_path / "models")))
    assert mine.list_available_services("service-2") == sorted([*plain, "nexusown"])


def test_request_ids_are_drawn_at_once_from_motos_seedable_generator() -> None:
    import re

    import moto.core.responses as moto_responses
    from moto.moto_api._internal import mock_random

    from emulation.core.moto_compat import speedups

    speedups.install()
    make = moto_responses.gen_amzn_requestid_long
    headers: dict[str, str] = {}
    first = make(headers)
    assert re.fullmatch(r"[A-Za-z0-9]{52}", first) and headers == {"x-amzn-requestid": first}
    assert make() != first
    mock_random.seed(7)
    seeded = make()
    mock_random.seed(7)
    assert make() == seeded  # moto's seed (POST /moto-api/seed) still makes ids reproducible
    mock_random.seed()


def test_s3_addressing_is_worked_out_once_per_request_and_again_when_it_changes() -> None:
    from emulation.core.request import AwsRequest
    from emulation.iam.actions import s3_addressing

    request = AwsRequest(
        environ={},
        method="GET",
        path="/photos/cat.jpg",
        query_string="",
        headers={"host": "127.0.0.1:4566"},
        body=b"",
    )
    assert s3_addressing(request) == ("photos", "cat.jpg", False)
    assert s3_addressing(request) is s3_addressing(request)
    request.headers["host"] = "photos.s3.amazonaws.com"
    request.path = "/dog.jpg"
    assert s3_addressing(request) == ("photos", "dog.jpg", True)


_REGIONS = """
import json, sys
from emulation.core.moto_compat import deferred, speedups
if sys.argv[1] == "patched":
    speedups.install()
from moto.backends import get_backend
regions = {s: sorted(get_backend(s)["123456789012"].regions) for s in ("s3", "kinesis", "iam")}
print(json.dumps({"regions": regions, "session": deferred.is_loaded("botocore.session")}))
"""


def test_region_lookups_are_kept_on_disk_and_need_no_session_then(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}

    def run(mode: str) -> Any:
        return _probe(_REGIONS, mode, env=env)

    first, second = run("patched"), run("patched")
    assert first["session"] is True  # nothing kept yet: a botocore session answered
    assert second["session"] is False  # kept: answered without one
    assert second["regions"] == first["regions"]
    assert run("plain")["regions"] == first["regions"]  # moto's own answers
    assert "us-west-2" in first["regions"]["kinesis"]


AUTH_PROBE = """
import json, sys
if sys.argv[1] == "patched":
    from emulation.core.moto_compat import speedups
    speedups.install()
import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

out = []
with mock_aws():
    keys = {"aws_access_key_id": "AKIANOTAKNOWNKEY0000", "aws_secret_access_key": "x" * 40}
    s3 = boto3.client("s3", region_name="us-east-1", **keys)
    sqs = boto3.client("sqs", region_name="us-east-1", **keys)
    for call in (s3.list_buckets, sqs.list_queues, s3.list_buckets, sqs.list_queues):
        try:
            call()
            out.append("answered")
        except ClientError as exc:
            out.append(exc.response["Error"]["Code"])
out.append("moto.iam.access_control" in sys.modules)
print(json.dumps(out))
"""


@pytest.mark.parametrize("count", ["2", "inf"])
def test_moto_checks_requests_exactly_as_before_when_its_checks_are_on(count: str) -> None:
    """moto's IAM checks after INITIAL_NO_AUTH_ACTION_COUNT requests, S3's and the others'
    alike; with them off (the engine's way) its access control is never imported."""
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": count}
    plain, patched = (_probe(AUTH_PROBE, mode, env=env) for mode in ("plain", "patched"))
    assert patched[:4] == plain[:4]
    if count == "2":
        assert plain[:2] == ["answered", "answered"] and "answered" not in plain[2:4]
        assert patched[4] is True
    else:
        assert plain[:4] == ["answered"] * 4
        assert patched[4] is False


MANAGED_POLICIES_PROBE = """
import json, sys
if sys.argv[1] == "patched":
    from emulation.core.moto_compat import deferred, speedups
    speedups.install()
import boto3
from moto import mock_aws

with mock_aws():
    iam = boto3.client("iam", region_name="us-east-1")
    listed = iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"]
    out = {"listed": len(listed), "documents": {}}
    for policy in listed[:: max(1, len(listed) // 25)]:
        version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
        out["documents"][policy["Arn"]] = version["PolicyVersion"]["Document"]
if sys.argv[1] == "patched":
    out["loaded"] = deferred.is_loaded("moto.iam.aws_managed_policies")
import moto.ssoadmin.models as sso  # the other reader: given the text as it is imported
out["sso"] = len(json.loads(sso.aws_managed_policies_data))
print(json.dumps(out, sort_keys=True))
"""


@pytest.mark.parametrize("load", ["true", "false"])
def test_motos_managed_policies_are_there_as_before_when_it_loads_them(load: str) -> None:
    """moto's IAM reads AWS's managed policy documents only when told to load them: then
    its backends have every one, as before; otherwise the 4.7 MB text is never read."""
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": load}
    plain, patched = (_probe(MANAGED_POLICIES_PROBE, mode, env=env) for mode in ("plain", "patched"))
    assert patched.pop("loaded") is (load == "true")
    assert patched == plain
    assert plain["sso"] > 1000
    if load == "true":
        assert plain["listed"] == 1000 and len(plain["documents"]) >= 25
        assert all(document["Statement"] for document in plain["documents"].values())
    else:
        assert plain["listed"] == 0 and plain["documents"] == {}


EVENTS_PROBE = """
import json, sys
if sys.argv[1] == "patched":
    from emulation.core.moto_compat import deferred, speedups
    speedups.install()
import boto3
from moto import mock_aws

with mock_aws():
    s3, events, sqs = (boto3.client(name, region_name="us-east-1") for name in ("s3", "events", "sqs"))
    before = sys.argv[1] == "patched" and deferred.is_loaded("moto.events")
    s3.create_bucket(Bucket="probe-events")
    queue = sqs.create_queue(QueueName="probe-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="objects", EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule="objects", Targets=[{"Id": "queue", "Arn": arn}])
    s3.put_bucket_notification_configuration(
        Bucket="probe-events", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_object(Bucket="probe-events", Key="k", Body=b"x")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    kinds = sorted(json.loads(m["Body"])["detail-type"] for m in messages)
print(json.dumps({"kinds": kinds, "loaded_before": before}))
"""


def test_s3_events_reach_eventbridge_as_before_with_eventbridge_deferred() -> None:
    """moto's EventBridge runs when S3 first needs it (moto's S3 takes only its
    notification function at import); the events S3 sends arrive as before."""
    plain, patched = (_probe(EVENTS_PROBE, mode) for mode in ("plain", "patched"))
    assert patched == {"kinds": plain["kinds"], "loaded_before": False}
    assert "Object Created" in plain["kinds"]
