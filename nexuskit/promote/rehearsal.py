"""The promotion's rehearsal: the environment's Terraform applied to a scratch engine, then destroyed.

Before any AWS call, :func:`rehearse` runs what promotion is about to deploy against a
throw-away embedded engine:

1. the auth Lambda's package, built for the Lambda runtime (:data:`LAMBDA_TARGET`; the
   wheel cache, downloading what it lacks) - the very zip the real apply deploys - and the
   medallion Glue jobs' scripts, library and dataset files with the variable file naming
   them (:func:`nexuskit.lake.glue.build_assets`), which the real apply uploads too;
2. a scratch engine on a free port, its state in the run's folder;
3. ``stacks/platform`` with the environment's parameters (prod names, us-west-2), the
   endpoint override pointed at the scratch engine: ``init`` and ``apply``;
4. the signing key set written as nexuskit writes it, then the deployed package (its
   ``CodeSha256`` must be the zip's) imported and invoked in a clean interpreter with the
   function's own configuration (:mod:`nexuskit.promote.lambdacheck`); each Glue job's
   script read back from the engine must hash to the built file;
5. ``destroy``, and the scratch engine stopped.

Any step that fails raises :class:`~nexuskit.errors.PromotionError` with one line.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.edge.package import LAMBDA_TARGET, BuiltPackage, LambdaTarget, build_auth_package
from nexuskit.engine import EmbeddedEngine, free_stack_port
from nexuskit.errors import NexuskitError, PromotionError
from nexuskit.params import StackSpec, load_stack, params_path
from nexuskit.promote.lambdacheck import check_auth_package
from nexuskit.terraform.runner import Line
from nexuskit.terraform.workspace import Workspace
from nexuskit.tfoverride import render_override

log = logging.getLogger(__name__)

COMMON = ("-input=false", "-no-color")


@dataclass
class RehearsalReport:
    """What the rehearsal did, with its timings."""

    env: str
    applied: int = 0
    destroyed: int = 0
    package: dict[str, Any] = field(default_factory=dict)
    glue_var_file: str = ""
    glue_jobs: dict[str, str] = field(default_factory=dict)
    lambda_check: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return (
            f"{self.applied} resources applied to a scratch engine and {self.destroyed} destroyed "
            f"({self.env} names, {self.package.get('target', '?')}); the packaged Lambda answered in a "
            f"clean interpreter; {len(self.glue_jobs)} Glue jobs run the scripts nexuskit built"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "applied": self.applied,
            "destroyed": self.destroyed,
            "package": self.package,
            "glue_var_file": self.glue_var_file,
            "glue_jobs": self.glue_jobs,
            "lambda_check": self.lambda_check,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def _timed(report: RehearsalReport, name: str, started: float) -> None:
    report.seconds[name] = time.perf_counter() - started


def rehearse(
    root: Path,
    env: str,
    workdir: Path,
    on_line: Line | None = None,
    *,
    package_target: LambdaTarget = LAMBDA_TARGET,
    wheel_cache: Path | None = None,
) -> RehearsalReport:
    """Apply the ``env`` configuration to a scratch engine, check the Lambda, destroy (see module doc).

    ``package_target``/``wheel_cache`` are for tests without network (a package for this
    machine from its installed wheels); promotion rehearses the Lambda target's package.
    """
    report = RehearsalReport(env)
    spec = load_stack(params_path(env, root))
    started = time.perf_counter()
    package = build_auth_package(
        workdir / "build",
        function_name=spec.auth_function,
        target=package_target,
        wheel_cache=wheel_cache,
        allow_download=not package_target.host,
    )
    report.package = package.as_dict()
    from nexuskit.lake.glue import build_assets

    glue = build_assets(workdir / "build" / "glue")
    report.glue_var_file = str(glue.var_file)
    _timed(report, "package", started)
    settings = KitSettings(
        port=free_stack_port(),
        state_dir=workdir / "engine",
        env=env,
        params_file=params_path(env, root),
        control_plane=False,
    )
    engine = EmbeddedEngine(settings)
    workspace = Workspace(workdir / "terraform", root)
    started = time.perf_counter()

    def prepare() -> None:  # the copy of terraform/ while the engine boots
        workspace.prepare()

    engine.start(while_starting=prepare)
    _timed(report, "engine", started)
    try:
        _apply_check_destroy(report, engine, workspace, package, glue.var_file, root, env, on_line)
    except NexuskitError as exc:
        if isinstance(exc, PromotionError):
            raise
        raise PromotionError(f"rehearsal: {exc.message}", exc.hint) from None
    finally:
        engine.stop()
    return report


def _apply_check_destroy(
    report: RehearsalReport,
    engine: EmbeddedEngine,
    workspace: Workspace,
    package: BuiltPackage,
    glue_var_file: Path,
    root: Path,
    env: str,
    on_line: Line | None,
) -> None:
    from nexuskit.terraform.local import ensure_signing_key

    spec = load_stack(params_path(env, root))
    creds = engine.credentials()
    runner = workspace.prepare()
    workspace.write_override(
        "platform",
        render_override(
            engine.endpoint,
            spec.region,
            creds.access_key_id,
            creds.secret_access_key,
            state_path=workspace.state_file("platform"),
        ),
    )
    variables = [
        f"-var-file={params_path(env, root).resolve()}",
        *[f"-var={k}={v}" for k, v in package.terraform_vars().items()],
        f"-var-file={glue_var_file.resolve()}",
    ]
    started = time.perf_counter()
    runner.run(
        "platform", ["init", "-reconfigure", *COMMON], on_line=on_line, what="rehearsal: terraform init"
    )
    apply = runner.run(
        "platform",
        ["apply", "-json", "-auto-approve", *COMMON, *variables],
        on_line=on_line,
        what="rehearsal: terraform apply on the scratch engine",
    )
    report.applied = len(set(apply.completed))
    _timed(report, "apply", started)

    started = time.perf_counter()
    target = engine.target(spec.region)
    ensure_signing_key(spec, target)
    config = target.client("lambda").get_function_configuration(FunctionName=spec.auth_function)
    if config.get("CodeSha256") != package.sha256_b64:
        raise PromotionError(
            f"rehearsal: {spec.auth_function} runs code {config.get('CodeSha256')}, not the package "
            f"{package.sha256_b64}"
        )
    environment = dict(config.get("Environment", {}).get("Variables", {}))
    environment.update(
        {
            "AWS_ENDPOINT_URL": engine.endpoint,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        }
    )
    checked = check_auth_package(package.path, runtime=str(config.get("Runtime")), environment=environment)
    report.lambda_check = checked.as_dict()
    report.glue_jobs = _check_glue_jobs(spec, target, glue_var_file)
    _timed(report, "lambda_check", started)

    started = time.perf_counter()
    destroy = runner.run(
        "platform",
        ["destroy", "-json", "-auto-approve", *COMMON, *variables],
        on_line=on_line,
        what="rehearsal: terraform destroy on the scratch engine",
    )
    report.destroyed = len(set(destroy.completed))
    _timed(report, "destroy", started)


def _check_glue_jobs(spec: StackSpec, target: Any, glue_var_file: Path) -> dict[str, str]:
    """Each medallion job Terraform made runs the script nexuskit built: job name -> script URL.

    The job's ``ScriptLocation`` object is read back from the scratch engine and its SHA-256
    compared with the built file's (what the variable file promised Terraform).
    """
    import hashlib
    import json

    from botocore.exceptions import ClientError

    from nexuskit.lake.glue import job_name

    assets = json.loads(glue_var_file.read_text(encoding="utf-8"))["medallion_glue_assets"]
    glue, s3 = target.client("glue"), target.client("s3")
    jobs: dict[str, str] = {}
    for step, script in sorted(assets["scripts"].items()):
        name = job_name(spec, step)
        try:
            location = str(glue.get_job(JobName=name)["Job"]["Command"]["ScriptLocation"])
        except ClientError as exc:
            raise PromotionError(f"rehearsal: the Glue job {name} was not made by the apply: {exc}") from None
        bucket, _, key = location.removeprefix("s3://").partition("/")
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if hashlib.sha256(body).hexdigest() != script["sha256"]:
            raise PromotionError(
                f"rehearsal: the Glue job {name} runs {location}, whose bytes are not the built "
                f"{script['path']}"
            )
        jobs[name] = location
    return jobs
