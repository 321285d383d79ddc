"""Runs Glue job scripts as local processes and keeps their job runs' state current.

One supervisor thread (a :class:`~emulation.core.extension.Worker`) does all the work:

* a run in STARTING is prepared - the script is read from moto's S3, STS credentials are
  issued for the job's Role through moto's STS, and the script is started with
  ``sys.executable`` (through ``shim/nexuskit_glue_launcher.py``, which kills the job if
  the engine dies) as ``script.py --JOB_NAME ... <arguments>``, in its own process group,
  with the engine as ``AWS_ENDPOINT_URL`` and the ``awsglue`` shim on ``PYTHONPATH`` - and
  goes RUNNING;
* while it runs, new stdout/stderr lines go to CloudWatch Logs (``/aws-glue/jobs/output``
  and ``/aws-glue/jobs/error``, stream = run id);
* it ends SUCCEEDED (exit 0), FAILED (``ErrorMessage`` = last line of stderr, i.e. the
  exception line of a traceback), TIMEOUT (past its Timeout; the process group is
  killed) or STOPPED (BatchStopJobRun: SIGTERM, then SIGKILL after a grace period).

``stop`` and ``reset`` kill every process and join the thread; nothing outlives the engine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from emulation.core.extension import Worker
from emulation.glue.logs import LogShipper

if TYPE_CHECKING:
    from emulation.core.app import EngineApp
    from emulation.glue import models

log = logging.getLogger(__name__)

SHIM_DIR = Path(__file__).resolve().parent / "shim"
LAUNCHER = SHIM_DIR / "nexuskit_glue_launcher.py"
STOP_GRACE_SECONDS = 2.0
ACTIVE_POLL = 0.05
IDLE_POLL = 0.5
_SESSION_NAME = "GlueJobRunnerSession"


class JobRunError(Exception):
    """A run could not be started (its message becomes the run's ErrorMessage)."""


@dataclass
class RunProcess:
    """The runner's side of one job run."""

    run: models.LocalJobRun
    job: Any
    account: str
    region: str
    workdir: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    deadline: float = 0.0
    timeout_seconds: float = 0.0
    stop_requested: bool = False
    kill_at: float | None = None
    outcome: str | None = None
    shipper: LogShipper | None = None
    stderr_tail: list[str] = field(default_factory=list)


class JobRunner:
    """Starts, watches and stops the processes of local Glue job runs."""

    def __init__(self, timeout_scale: float = 1.0, runs_dir: Path | None = None) -> None:
        self.timeout_scale = timeout_scale
        self.runs_dir = runs_dir
        self._own_runs_dir = False
        self.engine: EngineApp | None = None
        self._runs: dict[str, RunProcess] = {}
        self._lock = threading.Lock()
        self._kick = threading.Event()
        self._worker: Worker | None = None
        self.started = self.finished = 0

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, engine: EngineApp) -> None:
        self.engine = engine
        if self.runs_dir is None:
            self.runs_dir = Path(tempfile.mkdtemp(prefix="nexuskit-glue-"))
            self._own_runs_dir = True
        # No run survives its engine: working folders left by a crash are stale.
        shutil.rmtree(self.runs_dir, ignore_errors=True)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self._start_worker()

    def _start_worker(self) -> None:
        self._worker = Worker("glue-job-runner", self._step).start()

    def stop(self) -> None:
        """Kill every process (their runs end FAILED), join the thread."""
        self._halt("the nexuskit engine stopped during the run")
        if self._own_runs_dir and self.runs_dir is not None:
            shutil.rmtree(self.runs_dir, ignore_errors=True)

    def reset(self) -> None:
        """Kill every process and forget every run (the state they lived in is gone)."""
        self._halt(None)
        self._start_worker()

    def _halt(self, reason: str | None) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker._stop.set()
            self._kick.set()
            worker.stop()
        with self._lock:
            runs, self._runs = list(self._runs.values()), {}
        for entry in runs:
            self._kill(entry, signal.SIGKILL)
            if entry.proc is not None:
                entry.proc.wait(5)
            if reason is not None:
                self._ship_logs(entry, final=True)
                self._finish(entry, "FAILED", reason)
            self._cleanup(entry)

    # -- requests ------------------------------------------------------------------------
    def submit(self, run: models.LocalJobRun, job: Any, account: str, region: str) -> None:
        with self._lock:
            self._runs[run.job_run_id] = RunProcess(run=run, job=job, account=account, region=region)
            self.started += 1
        self._kick.set()

    def request_stop(self, run_id: str) -> bool:
        """Ask a run to stop; False when the runner does not hold it."""
        with self._lock:
            entry = self._runs.get(run_id)
            if entry is None:
                return False
            entry.stop_requested = True
        self._kick.set()
        return True

    def active_count(self) -> int:
        with self._lock:
            return len(self._runs)

    # -- the supervisor ------------------------------------------------------------------
    def _step(self) -> float:
        with self._lock:
            entries = list(self._runs.values())
        self._kick.wait(ACTIVE_POLL if entries else IDLE_POLL)
        self._kick.clear()
        with self._lock:
            entries = list(self._runs.values())
        for entry in entries:
            if self._worker is None or self._worker.stopping:
                break
            try:
                self._advance(entry)
            except Exception:  # one run's failure must not stop the others
                log.exception("glue run %s failed in the runner", entry.run.job_run_id)
                self._finish(entry, "FAILED", "nexuskit runner error (see the engine log)")
                self._forget(entry)
        return 0.0

    def _advance(self, entry: RunProcess) -> None:
        if entry.proc is None:
            if entry.stop_requested:
                self._finish(entry, "STOPPED", None)
                self._forget(entry)
                return
            try:
                self._launch(entry)
            except JobRunError as exc:
                self._finish(entry, "FAILED", str(exc))
                self._forget(entry)
            return
        now = time.monotonic()
        self._ship_logs(entry, final=False)
        if entry.proc.poll() is None:
            if entry.stop_requested and entry.outcome is None:
                entry.outcome = "STOPPED"
                self._set_state(entry, "STOPPING")
                self._kill(entry, signal.SIGTERM)
                entry.kill_at = now + STOP_GRACE_SECONDS
            elif entry.outcome is None and now >= entry.deadline:
                entry.outcome = "TIMEOUT"
                self._kill(entry, signal.SIGKILL)
            elif entry.kill_at is not None and now >= entry.kill_at:
                self._kill(entry, signal.SIGKILL)
                entry.kill_at = None
            return
        self._ship_logs(entry, final=True)
        code = entry.proc.returncode
        if entry.outcome == "TIMEOUT":
            limit = entry.timeout_seconds
            self._finish(entry, "TIMEOUT", f"Job run timed out after {limit:g} seconds (Timeout)")
        elif entry.outcome == "STOPPED":
            self._finish(entry, "STOPPED", None)
        elif code == 0:
            self._finish(entry, "SUCCEEDED", None)
        else:
            last = entry.stderr_tail[-1] if entry.stderr_tail else f"Command failed with exit code {code}"
            self._finish(entry, "FAILED", last)
        self._forget(entry)

    # -- launching -----------------------------------------------------------------------
    def _launch(self, entry: RunProcess) -> None:
        from emulation.glue import models  # moto's Glue, imported on the first job run

        engine = self.engine
        assert engine is not None and self.runs_dir is not None
        run, job = entry.run, entry.job
        kind = models.command_name(job)
        if kind not in {"pythonshell", "glueetl"}:
            raise JobRunError(f"nexuskit runs pythonshell and glueetl (plain Python) jobs, not {kind}")
        location = models.script_location(job)
        if not location:
            raise JobRunError("The job has no Command.ScriptLocation")
        with engine.state_lock.shared():
            script = self._read_script(location, entry.account)
            credentials = self._role_credentials(job.role, entry.account, entry.region)
            shipper = LogShipper(engine, entry.account, entry.region, run.job_run_id)
            shipper.open_streams()
        engine.mark_dirty("sts", "logs")
        workdir = self.runs_dir / run.job_run_id
        workdir.mkdir(parents=True, exist_ok=True)
        name = Path(urlsplit(location).path).name or "script.py"
        script_path = workdir / name
        script_path.write_bytes(script)
        argv = [sys.executable, str(LAUNCHER), str(script_path), "--JOB_NAME", job.name]
        argv += ["--JOB_RUN_ID", run.job_run_id]
        argv += ["--scriptLocation", location]
        for key, value in (run.arguments or {}).items():
            argv += [key if key.startswith("--") else f"--{key}", str(value)]
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "NEXUSKIT_", "PYTHON", "MOTO_"))
        }
        env.update(
            AWS_ENDPOINT_URL=engine.settings.endpoint,
            AWS_REGION=entry.region,
            AWS_DEFAULT_REGION=entry.region,
            AWS_ACCESS_KEY_ID=credentials[0],
            AWS_SECRET_ACCESS_KEY=credentials[1],
            AWS_SESSION_TOKEN=credentials[2],
            AWS_CONFIG_FILE=str(workdir / "aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(workdir / "aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            PYTHONPATH=os.pathsep.join([str(SHIM_DIR), str(workdir)]),
            PYTHONUNBUFFERED="1",
            GLUE_JOB_NAME=job.name,
            GLUE_JOB_RUN_ID=run.job_run_id,
        )
        entry.workdir, entry.shipper = workdir, shipper
        entry.timeout_seconds = models.timeout_seconds(run, self.timeout_scale)
        with open(workdir / "stdout.log", "wb") as out, open(workdir / "stderr.log", "wb") as err:
            entry.proc = subprocess.Popen(
                argv,
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        entry.deadline = time.monotonic() + entry.timeout_seconds
        with engine.state_lock.shared():
            run.mark_running()
        engine.mark_dirty("glue")
        log.info("glue run %s of %s started (pid %s)", run.job_run_id, job.name, entry.proc.pid)

    @staticmethod
    def _read_script(location: str, account: str) -> bytes:
        parts = urlsplit(location)
        if parts.scheme != "s3" or not parts.netloc:
            raise JobRunError(f"ScriptLocation must be an s3:// URI, not {location!r}")
        from moto.s3.models import s3_backends

        try:
            key = s3_backends[account]["aws"].get_object(parts.netloc, parts.path.lstrip("/"))
        except Exception as exc:  # moto raises its own MissingBucket etc.
            raise JobRunError(f"Cannot read the script {location}: {exc}") from exc
        if key is None:
            raise JobRunError(f"Cannot read the script {location}: the object does not exist")
        return bytes(key.value)

    @staticmethod
    def _role_credentials(role: str, account: str, region: str) -> tuple[str, str, str]:
        from moto.sts.models import sts_backends

        from emulation.glue import models

        assumed = sts_backends[account]["aws"].assume_role(
            region_name=region,
            role_session_name=_SESSION_NAME,
            role_arn=models.role_arn(role, account),
            policy=None,
            duration=3600,
            external_id=None,
        )
        return assumed.access_key_id, assumed.secret_access_key, assumed.session_token

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _kill(entry: RunProcess, sig: int) -> None:
        if entry.proc is None or entry.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(entry.proc.pid, sig)

    def _ship_logs(self, entry: RunProcess, final: bool) -> None:
        if entry.shipper is None or entry.workdir is None or self.engine is None:
            return
        with self.engine.state_lock.shared():
            shipped = entry.shipper.ship(entry.workdir / "stdout.log", entry.workdir / "stderr.log", final)
        if shipped:
            entry.stderr_tail = entry.shipper.stderr_tail
            self.engine.mark_dirty("logs")

    def _set_state(self, entry: RunProcess, state: str) -> None:
        assert self.engine is not None
        with self.engine.state_lock.shared():
            entry.run.status = state
        self.engine.mark_dirty("glue")

    def _finish(self, entry: RunProcess, state: str, error: str | None) -> None:
        if self.engine is None:
            return
        with self.engine.state_lock.shared():
            entry.run.finish(state, error)
        self.engine.mark_dirty("glue")
        self.finished += 1
        log.info("glue run %s ended %s%s", entry.run.job_run_id, state, f": {error}" if error else "")

    def _forget(self, entry: RunProcess) -> None:
        with self._lock:
            self._runs.pop(entry.run.job_run_id, None)
        self._cleanup(entry)

    @staticmethod
    def _cleanup(entry: RunProcess) -> None:
        if entry.workdir is not None:
            shutil.rmtree(entry.workdir, ignore_errors=True)
