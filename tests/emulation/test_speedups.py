"""The engine's start-up speed-ups change no answer moto or botocore gives."""

from __future__ import annotations

import json
import subprocess
import sys

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
    from emulation.core import speedups
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
