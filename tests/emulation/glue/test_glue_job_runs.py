"""Glue job runs that really run, driven with the real boto3 glue client."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulation.glue.glue_support import (
    BRONZE,
    BRONZE_TO_SILVER,
    FAILING,
    SILVER,
    SLEEPING,
    TERMINAL,
    create_job,
    log_messages,
    put_script,
    wait_for,
)
from tests.helpers import EngineProcess

EVENTS = [
    {"device_id": "sensor-1", "temperature": "21.5"},
    {"device_id": "sensor-2", "temperature": "22.0"},
    {"device_id": None, "temperature": "99"},
]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def test_bronze_to_silver_job_succeeds(aws: Any) -> None:
    """A pythonshell job reads bronze and writes silver with its role's credentials; its
    output lands in CloudWatch Logs and the run reports its figures."""
    glue, s3, logs = aws("glue"), aws("s3"), aws("logs")
    s3.put_object(Bucket=BRONZE, Key="client/events.jsonl", Body="\n".join(json.dumps(e) for e in EVENTS))
    script = put_script(s3, "bronze_to_silver.py", BRONZE_TO_SILVER)
    create_job(
        glue,
        "bronze-to-silver",
        script,
        DefaultArguments={"--source_bucket": BRONZE, "--target_bucket": SILVER, "--prefix": "wrong/"},
    )
    run_id = glue.start_job_run(JobName="bronze-to-silver", Arguments={"--prefix": "client/"})["JobRunId"]
    first = glue.get_job_run(JobName="bronze-to-silver", RunId=run_id)["JobRun"]["JobRunState"]
    assert first in {"STARTING", "RUNNING"}
    run = wait_for(glue, "bronze-to-silver", run_id, TERMINAL, timeout=60)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert run["Arguments"]["--prefix"] == "client/" and run["Arguments"]["--source_bucket"] == BRONZE
    assert run["MaxCapacity"] == 0.0625
    assert run["CompletedOn"] >= run["StartedOn"]
    assert run["ExecutionTime"] >= 1
    assert "ErrorMessage" not in run
    silver = json.loads(s3.get_object(Bucket=SILVER, Key="client/events.json")["Body"].read())
    assert [event["temperature"] for event in silver] == [21.5, 22.0]
    output = log_messages(logs, "/aws-glue/jobs/output", run_id)
    assert "job bronze-to-silver: read 3 events, wrote 2 to silver" in output
    assert "identity arn:aws:sts::123456789012:assumed-role/nexus-dev-glue/GlueJobRunnerSession" in output
    assert log_messages(logs, "/aws-glue/jobs/error", run_id) == ["dropped 1"]
    runs = glue.get_job_runs(JobName="bronze-to-silver")["JobRuns"]
    assert [r["Id"] for r in runs] == [run_id] and runs[0]["JobRunState"] == "SUCCEEDED"


def test_failing_script_ends_failed_with_the_error(aws: Any) -> None:
    """A script that raises ends FAILED; ErrorMessage is the traceback's last line."""
    glue, s3, logs = aws("glue"), aws("s3"), aws("logs")
    create_job(glue, "failing", put_script(s3, "failing.py", FAILING), "glueetl")
    run_id = glue.start_job_run(JobName="failing")["JobRunId"]
    run = wait_for(glue, "failing", run_id, TERMINAL)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ValueError: bad record in batch 3"
    assert run["MaxCapacity"] == 10.0
    errors = log_messages(logs, "/aws-glue/jobs/error", run_id)
    assert errors[0] == "Traceback (most recent call last):"
    assert errors[-1] == "ValueError: bad record in batch 3"
    assert log_messages(logs, "/aws-glue/jobs/output", run_id) == ["starting"]


def test_sleeping_script_times_out(aws: Any) -> None:
    """A run past its Timeout (minutes, scaled x0.02 in these tests) ends TIMEOUT."""
    glue, s3 = aws("glue"), aws("s3")
    create_job(glue, "sleeper-timeout", put_script(s3, "sleep.py", SLEEPING), Timeout=1)
    run_id = glue.start_job_run(JobName="sleeper-timeout")["JobRunId"]
    run = wait_for(glue, "sleeper-timeout", run_id, TERMINAL)
    assert run["JobRunState"] == "TIMEOUT"
    assert run["Timeout"] == 1
    assert "timed out" in run["ErrorMessage"]


def test_timeout_seconds_argument(aws: Any) -> None:
    """--nexuskit-timeout-seconds overrides the Timeout for one run."""
    glue, s3 = aws("glue"), aws("s3")
    create_job(glue, "sleeper-override", put_script(s3, "sleep.py", SLEEPING))
    started = time.monotonic()
    run_id = glue.start_job_run(JobName="sleeper-override", Arguments={"--nexuskit-timeout-seconds": "0.5"})[
        "JobRunId"
    ]
    run = wait_for(glue, "sleeper-override", run_id, TERMINAL)
    assert run["JobRunState"] == "TIMEOUT" and time.monotonic() - started < 10
    assert run["ErrorMessage"] == "Job run timed out after 0.5 seconds (Timeout)"


