"""`lake query` over silver, and every `nexuskit lake` command with --json (real CLI processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexuskit.lake import sample
from nexuskit.lake.access import Lake
from nexuskit.lake.errors import LakeNotFoundError, QueryError
from nexuskit.lake.query import run_query
from nexuskit.lake.tiers import promote
from tests.helpers import EngineProcess
from tests.lake.conftest import lake_files, new_lake, params_file, put_bronze

N = 500


@pytest.fixture(scope="module")
def promoted(lake_engine: EngineProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    lake = new_lake(lake_engine, tmp_path_factory.mktemp("cache"))
    put_bronze(lake, sample.encode(sample.iter_records(N, interval_s=10)) + sample.anomalies()[0].line)
    promote(lake, to="vibranium")
    yield lake


def test_lake_query_answers_sql_over_silver(promoted: Lake) -> None:
    """SQL over silver.telemetry joined with silver.event answers from the committed Parquet."""
    result = run_query(
        promoted,
        "SELECT (SELECT count(*) FROM silver.telemetry) + (SELECT count(*) FROM silver.event) "
        "+ (SELECT count(*) FROM silver.sensor) AS n, (SELECT max(date) FROM silver.telemetry) AS day",
    )
    assert result.records() == [{"n": N, "day": "2026-11-26"}]
    assert set(result.tables) == {"silver.telemetry", "silver.event", "silver.sensor"}


def test_query_of_unknown_table_says_so(promoted: Lake) -> None:
    """A query naming no lake table, or an unknown one, fails with a clear error."""
    with pytest.raises(QueryError, match="names no lake table"):
        run_query(promoted, "SELECT 1")
    with pytest.raises(LakeNotFoundError, match=r"unknown table silver\.nope"):
        run_query(promoted, "SELECT * FROM silver.nope")


@pytest.fixture(scope="module")
def cli(promoted: Lake, lake_engine: EngineProcess, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``cli("ls")``: run ``nexuskit lake ...`` against the promoted lake; (exit code, JSON)."""
    params = params_file(promoted, tmp_path_factory.mktemp("params"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["NEXUSKIT_PARAMS_FILE"] = str(params)

    def run(*args: str, lake_dir: Path | None = None) -> tuple[int, Any, str]:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "nexuskit.cli",
                "lake",
                *args,
                "--json",
                "--port",
                str(lake_engine.port),
                "--state-dir",
                str(lake_engine.state_dir),
            ],
            capture_output=True,
            text=True,
            env={**env, **({"NEXUSKIT_LAKE_DIR": str(lake_dir)} if lake_dir else {})},
            timeout=120,
            check=False,
        )
        data = json.loads(done.stdout) if done.returncode == 0 else None
        return done.returncode, data, done.stderr

    return run


def test_cli_ls_json(cli: Any) -> None:
    """`lake ls --json` lists the tiers; `lake ls silver.telemetry --json` the committed files."""
    code, data, err = cli("ls")
    assert code == 0, err
    assert [t["tier"] for t in data["tiers"]] == ["bronze", "silver", "gold", "vibranium"]
    code, data, err = cli("ls", "silver.telemetry")
    assert code == 0, err
    assert data["files"] == 1 and data["objects"][0]["key"].startswith("telemetry/date=2026-11-26/")


def test_cli_query_json(cli: Any) -> None:
    """`lake query --json` returns columns and rows."""
    code, data, err = cli("query", "SELECT count(*) AS n FROM silver.quarantine")
    assert code == 0, err
    assert data["rows"] == [{"n": 1}]


def test_cli_inspect_json(cli: Any, promoted: Lake) -> None:
    """`lake inspect --json` decodes bronze JSON lines and silver Parquet with its schema."""
    bronze = next(iter(promoted.store.list_objects(promoted.bucket("bronze"))))
    code, data, err = cli("inspect", f"bronze/{bronze.key}", "--limit", "3")
    assert code == 0, err
    assert data["format"] == "gzip json lines" and data["total_rows"] == N + 1 and len(data["rows"]) == 3
    code, listing, _ = cli("ls", "silver.telemetry")
    code, data, err = cli("inspect", f"silver:{listing['objects'][0]['key']}", "--limit", "2")
    assert code == 0, err
    assert data["format"] == "parquet" and data["schema"][0] == {"name": "id", "type": "string"}


def test_cli_stats_grants_and_promote_json(cli: Any) -> None:
    """`lake stats`, `lake grants` and a second `lake promote` (nothing new) answer JSON."""
    code, data, err = cli("stats")
    assert code == 0, err
    assert {t["tier"]: t["objects"] for t in data["tiers"]}["bronze"] == 1
    code, data, err = cli("grants")
    assert code == 0, err
    assert {r["name"] for r in data["principals"]} >= {"admin", "agent_irsa", "kinesis_bearer"}
    code, data, err = cli("promote")
    assert code == 0, err
    assert data["wrote_anything"] is False


def test_cli_denial_is_one_line_and_nonzero(cli: Any) -> None:
    """Acting as the bearer role, `lake query` exits non-zero with a one-line denial."""
    code, _data, err = cli("query", "SELECT count(*) FROM silver.telemetry", "--as", "kinesis_bearer")
    assert code == 3
    assert "may not read silver.telemetry" in err


def test_cli_datasets_and_compact_json(cli: Any) -> None:
    """`lake datasets --json` shows each dataset file's state; `lake compact --json` has nothing to merge."""
    code, data, err = cli("datasets")
    assert code == 0, err
    assert {d["name"]: d["state"] for d in data["datasets"]} == {
        "event": "stored",
        "sensor": "stored",
        "telemetry": "stored",
    }
    code, data, err = cli("compact")
    assert code == 0, err
    assert data["skipped"] is True


def test_cli_wrong_dataset_file_is_one_line_naming_file_and_field(cli: Any, tmp_path: Path) -> None:
    """A broken dataset file makes `lake promote` exit 2 with one error line naming the file and the field."""
    folder = lake_files(
        tmp_path / "lake", {"datasets/broken.yaml": "name: broken\nfields:\n  ts: {type: when}\n"}
    )
    code, _data, err = cli("promote", lake_dir=folder)
    assert code == 2
    error, hint = err.strip().splitlines()
    assert error.startswith(
        f"error: {folder / 'datasets' / 'broken.yaml'}: fields.ts.type: must be one of string"
    )
    assert hint.strip().startswith("hint:")


def test_cli_promote_and_stats_list_skipped_objects(cli: Any, promoted: Lake) -> None:
    """An object that is not JSON is listed under `skipped` by `lake promote --json` and `lake stats`."""
    s3 = promoted.client("s3")
    s3.put_object(Bucket=promoted.bucket("bronze"), Key="uploads/devices.csv", Body=b"id,lat\n1,2\n")
    code, data, err = cli("promote")
    assert code == 0, err
    assert [(o["key"], o["reason"][:8]) for o in data["skipped"]] == [("uploads/devices.csv", "not JSON")]
    code, data, err = cli("stats")
    assert code == 0, err
    bronze = next(t for t in data["tiers"] if t["tier"] == "bronze")
    assert bronze["skipped"] == 1 and bronze["skipped_objects"][0]["key"] == "uploads/devices.csv"
