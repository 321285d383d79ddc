"""The medallion jobs as Glue jobs: their role, their code in S3, job runs and their results.

* :func:`ensure_job_role` - the jobs' Glue role ``<prefix>-medallion-glue`` (trusted by
  ``glue.amazonaws.com``): S3 on the tier buckets (Lake Formation narrows it per tier) and
  the assets bucket, the Glue catalogue of the tier databases, ``lakeformation:GetDataAccess``
  and the Glue log groups.
* :func:`deploy_jobs` - the assets bucket ``<prefix>-glue-assets-<region>``, the three job
  scripts under ``medallion/``, the shared library as a wheel
  (``medallion/nexus_medallion-<v>-py3-none-any.whl``, given to the jobs with
  ``--extra-py-files``: Glue Python shell 3.9 installs ``.whl`` files), the dataset files
  compiled to one JSON (``medallion/lake-config-<sha256[:12]>.json``, ``--lake_config``) and
  the three ``pythonshell`` jobs with every argument in ``DefaultArguments``.
* :func:`build_assets` - the same code as files (three scripts, the wheel, the compiled
  dataset files) and ``medallion-glue.tfvars.json`` naming them with their SHA-256: Terraform
  (``modules/lake``) uploads them and owns the jobs, as it does the auth Lambda's package.
* :func:`provision_jobs` - what the embedded provisioner does on ``up``: :func:`deploy_jobs`
  with the default threshold and the checkout's dataset files.
* :func:`run_glue_job` - ``StartJobRun``, ``GetJobRun`` polling until the run ends, then the
  job's ``MEDALLION_RESULT`` line from its CloudWatch output stream.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import subprocess
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexuskit.lake.errors import JobError
from nexuskit.params import TIERS, StackSpec
from nexuskit.provision.context import ProvisionContext, aws_call, error_code, tag_list
from nexuskit.provision.policies import StackArns
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState
from services.medallion.lib import VERSION
from services.medallion.lib.datasets import LakeConfig
from services.medallion.lib.names import DEFAULT_THRESHOLD, database_name

ROLE_TYPE = "iam.role"
JOB_TYPE = "glue.job"
ASSET_TYPE = "s3.object"
MEDALLION_DIR = Path(__file__).resolve().parents[2] / "services" / "medallion"
SCRIPTS = {
    "bronze_to_silver": "bronze_to_silver.py",
    "silver_to_gold": "silver_to_gold.py",
    "gold_to_vibranium": "gold_to_vibranium.py",
}
WHEEL_NAME = f"nexus_medallion-{VERSION}-py3-none-any.whl"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED"}
OUTPUT_LOG_GROUP = "/aws-glue/jobs/output"
#: the arguments ``lake promote --glue`` sets on every run whatever the code: the checkout's
#: version (``git:<sha>[-dirty]``). Terraform ignores its drift and parity leaves it out. The
#: dataset files' key (``--lake_config``) is not one: it is named by their content, so Terraform
#: and ``promote`` from the same checkout agree, and Terraform deletes the keys it replaces.
PER_RUN_ARGUMENTS = ("--code_version",)
TFVARS_NAME = "medallion-glue.tfvars.json"
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def job_role_name(spec: StackSpec) -> str:
    from nexuskit.lake.grants import job_role_name as name

    return name(spec)


def assets_bucket(spec: StackSpec) -> str:
    return f"{spec.prefix}-glue-assets-{spec.region}"


def job_name(spec: StackSpec, step: str) -> str:
    return f"{spec.prefix}-{step.replace('_', '-')}"


def job_description(step: str) -> str:
    """``nexus medallion bronze -> silver`` (Terraform's ``aws_glue_job.medallion`` says the same)."""
    return f"nexus medallion {step.replace('_to_', ' -> ')}"


def code_version() -> str:
    """``git:<sha>[-dirty]`` of the checkout, else ``nexuskit <version>``."""
    root = MEDALLION_DIR.parents[1]
    if (root / ".git").exists():
        try:
            sha = subprocess.run(
                ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
            dirty = subprocess.run(
                [
                    "git",
                    "-C",
                    str(root),
                    "status",
                    "--porcelain",
                    "--untracked-files=no",
                    "--",
                    "services/medallion",
                ],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
            return f"git:{sha}{'-dirty' if dirty else ''} medallion {VERSION}"
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        return f"nexuskit {importlib.metadata.version('nexuskit')} medallion {VERSION}"
    except importlib.metadata.PackageNotFoundError:
        return f"medallion {VERSION}"


# -- the role ------------------------------------------------------------------------------------
def job_role_policies(spec: StackSpec, account_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(trust policy, inline policy) of the jobs' Glue role."""
    arns = StackArns(spec, account_id)
    buckets = [spec.bucket(tier) for tier in TIERS]
    glue = [arns._arn("glue", "catalog")]
    for tier in TIERS:
        database = database_name(spec.prefix, tier)
        glue += [arns._arn("glue", f"database/{database}"), arns._arn("glue", f"table/{database}/*")]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "LakeBuckets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"],
                "Resource": [arns.bucket(b) for b in [*buckets, assets_bucket(spec)]],
            },
            {
                "Sid": "LakeObjects",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                ],
                "Resource": [arns.objects(b) for b in buckets],
            },
            {
                "Sid": "JobCode",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [arns.objects(assets_bucket(spec))],
            },
            {
                "Sid": "Catalog",
                "Effect": "Allow",
                "Action": [
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchCreatePartition",
                    "glue:CreatePartition",
                ],
                "Resource": glue,
            },
            {
                "Sid": "LakeFormation",
                "Effect": "Allow",
                "Action": ["lakeformation:GetDataAccess"],
                "Resource": "*",
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    arns._arn("logs", "log-group:/aws-glue/*"),
                    arns._arn("logs", "log-group:/aws-glue/*:log-stream:*"),
                ],
            },
        ],
    }
    return trust, policy