def test_stopped_run_and_max_concurrent_runs(aws: Any) -> None:
    """MaxConcurrentRuns=1 refuses a second run; BatchStopJobRun stops the first (STOPPED),
    after which a new run is accepted."""
    glue, s3 = aws("glue"), aws("s3")
    script = put_script(s3, "sleep.py", SLEEPING)
    create_job(glue, "single", script, ExecutionProperty={"MaxConcurrentRuns": 1})
    first = glue.start_job_run(JobName="single")["JobRunId"]
    with pytest.raises(ClientError) as excinfo:
        glue.start_job_run(JobName="single")
    error = excinfo.value.response["Error"]
    assert error["Code"] == "ConcurrentRunsExceededException"
    assert error["Message"] == "Concurrent runs exceeded for single"
    wait_for(glue, "single", first, {"RUNNING"})
    stopped = glue.batch_stop_job_run(JobName="single", JobRunIds=[first, "jr_unknown"])
    assert stopped["SuccessfulSubmissions"] == [{"JobName": "single", "JobRunId": first}]
    assert stopped["Errors"][0]["JobRunId"] == "jr_unknown"
    assert stopped["Errors"][0]["ErrorDetail"]["ErrorCode"] == "EntityNotFoundException"
    run = wait_for(glue, "single", first, TERMINAL)
    assert run["JobRunState"] == "STOPPED"
    second = glue.start_job_run(JobName="single")["JobRunId"]
    glue.batch_stop_job_run(JobName="single", JobRunIds=[second])
    assert wait_for(glue, "single", second, TERMINAL)["JobRunState"] == "STOPPED"
    again = glue.batch_stop_job_run(JobName="single", JobRunIds=[second])
    assert again["Errors"][0]["ErrorDetail"]["ErrorCode"] == "InvalidInputException"


def test_missing_script_fails_the_run(aws: Any) -> None:
    """A ScriptLocation that does not exist ends the run FAILED, saying so."""
    glue = aws("glue")
    create_job(glue, "no-script", "s3://nexus-dev-glue-scripts-us-west-2/missing.py")
    run_id = glue.start_job_run(JobName="no-script")["JobRunId"]
    run = wait_for(glue, "no-script", run_id, TERMINAL)
    assert run["JobRunState"] == "FAILED"
    assert "missing.py" in run["ErrorMessage"] and "does not exist" in run["ErrorMessage"]


def test_unknown_job_is_moto_s_error(aws: Any) -> None:
    """StartJobRun of a job that does not exist is EntityNotFoundException."""
    with pytest.raises(ClientError) as excinfo:
        aws("glue").start_job_run(JobName="nobody")
    assert excinfo.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_reset_kills_running_processes(aws: Any, engine: EngineProcess, tmp_path: Path) -> None:
    """Resetting the engine kills the runs' processes (nothing leaks)."""
    glue, s3 = aws("glue"), aws("s3")
    pid_file = tmp_path / "pid"
    create_job(glue, "reset-victim", put_script(s3, "sleep.py", SLEEPING))
    glue.start_job_run(JobName="reset-victim", Arguments={"--pid_file": str(pid_file)})
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    assert _alive(pid)
    engine.reset()
    assert _wait_gone(pid)


def _start_victim(engine: EngineProcess, pid_file: Path) -> tuple[Any, str, int]:
    """A sleeping run on a fresh engine: (glue client, run id, the script's pid)."""
    target = engine.target()
    s3, glue = target.client("s3"), target.client("glue", max_attempts=0)
    s3.create_bucket(Bucket="scripts", CreateBucketConfiguration={"LocationConstraint": target.region})
    s3.put_object(Bucket="scripts", Key="sleep.py", Body=SLEEPING)
    command = {"Name": "pythonshell", "ScriptLocation": "s3://scripts/sleep.py"}
    glue.create_job(Name="victim", Role="r", Command=command)
    run_id = glue.start_job_run(JobName="victim", Arguments={"--pid_file": str(pid_file)})["JobRunId"]
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return glue, run_id, int(pid_file.read_text())


def test_engine_stop_ends_runs(engine_factory: Any, tmp_path: Path) -> None:
    """Stopping the engine kills the runs' processes; after a restart the run is FAILED."""
    engine = engine_factory("--extensions", "glue")
    _, run_id, pid = _start_victim(engine, tmp_path / "pid")
    engine.stop()
    assert _wait_gone(pid)
    engine.start()
    glue = engine.target().client("glue")
    run = glue.get_job_run(JobName="victim", RunId=run_id)["JobRun"]
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "the nexuskit engine stopped during the run"


def test_engine_crash_ends_runs(engine_factory: Any, tmp_path: Path) -> None:
    """A killed engine's job processes end too (they watch it), and the restarted engine
    reports the interrupted run FAILED."""
    engine = engine_factory("--extensions", "glue")
    glue, run_id, pid = _start_victim(engine, tmp_path / "pid")
    wait_for(glue, "victim", run_id, {"RUNNING"})
    engine.snapshot()
    engine.kill9()
    assert _wait_gone(pid)
    engine.start()
    run = engine.target().client("glue").get_job_run(JobName="victim", RunId=run_id)["JobRun"]
    assert (run["JobRunState"], run["ErrorMessage"]) == (
        "FAILED",
        "the nexuskit engine stopped during the run",
    )
