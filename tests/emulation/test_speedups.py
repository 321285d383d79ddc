"""The engine's start-up speed-ups change no answer moto or botocore gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
print(json.dumps(out))
"""


def _answers(mode: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def test_speedups_give_the_same_regions_partitions_modules_and_models() -> None:
    plain, patched = _answers("plain"), _answers("patched")
    assert patched == plain
    assert "us-west-2" in plain["regions"]["ec2"]  # type: ignore[index]
    assert "PutObject" in plain["s3_operations"]  # type: ignore[operator]


OFFERINGS_PROBE = """
import json, sys
if sys.argv[1] == "patched":
    from emulation.core.moto_compat import speedups
    speedups.install()
import boto3
from moto import mock_aws

out = {}
with mock_aws():
    ec2 = boto3.client("ec2", region_name="us-west-2", aws_access_key_id="a", aws_secret_access_key="b")
    for location_type in ("region", "availability-zone", "availability-zone-id"):
        offers = ec2.describe_instance_type_offerings(LocationType=location_type)["InstanceTypeOfferings"]
        out[location_type] = sorted(json.dumps(o, sort_keys=True) for o in offers)
    out["t3"] = ec2.describe_instance_type_offerings(
        Filters=[{"Name": "instance-type", "Values": ["t3.micro"]}]
    )["InstanceTypeOfferings"]
    ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
        Placement={"AvailabilityZone": "us-west-2a"},
    )
    out["spot"] = len(ec2.describe_spot_price_history()["SpotPriceHistory"])
    out["types"] = sorted(
        json.dumps(t, sort_keys=True) for t in ec2.describe_instance_types()["InstanceTypes"]
    )
    out["m5"] = ec2.describe_instance_types(InstanceTypes=["m5.large"])["InstanceTypes"]
    out["filtered"] = len(ec2.describe_instance_types(
        Filters=[{"Name": "vcpu-info.default-vcpus", "Values": ["2"]}]
    )["InstanceTypes"])
from moto.ec2.models.instance_types import INSTANCE_TYPE_OFFERINGS, INSTANCE_TYPES
out["lazy"] = type(INSTANCE_TYPE_OFFERINGS["region"]).__name__
out["lazy_types"] = type(INSTANCE_TYPES).__name__
print(json.dumps(out))
"""


def test_lazy_instance_type_offerings_answer_as_moto_does() -> None:
    """EC2 offerings and instance types read on first use give the same
    DescribeInstanceTypeOfferings, DescribeInstanceTypes, spot price history and
    RunInstances placement as moto's eager load."""
    answers = {}
    for mode in ("plain", "patched"):
        result = subprocess.run(
            [sys.executable, "-c", OFFERINGS_PROBE, mode],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        answers[mode] = json.loads(result.stdout)
    assert answers["patched"].pop("lazy") == "LazyRegionOfferings"
    assert answers["plain"].pop("lazy") == "dict"
    assert answers["patched"].pop("lazy_types") == "LazyInstanceTypes"
    assert answers["plain"].pop("lazy_types") == "dict"
    assert answers["patched"] == answers["plain"]
    assert answers["plain"]["t3"] and answers["plain"]["availability-zone"]
    assert answers["plain"]["m5"] and answers["plain"]["filtered"] and answers["plain"]["types"]


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
