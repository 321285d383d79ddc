"""The Glue job-runs extension of the engine (order 50, after IAM enforcement).

Environment (read once at engine start):

``NEXUSKIT_GLUE_TIMEOUT_SCALE``
    multiplies every run's ``Timeout`` (minutes) when enforcing it: ``0.001`` makes a
    one-minute timeout 60 ms. Default 1. A single run can instead carry the job argument
    ``--nexuskit-timeout-seconds N`` (default or run argument), which wins.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.core.exceptions import error_response
from emulation.core.extension import Extension
from emulation.core.request import AwsRequest
from emulation.core.settings import EngineSettings
from emulation.glue.exceptions import EntityNotFoundException, GlueError, InvalidInputException
from emulation.glue.responses import glue_operation, json_response, params
from emulation.glue.runner import JobRunner

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
#: the module of our job runs; a snapshot holding one imports it when it is unpickled
GLUE_RUNS_MODULE = "emulation.glue.models"


class GlueJobsExtension(Extension):
    """Runs StartJobRun's scripts and stops them on BatchStopJobRun."""

    name = "glue"
    order = 50

    def __init__(self, timeout_scale: float = 1.0) -> None:
        self.runner = JobRunner(timeout_scale=timeout_scale)
        self.engine: EngineApp | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, engine: EngineApp) -> None:
        self.engine = engine
        if engine.settings.state_dir is not None:
            self.runner.runs_dir = engine.settings.state_dir / "glue-runs"
        self._fail_orphans()
        self.runner.start(engine)

    def _fail_orphans(self) -> None:
        """Runs restored in progress lost their process with the last engine: FAILED."""
        assert self.engine is not None
        if GLUE_RUNS_MODULE not in sys.modules:
            return  # no snapshot restored a job run (unpickling one imports its module)
        from moto.backends import get_backend

        from emulation.glue import models

        orphaned = 0
        with self.engine.state_lock.shared():
            for _account, regions in list(get_backend("glue").items()):
                for _region, backend in list(regions.items()):
                    for job in list(backend.jobs.values()):
                        for run in job.job_runs:
                            if isinstance(run, models.LocalJobRun) and run.status in models.ACTIVE:
                                run.finish("FAILED", "the nexuskit engine stopped during the run")
                                orphaned += 1
        if orphaned:
            self.engine.mark_dirty("glue")
            log.info("marked %d job runs FAILED: their engine stopped while they ran", orphaned)

    def stop(self) -> None:
        self.runner.stop()

    def reset(self) -> None:
        self.runner.reset()

    def health(self) -> dict[str, Any]:
        return {
            "active_runs": self.runner.active_count(),
            "started": self.runner.started,
            "finished": self.runner.finished,
            "timeout_scale": self.runner.timeout_scale,
        }

    # -- requests ------------------------------------------------------------------------
    def _account(self, request: AwsRequest) -> str:
        header = request.headers.get("x-moto-account-id")
        if header:
            return header
        if not request.access_key:
            return "123456789012"
        from moto.iam.models import get_account_id_from

        return str(get_account_id_from(request.access_key))

    def handle(self, request: AwsRequest) -> Response | None:
        operation = glue_operation(request)
        if operation is None or self.engine is None:
            return None
        from emulation.glue import models  # moto's Glue and pyparsing: on the first job call

        region = request.region or DEFAULT_REGION
        try:
            body = params(request)
            with self.engine.state_lock.shared():
                account = self._account(request)
                job = self.engine.backend("glue", region, account).jobs.get(body.get("JobName"))
                if job is None:
                    return None  # moto answers EntityNotFoundException in its own words
                if operation == "StartJobRun":
                    run = models.start_job_run(job, body)
                    self.runner.submit(run, job, account, region)
                    return json_response({"JobRunId": run.job_run_id})
                return json_response(self._batch_stop(job, body))
        except GlueError as error:
            return error_response(error)

    def _batch_stop(self, job: Any, body: dict[str, Any]) -> dict[str, Any]:
        from emulation.glue import models

        run_ids = body.get("JobRunIds")
        if not isinstance(run_ids, list) or not run_ids:
            raise InvalidInputException("JobRunIds must list at least one job run id")
        runs = {run.job_run_id: run for run in job.job_runs}
        stopped: list[dict[str, str]] = []
        errors: list[dict[str, Any]] = []
        for run_id in run_ids:
            run = runs.get(run_id)
            problem: GlueError | None = None
            if run is None:
                problem = EntityNotFoundException(f"Job run {run_id} of job {job.name} not found")
            elif run.status not in models.ACTIVE or not self.runner.request_stop(run_id):
                problem = InvalidInputException(f"Job run {run_id} is {run.status} and cannot be stopped")
            if run is None or problem is not None:
                assert problem is not None
                detail = {"ErrorCode": problem.code, "ErrorMessage": problem.message}
                errors.append({"JobName": job.name, "JobRunId": run_id, "ErrorDetail": detail})
                continue
            run.status = "STOPPING"
            stopped.append({"JobName": job.name, "JobRunId": run_id})
        return {"SuccessfulSubmissions": stopped, "Errors": errors}


def create(settings: EngineSettings) -> Extension:
    """Factory named in :data:`emulation.extensions.REGISTRY`."""
    scale = settings.glue_timeout_scale
    if scale <= 0:
        raise ValueError("NEXUSKIT_GLUE_TIMEOUT_SCALE must be a positive number")
    return GlueJobsExtension(timeout_scale=scale)
