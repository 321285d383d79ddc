"""Glue job runs that really run: the run model and the StartJobRun/BatchStopJobRun logic.

moto records a job run and walks it STARTING -> RUNNING -> SUCCEEDED by itself, running
nothing. Here a run is a :class:`LocalJobRun` - a moto ``FakeJobRun`` whose state is set
by the runner (:mod:`emulation.glue.runner`) as the script's process starts and ends - kept
in moto's ``FakeJob.job_runs``, so moto's own GetJobRun/GetJobRuns (and persistence) see
it unchanged.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

from moto.core.utils import utcnow
from moto.glue.models import FakeJob, FakeJobRun

from emulation.glue.exceptions import ConcurrentRunsExceededException, InvalidInputException

ACTIVE = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED"})
DEFAULT_TIMEOUT_MINUTES = 2880
PYTHONSHELL_DEFAULT_CAPACITY = 0.0625
GLUEETL_DEFAULT_CAPACITY = 10.0
LOG_GROUP = "/aws-glue/jobs"
TIMEOUT_ARGUMENT = "--nexuskit-timeout-seconds"


class LocalJobRun(FakeJobRun):  # type: ignore[misc]
    """A job run whose state follows a real process (never advanced by moto)."""

    def __init__(
        self,
        job: FakeJob,
        arguments: dict[str, str],
        max_capacity: float | None,
        timeout_minutes: int,
        worker_type: str | None,
        number_of_workers: int | None,
        previous_run_id: str | None,
        security_configuration: str | None,
        notification_property: dict[str, int] | None,
    ) -> None:
        super().__init__(
            job_name=job.name,
            job_run_id=previous_run_id,
            arguments=arguments,
            allocated_capacity=None,
            max_capacity=max_capacity,
            timeout=timeout_minutes,
            worker_type=worker_type,
            notification_property=notification_property,
            security_configuration=security_configuration,
            number_of_workers=number_of_workers,
        )
        self._status = "STARTING"
        self.completed_on: datetime | None = None  # type: ignore[assignment]
        self.error_message: str | None = None
        self.execution_seconds = 0.0
        self.running_since: float | None = None
        self.glue_version = job.glue_version
        self.execution_class = job.execution_class

    # moto's ManagedState advances ``status`` on reads; a local run's state is set only.
    @property  # type: ignore[override]
    def status(self) -> str:
        return str(self._status)

    @status.setter
    def status(self, value: str) -> None:
        self._status = value
        self.modified_on = utcnow()

    def mark_running(self) -> None:
        self.status = "RUNNING"
        self.running_since = time.time()

    def finish(self, state: str, error_message: str | None = None) -> None:
        if self.running_since is not None:
            self.execution_seconds = time.time() - self.running_since
        self.error_message = error_message
        self.completed_on = utcnow()
        self.status = state

    @property
    def execution_time(self) -> int:
        """Whole seconds the run used (so far, while it runs)."""
        if self.status in ACTIVE and self.running_since is not None:
            return int(time.time() - self.running_since)
        return math.ceil(self.execution_seconds) if self.execution_seconds else 0

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "Id": self.job_run_id,
            "Attempt": 0,
            "JobName": self.job_name,
            "JobMode": "SCRIPT",
            "StartedOn": self.started_on,
            "LastModifiedOn": self.modified_on,
            "JobRunState": self.status,
            "Arguments": self.arguments or {},
            "PredecessorRuns": [],
            "ExecutionTime": self.execution_time,
            "Timeout": self.timeout,
            "LogGroupName": LOG_GROUP,
        }
        optional = {
            "CompletedOn": self.completed_on,
            "ErrorMessage": self.error_message,
            "PreviousRunId": self.previous_run_id,
            "MaxCapacity": self.max_capacity,
            "WorkerType": self.worker_type,
            "NumberOfWorkers": self.number_of_workers,
            "SecurityConfiguration": self.security_configuration,
            "NotificationProperty": self.notification_property,
            "GlueVersion": self.glue_version,
            "ExecutionClass": self.execution_class,
        }
        doc.update({key: value for key, value in optional.items() if value is not None})
        return doc


def command_name(job: FakeJob) -> str:
    command = job.command if isinstance(job.command, dict) else {}
    return str(command.get("Name", "glueetl"))


def script_location(job: FakeJob) -> str | None:
    command = job.command if isinstance(job.command, dict) else {}
    location = command.get("ScriptLocation")
    return str(location) if location else None


def active_runs(job: FakeJob) -> list[FakeJobRun]:
    return [run for run in job.job_runs if run.status in ACTIVE]


def start_job_run(job: FakeJob, params: dict[str, Any]) -> LocalJobRun:
    """Create the run StartJobRun asks for (state STARTING) and add it to the job."""
    if params.get("AllocatedCapacity") and params.get("MaxCapacity"):
        raise InvalidInputException("Please set only Allocated Capacity or Max Capacity")
    limit = int((job.execution_property or {}).get("MaxConcurrentRuns", 1))
    if len(active_runs(job)) >= limit:
        raise ConcurrentRunsExceededException.for_job(job.name)
    arguments = dict(job.default_arguments or {})
    arguments.update(params.get("Arguments") or {})
    arguments.update(job.non_overridable_arguments or {})
    worker_type = params.get("WorkerType") or job.worker_type
    capacity = params.get("MaxCapacity") or params.get("AllocatedCapacity") or job.max_capacity
    if capacity is None and not worker_type:
        pythonshell = command_name(job) == "pythonshell"
        capacity = PYTHONSHELL_DEFAULT_CAPACITY if pythonshell else GLUEETL_DEFAULT_CAPACITY
    run = LocalJobRun(
        job=job,
        arguments=arguments,
        max_capacity=float(capacity) if capacity is not None else None,
        timeout_minutes=int(params.get("Timeout") or job.timeout or DEFAULT_TIMEOUT_MINUTES),
        worker_type=worker_type,
        number_of_workers=params.get("NumberOfWorkers") or job.number_of_workers,
        previous_run_id=params.get("JobRunId"),
        security_configuration=params.get("SecurityConfiguration") or job.security_configuration,
        notification_property=params.get("NotificationProperty") or job.notification_property,
    )
    job.job_runs.append(run)
    return run


def timeout_seconds(run: LocalJobRun, scale: float) -> float:
    """The run's time limit: ``--nexuskit-timeout-seconds`` if given, else Timeout x scale."""
    override = (run.arguments or {}).get(TIMEOUT_ARGUMENT)
    if override:
        try:
            return max(0.0, float(override))
        except ValueError:
            pass
    return float(run.timeout or DEFAULT_TIMEOUT_MINUTES) * 60.0 * scale


def role_arn(role: str, account_id: str) -> str:
    """The job's Role (name, path/name or ARN) as an ARN."""
    if role.startswith("arn:"):
        return role
    return f"arn:aws:iam::{account_id}:role/{role}"
