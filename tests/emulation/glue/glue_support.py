"""Helpers shared by the Glue job-run tests: job scripts, jobs, waiting for states."""

from __future__ import annotations

import time
from typing import Any

SCRIPTS_BUCKET = "nexus-dev-glue-scripts-us-west-2"
BRONZE = "nexus-dev-bronze-us-west-2"
SILVER = "nexus-dev-silver-us-west-2"
ROLE = "nexus-dev-glue"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR"}

BRONZE_TO_SILVER = b"""
import json
import sys

import boto3
from awsglue.utils import getResolvedOptions

args = getResolvedOptions(sys.argv, ["JOB_NAME", "source_bucket", "target_bucket", "prefix"])
s3 = boto3.client("s3")
print("identity", boto3.client("sts").get_caller_identity()["Arn"])
body = s3.get_object(Bucket=args["source_bucket"], Key=args["prefix"] + "events.jsonl")["Body"].read()
events = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
clean = [dict(event, temperature=float(event["temperature"])) for event in events if event.get("device_id")]
s3.put_object(Bucket=args["target_bucket"], Key=args["prefix"] + "events.json", Body=json.dumps(clean))
print(f"job {args['JOB_NAME']}: read {len(events)} events, wrote {len(clean)} to silver")
print("dropped", len(events) - len(clean), file=sys.stderr)
"""

FAILING = b"""
import sys
print("starting")
records = [1, 2, 3]
def check(batch):
    raise ValueError(f"bad record in batch {batch}")
check(3)
"""

SLEEPING = b"""
import os
import sys
import time
from awsglue.utils import getResolvedOptions

args = getResolvedOptions(sys.argv, ["pid_file"]) if "--pid_file" in sys.argv else {}
if args:
    with open(args["pid_file"], "w") as handle:
        handle.write(str(os.getpid()))
print("sleeping", flush=True)
time.sleep(120)
"""


def put_script(s3: Any, key: str, body: bytes) -> str:
    s3.put_object(Bucket=SCRIPTS_BUCKET, Key=key, Body=body)
    return f"s3://{SCRIPTS_BUCKET}/{key}"


def create_job(glue: Any, name: str, script: str, kind: str = "pythonshell", **extra: Any) -> None:
    glue.create_job(Name=name, Role=ROLE, Command={"Name": kind, "ScriptLocation": script}, **extra)


def wait_for(glue: Any, job: str, run_id: str, states: set[str], timeout: float = 30.0) -> dict[str, Any]:
    """The run once it reaches one of ``states`` (fails after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] in states:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {run['JobRunState']} after {timeout}s")
        time.sleep(0.05)


def log_messages(logs: Any, group: str, stream: str) -> list[str]:
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    return [event["message"] for event in events]
