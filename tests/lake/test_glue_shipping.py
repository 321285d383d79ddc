"""The jobs as Glue jobs: promote through real job runs, and the code that ships to Glue."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from emulation.extensions import REGISTRY
from nexuskit.lake import sample
from nexuskit.lake.access import Lake
from nexuskit.lake.glue import MEDALLION_DIR, build_wheel
from nexuskit.lake.query import run_query
from nexuskit.lake.tiers import promote
from tests.lake.conftest import put_bronze


@pytest.mark.skipif(
    "glue" not in REGISTRY, reason="the engine has no Glue job-runs extension (emulation/glue)"
)
def test_promote_through_glue_job_runs(lake: Lake) -> None:
    """`promote --glue` deploys the three jobs and runs them as Glue job runs (StartJobRun/GetJobRun)."""
    put_bronze(lake, sample.encode(sample.iter_records(300, interval_s=10)))
    report = promote(lake, to="vibranium", glue=True, threshold=0.5)
    assert [s["glue_state"] for s in report.steps] == ["SUCCEEDED"] * 3
    assert all(s["glue_job_run_id"].startswith("jr_") for s in report.steps)
    assert report.steps[0]["records"] == 300
    assert run_query(lake, "SELECT count(*) FROM gold.device_hourly").rows[0][0] > 0
    again = promote(lake, to="vibranium", glue=True, threshold=0.5)
    assert all(s["skipped"] for s in again.steps)


def test_job_code_parses_as_python_39() -> None:
    """Every file that ships to Glue (Python shell 3.9) is valid Python 3.9 syntax."""
    files = sorted(MEDALLION_DIR.glob("*.py")) + sorted((MEDALLION_DIR / "lib").glob("*.py"))
    newer = re.compile(r"from datetime import .*\bUTC\b|datetime\.UTC\b|strict=|isinstance\([^)]*\|")
    for path in files:
        text = path.read_text()
        ast.parse(text, filename=str(path), feature_version=(3, 9))
        assert not newer.search(text), f"{path.name} uses a 3.10+ feature: {newer.search(text)}"
    assert len(files) >= 14


def test_wheel_alone_provides_the_job_library(tmp_path: Path) -> None:
    """With only the shipped wheel on the path (no checkout), the job scripts import and parse arguments."""
    wheel = tmp_path / "nexus_medallion.whl"
    wheel.write_bytes(build_wheel())
    assert "services/medallion/lib/silver.py" in zipfile.ZipFile(wheel).namelist()
    code = (
        "import sys\n"
        "sys.meta_path = [f for f in sys.meta_path if 'editable' not in repr(f)]\n"
        f"sys.path = [p for p in sys.path if p and p.rstrip('/') != {str(MEDALLION_DIR.parents[1])!r}]\n"
        f"sys.path.insert(0, {str(wheel)!r})\n"
        "import services.medallion.lib.silver as silver, services.medallion.lib.job as job\n"
        "assert silver.__file__.startswith(" + repr(str(wheel)) + "), silver.__file__\n"
        "args = job.resolved_options(['x', '--bronze_bucket', 'b', '--silver_bucket', 's',"
        " '--gold_bucket', 'g',"
        " '--vibranium_bucket', 'v', '--catalog_prefix', '-', '--client_prefix', 'client/',"
        " '--confidence_threshold', '0.8', '--code_version', 'c'], job.JOB_ARGUMENTS)\n"
        "print(job.silver_config(args).bronze_bucket)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "b"


def test_build_assets_names_every_file_terraform_uploads(tmp_path: Path) -> None:
    """`build_assets` writes the three scripts, the wheel and the dataset files, and a var file
    naming each with its S3 key and SHA-256; a second build gives the same bytes and hashes."""
    import hashlib
    import json

    from nexuskit.lake.glue import SCRIPTS, WHEEL_NAME, build_assets

    first = build_assets(tmp_path / "a")
    second = build_assets(tmp_path / "b")
    doc = json.loads(first.var_file.read_text())["medallion_glue_assets"]
    assert set(doc["scripts"]) == set(SCRIPTS)
    assert doc["library"]["key"] == f"medallion/{WHEEL_NAME}"
    assert doc["config"]["key"].startswith("medallion/lake-config-")
    for item in [*doc["scripts"].values(), doc["library"], doc["config"]]:
        assert hashlib.sha256(Path(item["path"]).read_bytes()).hexdigest() == item["sha256"]
    other = json.loads(second.var_file.read_text())["medallion_glue_assets"]
    assert [i["sha256"] for i in other["scripts"].values()] == [i["sha256"] for i in doc["scripts"].values()]
    assert other["library"]["sha256"] == doc["library"]["sha256"]
    assert other["config"]["sha256"] == doc["config"]["sha256"]