def ensure_job_role(ctx: ProvisionContext) -> list[ResourceState]:
    """Create the jobs' Glue role, or bring its trust and policy in line."""
    iam = ctx.client("iam")
    name = job_role_name(ctx.spec)
    trust, policy = job_role_policies(ctx.spec, ctx.account_id)
    policy_name = f"{name}-policy"
    detail = "Glue role of the medallion jobs"
    with aws_call(ROLE_TYPE, name):
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description=detail,
                Tags=tag_list(ctx.tags),
            )
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
            return [ResourceState(ROLE_TYPE, name, CREATED, detail)]
        fixed = []
        if role.get("AssumeRolePolicyDocument") != trust:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            fixed.append("trust")
        try:
            current = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        except iam.exceptions.NoSuchEntityException:
            current = None
        if isinstance(current, str):
            current = json.loads(current)
        if current != policy:
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
            fixed.append("policy")
    if fixed:
        return [ResourceState(ROLE_TYPE, name, UPDATED, f"{detail}; fixed {', '.join(fixed)}")]
    return [ResourceState(ROLE_TYPE, name, EXISTS, detail)]


# -- code ------------------------------------------------------------------------------------------
def _pyarrow_version() -> str:
    """The pyarrow the jobs get on Glue: this one's version (read without importing it)."""
    return importlib.metadata.version("pyarrow")


def build_wheel() -> bytes:
    """``services.medallion.lib`` as a pure-Python wheel (deterministic bytes)."""
    files: dict[str, bytes] = {
        "services/__init__.py": b"",
        "services/medallion/__init__.py": (MEDALLION_DIR / "__init__.py").read_bytes(),
    }
    for path in sorted((MEDALLION_DIR / "lib").glob("*.py")):
        files[f"services/medallion/lib/{path.name}"] = path.read_bytes()
    info = f"nexus_medallion-{VERSION}.dist-info"
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: nexus-medallion\nVersion: {VERSION}\n"
        "Summary: Shared logic of the nexus medallion Glue jobs\nRequires-Dist: pyarrow>=16\n"
    ).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: nexuskit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    import base64
    import hashlib

    record = []
    for name, body in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(body)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, body)
    return buffer.getvalue()


def _upload(
    ctx: ProvisionContext, bucket: str, key: str, body: bytes, *, fresh: bool = False
) -> ResourceState:
    """Put ``body`` unless the object holds it already; ``fresh``: the bucket was just created
    (empty), so there is nothing to look at first."""
    import hashlib

    s3 = ctx.client("s3")
    digest = hashlib.sha256(body).hexdigest()
    uri = f"s3://{bucket}/{key}"
    with aws_call(ASSET_TYPE, uri):
        if fresh:
            s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata={"sha256": digest})
            return ResourceState(ASSET_TYPE, uri, CREATED, f"{len(body)} bytes")
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
            if head.get("Metadata", {}).get("sha256") == digest:
                return ResourceState(ASSET_TYPE, uri, EXISTS, f"{len(body)} bytes")
            state = UPDATED
        except s3.exceptions.ClientError as exc:
            if error_code(exc) not in {"404", "NoSuchKey", "NotFound"}:
                raise
            state = CREATED
        s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata={"sha256": digest})
    return ResourceState(ASSET_TYPE, uri, state, f"{len(body)} bytes")


def _ensure_assets_bucket(ctx: ProvisionContext) -> ResourceState:
    """The assets bucket, held to what every bucket of the stack is (versioned, SSE-S3, public
    access blocked, TLS-only, lifecycle): Terraform's ``aws_s3_bucket.glue_assets``."""
    from nexuskit.provision.storage import settle_bucket

    s3 = ctx.client("s3")
    bucket = assets_bucket(ctx.spec)
    detail = "Glue job code"
    with aws_call("s3.bucket", bucket):
        owned = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        state = EXISTS
        if bucket not in owned:
            kwargs: dict[str, Any] = {}
            if ctx.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
            s3.create_bucket(Bucket=bucket, **kwargs)
            state = CREATED
        fixed = settle_bucket(ctx, bucket, dict(ctx.tags), created=state == CREATED)
    if fixed and state == EXISTS:
        return ResourceState("s3.bucket", bucket, UPDATED, f"{detail}; fixed {', '.join(fixed)}")
    return ResourceState("s3.bucket", bucket, state, detail)


def config_key(config: LakeConfig) -> str:
    """Where the compiled dataset files go in the assets bucket (named by their content)."""
    import hashlib

    return f"medallion/lake-config-{hashlib.sha256(config.to_json().encode()).hexdigest()[:12]}.json"


def default_arguments(
    spec: StackSpec, threshold: float, version: str, config: LakeConfig | None = None
) -> dict[str, str]:
    """The job arguments (see :mod:`services.medallion.lib.job`)."""
    bucket = assets_bucket(spec)
    extra = {"--lake_config": f"s3://{bucket}/{config_key(config)}"} if config is not None else {}
    return {
        **extra,
        "--extra-py-files": f"s3://{bucket}/medallion/{WHEEL_NAME}",
        "--additional-python-modules": f"pyarrow=={_pyarrow_version()}",
        "--bronze_bucket": spec.bucket("bronze"),
        "--silver_bucket": spec.bucket("silver"),
        "--gold_bucket": spec.bucket("gold"),
        "--vibranium_bucket": spec.bucket("vibranium"),
        "--catalog_prefix": spec.prefix,
        "--client_prefix": spec.params.client_firehose_prefix,
        "--confidence_threshold": str(threshold),
        "--code_version": version,
    }


def job_definition(
    spec: StackSpec,
    account_id: str,
    step: str,
    threshold: float,
    version: str,
    config: LakeConfig | None = None,
) -> dict[str, Any]:
    """``CreateJob``'s arguments for one step (Terraform's ``aws_glue_job.medallion``)."""
    return {
        "Role": f"arn:aws:iam::{account_id}:role/{job_role_name(spec)}",
        "Command": {
            "Name": "pythonshell",
            "ScriptLocation": f"s3://{assets_bucket(spec)}/medallion/{SCRIPTS[step]}",
            "PythonVersion": "3.9",
        },
        "DefaultArguments": default_arguments(spec, threshold, version, config),
        "ExecutionProperty": {"MaxConcurrentRuns": 1},
        "MaxCapacity": 1.0,
        "Timeout": 60,
        "GlueVersion": "3.0",
        # Glue's default, said outright: the engine reports it when unset, and Terraform's
        # execution_class is not computed (an unset one would plan a change after every apply)
        "ExecutionClass": "STANDARD",
        "Description": job_description(step),
    }


def deploy_jobs(
    ctx: ProvisionContext,
    threshold: float,
    version: str | None = None,
    config: LakeConfig | None = None,
    *,
    role: bool = True,
) -> list[ResourceState]:
    """Upload the code (and the dataset files) and create (or update) the three Glue jobs;
    and their role first, unless ``role=False`` (the caller has made it)."""
    version = version or code_version()
    states = ensure_job_role(ctx) if role else []
    bucket_state = _ensure_assets_bucket(ctx)
    states.append(bucket_state)
    fresh = bucket_state.state == CREATED
    bucket = assets_bucket(ctx.spec)
    states.append(_upload(ctx, bucket, f"medallion/{WHEEL_NAME}", build_wheel(), fresh=fresh))
    if config is not None:
        states.append(_upload(ctx, bucket, config_key(config), config.to_json().encode(), fresh=fresh))
    glue = ctx.client("glue")
    for step, script in SCRIPTS.items():
        body = (MEDALLION_DIR / script).read_bytes()
        states.append(_upload(ctx, bucket, f"medallion/{script}", body, fresh=fresh))
        name = job_name(ctx.spec, step)
        definition = job_definition(ctx.spec, ctx.account_id, step, threshold, version, config)
        with aws_call(JOB_TYPE, name):
            try:
                current = glue.get_job(JobName=name)["Job"]
            except glue.exceptions.EntityNotFoundException:
                glue.create_job(Name=name, Tags=ctx.tags, **definition)
                states.append(ResourceState(JOB_TYPE, name, CREATED, "pythonshell"))
                continue
            same = all(current.get(k) == v for k, v in definition.items())
            if same:
                states.append(ResourceState(JOB_TYPE, name, EXISTS, "pythonshell"))
            else:
                glue.update_job(JobName=name, JobUpdate=definition)
                states.append(ResourceState(JOB_TYPE, name, UPDATED, "pythonshell"))
    return states


def provision_jobs(ctx: ProvisionContext, *, role: bool = True) -> list[ResourceState]:
    """The jobs as ``up`` makes them (the embedded provisioner's side of Terraform's jobs): the
    default threshold, the checkout's code version and dataset files (``lake/``)."""
    from nexuskit.lake.config import load_lake_config

    return deploy_jobs(ctx, DEFAULT_THRESHOLD, code_version(), load_lake_config(), role=role)


def inventory_jobs(ctx: ProvisionContext) -> list[ResourceState]:
    """How the resources :func:`provision_jobs` makes stand: ``ready`` or ``missing`` each."""
    from nexuskit.lake.config import load_lake_config
    from nexuskit.provision.resources import present

    iam, s3, glue = ctx.client("iam"), ctx.client("s3"), ctx.client("glue")
    bucket = assets_bucket(ctx.spec)
    states = []
    role = job_role_name(ctx.spec)
    with aws_call(ROLE_TYPE, role):
        try:
            iam.get_role(RoleName=role)
            found = True
        except iam.exceptions.NoSuchEntityException:
            found = False
    states.append(present(ROLE_TYPE, role, found, "Glue role of the medallion jobs"))
    with aws_call("s3.bucket", bucket):
        owned = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    states.append(present("s3.bucket", bucket, bucket in owned, "Glue job code"))
    keys = [f"medallion/{WHEEL_NAME}", config_key(load_lake_config())]
    for key in [*keys, *(f"medallion/{script}" for script in SCRIPTS.values())]:
        uri = f"s3://{bucket}/{key}"
        found = False
        if bucket in owned:
            with aws_call(ASSET_TYPE, uri):
                try:
                    s3.head_object(Bucket=bucket, Key=key)
                    found = True
                except s3.exceptions.ClientError as exc:
                    if error_code(exc) not in {"404", "NoSuchKey", "NotFound"}:
                        raise
        states.append(present(ASSET_TYPE, uri, found, "Glue job code"))
    for step in SCRIPTS:
        name = job_name(ctx.spec, step)
        with aws_call(JOB_TYPE, name):
            try:
                glue.get_job(JobName=name)
                found = True
            except glue.exceptions.EntityNotFoundException:
                found = False
        states.append(present(JOB_TYPE, name, found, "pythonshell"))
    return states


# -- the same code as files, for Terraform ---------------------------------------------------------
@dataclass(frozen=True)
class GlueAssets:
    """The jobs' code built into ``folder``: S3 key -> file, and the variables naming them."""

    folder: Path
    files: dict[str, Path]
    config_key: str
    version: str

    @property
    def var_file(self) -> Path:
        return self.folder / TFVARS_NAME

    def terraform_vars(self) -> dict[str, Any]:
        """``medallion_glue_assets`` of ``stacks/platform`` (what ``var_file`` holds)."""
        import hashlib

        def entry(key: str) -> dict[str, str]:
            path = self.files[key]
            return {"key": key, "path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}

        return {
            "medallion_glue_assets": {
                "scripts": {step: entry(f"medallion/{script}") for step, script in SCRIPTS.items()},
                "library": entry(f"medallion/{WHEEL_NAME}"),
                "config": entry(self.config_key),
                "code_version": self.version,
                "python_modules": f"pyarrow=={_pyarrow_version()}",
            }
        }


def build_assets(folder: Path, config: LakeConfig | None = None, version: str | None = None) -> GlueAssets:
    """Write the three scripts, the library wheel and the compiled dataset files (default: the
    checkout's ``lake/``) under ``folder/medallion/``, and ``folder/medallion-glue.tfvars.json``
    naming them (deterministic: the same checkout gives the same bytes and hashes)."""
    if config is None:
        from nexuskit.lake.config import load_lake_config

        config = load_lake_config()
    bodies: dict[str, bytes] = {
        f"medallion/{script}": (MEDALLION_DIR / script).read_bytes() for script in SCRIPTS.values()
    }
    bodies[f"medallion/{WHEEL_NAME}"] = build_wheel()
    bodies[config_key(config)] = config.to_json().encode()
    folder = folder.resolve()
    files = {}
    for key, body in bodies.items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != body:
            path.write_bytes(body)
        files[key] = path
    assets = GlueAssets(folder, files, config_key(config), version or code_version())
    assets.var_file.write_text(json.dumps(assets.terraform_vars(), indent=2) + "\n", encoding="utf-8")
    return assets


# -- runs -------------------------------------------------------------------------------------------
def _result_line(logs: Any, run_id: str) -> dict[str, Any] | None:
    from services.medallion.lib.job import RESULT_PREFIX  # the jobs' library: pyarrow

    kwargs: dict[str, Any] = {
        "logGroupName": OUTPUT_LOG_GROUP,
        "logStreamName": run_id,
        "startFromHead": True,
    }
    found = None
    previous = None
    while True:
        try:
            page = logs.get_log_events(**kwargs)
        except logs.exceptions.ResourceNotFoundException:
            return None
        for event in page.get("events", []):
            message = event.get("message", "")
            if message.startswith(RESULT_PREFIX):
                found = json.loads(message[len(RESULT_PREFIX) :])
        token = page.get("nextForwardToken")
        if not token or token == previous or not page.get("events"):
            return found
        previous = token
        kwargs["nextToken"] = token


def run_glue_job(
    glue: Any,
    logs: Any,
    name: str,
    arguments: dict[str, str] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    timeout: float = 900.0,
    poll: float = 0.2,
) -> dict[str, Any]:
    """Start a job run, wait for it, return its result (raises :class:`JobError`)."""
    with aws_call(JOB_TYPE, name):
        run_id = glue.start_job_run(JobName=name, Arguments=arguments or {})["JobRunId"]
    started = time.monotonic()
    state = "STARTING"
    run: dict[str, Any] = {}
    while True:
        with aws_call(JOB_TYPE, f"{name} run {run_id}"):
            run = glue.get_job_run(JobName=name, RunId=run_id)["JobRun"]
        state = run.get("JobRunState", "")
        if progress:
            progress(
                {
                    "job": name,
                    "phase": "glue",
                    "state": state,
                    "run_id": run_id,
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
        if state in TERMINAL:
            break
        if time.monotonic() - started > timeout:
            glue.batch_stop_job_run(JobName=name, JobRunIds=[run_id])
            raise JobError(
                f"Glue job {name} run {run_id} did not finish in {timeout:.0f} s",
                "see its logs in /aws-glue/jobs/error",
            )
        time.sleep(poll)
    if state != "SUCCEEDED":
        raise JobError(
            f"Glue job {name} run {run_id} ended {state}: {run.get('ErrorMessage', 'no error message')}",
            f"see log stream {run_id} in /aws-glue/jobs/error",
        )
    result = _result_line(logs, run_id) or {}
    result["glue_job_run_id"] = run_id
    result["glue_state"] = state
    return result
