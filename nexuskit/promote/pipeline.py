"""``nexuskit promote``: the gated path from a green commit to AWS us-west-2.

Steps, in order; the first that fails stops the run with its reason:

 1. ``clean-tree``       no uncommitted change, no local ``*_override.tf`` in the stacks
 2. ``scenarios``        a green scenario record for exactly this commit (records.py)
 3. ``static-checks``    python-hcl2 invariants + parity (pytest), checkov (``--skip-checkov``
                         skips checkov with a printed warning)
 4. ``env-params``       no placeholder account, region us-west-2, S3 backend with lock file
 5. ``validate``         ``terraform init -backend=false`` + ``validate`` of both stacks with the
                         real providers, from nexuskit's CLI config (nexuskit.terraform)
 6. ``rehearsal``        the env's platform stack applied to a scratch embedded engine, the
                         packaged Lambda invoked in a clean interpreter, destroyed (rehearsal.py)
 7. ``aws-identity``     no local endpoint variables, credentials, caller in allowed accounts
 8. ``init``             ``terraform init -backend-config=../../envs/<env>/backend.hcl``
 9. ``drift``            ``plan -refresh-only -detailed-exitcode`` (2 = drift: stop unless
                         ``--accept-drift``)
10. ``plan``             ``plan -out`` then ``show -json`` (or the saved plan ``--approve`` names)
11. ``policy``           policy.py on the plan JSON  (``--plan-only`` stops here)
12. ``approval``         typed first 12 hex of the plan's sha256, or ``--approve SHA``
13. ``apply``            ``apply`` of exactly the approved plan file (hash checked again)
14. ``images``           service images built and pushed to ECR (images.py)
15. ``workloads``        the workloads stack: manifests rendered for the env, init, plan,
                         show -json, policy, apply
16. ``post-apply-plan``  ``plan -detailed-exitcode`` on both stacks must exit 0 (no changes)
17. ``smoke``            ``POST /auth`` gives a token; an unsigned call is refused (smoke.py)

Steps 5 and 6 come before the first AWS call. From step 5 on, every terraform process
gets nexuskit's CLI configuration (provider mirrors first), so the provider that was
validated and rehearsed is the one that applies. The platform plan gets the auth
Lambda's package (the zip the rehearsal checked) as ``auth_package_path``/``_sha256``
and the medallion Glue jobs' code (the files the rehearsal deployed and read back) as
``-var-file=<run>/rehearsal/build/glue/medallion-glue.tfvars.json``.

``--dry-run`` lists every step and command and runs none. Plans, their JSON and the log
of every command live in ``.nexus/promote/<env>/<commit>/`` (git-ignored).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexuskit.errors import ConfigError, NexuskitError, PromotionError
from nexuskit.params import StackSpec
from nexuskit.promote import gates, images, smoke
from nexuskit.promote.awsapi import AwsAccess
from nexuskit.promote.commands import CommandRunner
from nexuskit.promote.policy import PlanSummary, check_plan
from nexuskit.promote.records import RESULTS_DIR
from nexuskit.promote.rehearsal import RehearsalReport, rehearse
from nexuskit.promote.terraform import TerraformCommands, require_terraform
from nexuskit.terraform.runner import terraform_binary

log = logging.getLogger(__name__)

STEPS: tuple[tuple[str, str], ...] = (
    ("clean-tree", "clean git tree"),
    ("scenarios", "scenario suite green for this commit"),
    ("static-checks", "static checks (invariants, checkov)"),
    ("env-params", "environment parameters"),
    ("validate", "terraform validate with the real providers"),
    ("rehearsal", "rehearsal on a scratch engine"),
    ("aws-identity", "AWS credentials and account"),
    ("init", "terraform init (platform)"),
    ("drift", "drift check (platform)"),
    ("plan", "plan (platform)"),
    ("policy", "plan policy checks"),
    ("approval", "approval bound to the plan hash"),
    ("apply", "apply the approved plan (platform)"),
    ("images", "service images to ECR"),
    ("workloads", "workloads stack"),
    ("post-apply-plan", "post-apply plan is empty"),
    ("smoke", "smoke test"),
)
PLAN_ONLY_LAST = "policy"
SHORT = 12
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass
class PromoteOptions:
    """What to promote and how far. ``aws_endpoints`` is for tests (see awsapi.py)."""

    env: str = "prod"
    root: Path | None = None
    plan_only: bool = False
    dry_run: bool = False
    approve: str | None = None
    accept_drift: bool = False
    skip_checkov: bool = False
    aws_endpoints: dict[str, str] = field(default_factory=dict)


@dataclass
class StepResult:
    """One step as reported: pass, fail, warn-pass or dry-run, with the commands it ran."""

    name: str
    title: str
    status: str  # "pass", "fail" or "dry-run"
    reason: str
    commands: list[list[str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "reason": self.reason,
            "commands": [shlex.join(c) for c in self.commands],
            "warnings": list(self.warnings),
            "details": self.details,
            "duration_s": round(self.duration_s, 3),
        }


@dataclass
class PromotionReport:
    """Every step that ran, in order, and how the run ended."""

    env: str
    outcome: str = "running"  # applied | planned | stopped | dry-run
    commit: str | None = None
    plan_sha256: str | None = None
    plan_file: str | None = None
    log_file: str | None = None
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def failed_step(self) -> StepResult | None:
        return next((step for step in self.steps if not step.ok), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "outcome": self.outcome,
            "ok": self.ok,
            "commit": self.commit,
            "plan_sha256": self.plan_sha256,
            "plan_file": self.plan_file,
            "log_file": self.log_file,
            "steps": [step.as_dict() for step in self.steps],
        }


@dataclass(frozen=True)
class ApprovalRequest:
    """What a human approves: this plan file, with this hash and these changes."""

    env: str
    plan_file: Path
    sha256: str
    summary: PlanSummary

    @property
    def short(self) -> str:
        return self.sha256[:SHORT]


Confirm = Callable[[ApprovalRequest], str | None]
#: the rehearsal: (checkout, env, work folder, terraform's messages) -> what it did
Rehearse = Callable[[Path, str, Path, Callable[[str], None] | None], "RehearsalReport"]
StepCallback = Callable[[StepResult], None]
StartCallback = Callable[[str, str], None]


@dataclass
class _Outcome:
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def normalize_approval(value: str) -> str:
    """``--approve`` as lowercase hex; at least 12 digits (a prefix of the sha256)."""
    text = value.strip().lower().removeprefix("sha256:")
    if len(text) < SHORT or len(text) > 64 or not _HEX.match(text):
        raise ConfigError(
            f"--approve {value!r} is not a plan hash",
            "pass at least the first 12 hex digits of the sha256 that --plan-only printed",
        )
    return text


def find_root(start: Path | None = None) -> Path:
    """The checkout to promote: the nearest folder at or above ``start`` with terraform/envs."""
    from nexuskit.params import repo_root

    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "terraform" / "envs").is_dir():
            return folder
    return repo_root()


class Promotion:
    """One promotion run; :meth:`run` returns its :class:`PromotionReport`."""

    def __init__(
        self,
        options: PromoteOptions,
        confirm: Confirm | None = None,
        on_step: StepCallback | None = None,
        on_start: StartCallback | None = None,
        rehearsal: Rehearse | None = None,
    ) -> None:
        if options.env == "local":
            raise ConfigError(
                "env local is the local engine's parameter set; promotion targets AWS",
                "use --env prod",
            )
        self.options = options
        self.approve = normalize_approval(options.approve) if options.approve else None
        self.confirm = confirm
        self.on_step = on_step
        self.on_start = on_start
        self.root = (options.root or find_root()).resolve()
        self.tf = TerraformCommands(options.env, terraform_binary())
        self.runner = CommandRunner(self.root)
        self.report = PromotionReport(env=options.env)
        self.commit = "<commit>"
        self.spec: StackSpec | None = None
        self.plan_file: Path | None = None
        self.plan_sha: str | None = None
        self.plan_json: dict[str, Any] = {}
        self.image_overrides: dict[str, str] = {}
        self.rehearsal: Rehearse = rehearsal or rehearse
        self.package_vars: dict[str, str] = {}
        self.platform_var_files: list[Path] = []  # the Glue assets' variable file the rehearsal built
        self.account = ""
        self.manifests_dir: Path | None = None

    # -- paths ------------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.root / ".nexus" / "promote" / self.options.env / self.commit

    def _new_plan_file(self, stack: str) -> Path:
        if self.options.dry_run:
            return self.run_dir / f"{stack}-<n>.tfplan"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        taken = [
            int(m.group(1))
            for p in self.run_dir.glob(f"{stack}-*.tfplan")
            if (m := re.search(r"-(\d+)\.tfplan$", p.name))
        ]
        return self.run_dir / f"{stack}-{max(taken, default=0) + 1}.tfplan"

    def _saved_plan(self, stack: str, approved: str) -> Path | None:
        for path in sorted(self.run_dir.glob(f"{stack}-*.tfplan")):
            if sha256_of(path).startswith(approved):
                return path
        return None

    # -- driver -----------------------------------------------------------------------------
    def run(self) -> PromotionReport:
        """Run (or with dry_run, list) every step in order; stop at the first failure."""
        if self.options.dry_run:
            return self._dry_run()
        require_terraform()  # one line, before anything that needs it
        for name, title in STEPS:
            if not self._run_step(name, title):
                self.report.outcome = "stopped"
                return self.report
            if self.options.plan_only and name == PLAN_ONLY_LAST:
                self.report.outcome = "planned"
                return self.report
        self.report.outcome = "applied"
        return self.report

    def _run_step(self, name: str, title: str) -> bool:
        if self.on_start:
            self.on_start(name, title)
        start = len(self.runner.trail)
        started = time.perf_counter()
        step_fn: Callable[[], _Outcome] = getattr(self, "_step_" + name.replace("-", "_"))
        try:
            outcome = step_fn()
            result = StepResult(
                name, title, "pass", outcome.reason, details=outcome.details, warnings=outcome.warnings
            )
        except NexuskitError as exc:
            result = StepResult(name, title, "fail", str(exc))
        result.commands = [list(c) for c in self.runner.trail[start:]]
        result.duration_s = time.perf_counter() - started
        self.report.steps.append(result)
        if self.on_step:
            self.on_step(result)
        return result.ok

    def _dry_run(self) -> PromotionReport:
        self.report.outcome = "dry-run"
        self.report.log_file = str(self.run_dir / "promote.log")
        for name, title in STEPS:
            reason, commands = self._describe(name)
            result = StepResult(name, title, "dry-run", reason, commands=commands)
            if name == "init" and not _terraform_found():
                result.warnings.append("terraform is not on PATH: a real run stops before the first step")
            if name == "static-checks" and self.options.skip_checkov:
                result.warnings.append("checkov would be skipped (--skip-checkov)")
            self.report.steps.append(result)
            if self.on_step:
                self.on_step(result)
            if self.options.plan_only and name == PLAN_ONLY_LAST:
                break
        return self.report

    def _describe(self, name: str) -> tuple[str, list[list[str]]]:
        tf = self.tf
        plan = self.run_dir / "platform-<n>.tfplan"
        wl_plan = self.run_dir / "workloads-<n>.tfplan"
        overrides = {"image_overrides": "<ECR images of this commit>"}
        record = RESULTS_DIR / "<commit>.json"
        table: dict[str, tuple[str, list[list[str]]]] = {
            "clean-tree": (
                "git status must be empty; no *_override.tf under terraform/stacks",
                [["git", "status", "--porcelain"], ["git", "rev-parse", "HEAD"]],
            ),
            "scenarios": (f"read {record}: passed > 0, failed == 0, clean tree", []),
            "static-checks": (
                "python-hcl2 invariants and parity, then checkov",
                gates.static_check_commands(self.options.skip_checkov),
            ),
            "env-params": (
                f"read terraform/envs/{self.options.env}/terraform.tfvars.json and backend.hcl: "
                f"no {gates.PLACEHOLDER_ACCOUNT}, region {gates.PROMOTION_REGION}",
                [],
            ),
            "validate": (
                "both stacks: init -backend=false and validate in a copy of terraform/, providers "
                "from the mirrors nexuskit finds",
                [[tf.binary, "init", "-backend=false"], [tf.binary, "validate", "-json"]],
            ),
            "rehearsal": (
                "build the auth Lambda's package; scratch engine; init, apply of stacks/platform with "
                f"envs/{self.options.env}; Lambda invoked in a clean interpreter; destroy",
                [],
            ),
            "aws-identity": ("STS GetCallerIdentity: account in allowed_account_ids", []),
            "init": ("platform stack with the S3 backend", [tf.init("platform")]),
            "drift": (
                "exit 2 (drift) stops the run"
                + (" (--accept-drift: continue)" if self.options.accept_drift else ""),
                [tf.drift("platform")],
            ),
            "plan": ("saved plan and its JSON", [tf.plan("platform", plan), tf.show_json("platform", plan)]),
            "policy": ("no destroy/replace of buckets, streams, Lake Formation; no IAM * actions", []),
            "approval": (
                f"--approve {self.approve}" if self.approve else "type the first 12 hex of the plan's sha256",
                [],
            ),
            "apply": ("exactly the approved plan file", [tf.apply("platform", plan)]),
            "images": (
                "ECR repositories nexus/<service>; docker build and push tagged <commit>",
                [
                    ["docker", "info", "--format", "{{.ServerVersion}}"],
                    images.login_command("<account>.dkr.ecr.us-west-2.amazonaws.com"),
                    *[
                        c
                        for image in images.discover_images(self.root)
                        for c in images.build_commands(
                            image, f"<account>.dkr.ecr.us-west-2.amazonaws.com/{image.name}:<commit>"
                        )
                    ],
                ],
            ),
            "workloads": (
                "manifests rendered for the env into the run folder (manifests_dir), then init, plan, "
                "policy checks and apply of the workloads stack",
                [
                    tf.init("workloads"),
                    tf.plan("workloads", wl_plan, overrides),
                    tf.show_json("workloads", wl_plan),
                    tf.apply("workloads", wl_plan),
                ],
            ),
            "post-apply-plan": (
                "both stacks must exit 0 (no changes)",
                [tf.post_apply_plan("platform"), tf.post_apply_plan("workloads", overrides)],
            ),
            "smoke": (
                "POST <http_api.auth_url> gives a token; an unsigned Kinesis call is refused",
                [tf.output_json("platform")],
            ),
        }
        return table[name]

    # -- steps ------------------------------------------------------------------------------
    def _step_clean_tree(self) -> _Outcome:
        passed, self.commit = gates.check_clean_tree(self.runner, self.root)
        self.report.commit = self.commit
        self.runner.log_file = self.run_dir / "promote.log"
        self.report.log_file = str(self.runner.log_file)
        return _Outcome(passed.reason, passed.details, passed.warnings)

    def _step_scenarios(self) -> _Outcome:
        passed = gates.check_scenario_record(self.root, self.commit)
        return _Outcome(passed.reason, passed.details)

    def _step_static_checks(self) -> _Outcome:
        passed = gates.check_static(self.runner, self.root, self.options.skip_checkov)
        return _Outcome(passed.reason, passed.details, passed.warnings)

    def _step_env_params(self) -> _Outcome:
        passed, self.spec = gates.check_env_params(self.root, self.options.env)
        return _Outcome(passed.reason, passed.details)

    def _step_validate(self) -> _Outcome:
        from nexuskit.terraform import validate_stacks

        results = validate_stacks(self.root, self.run_dir / "terraform-validate")
        bad = [r for r in results if r.status != "valid"]
        if bad:
            raise PromotionError(
                f"terraform validate: {bad[0].reason}"
                + (f" (and {len(bad) - 1} more stack(s))" if len(bad) > 1 else "")
            )
        self._use_nexuskit_cli_config()
        return _Outcome("; ".join(r.reason for r in results), {"stacks": [r.as_dict() for r in results]})

    def _use_nexuskit_cli_config(self) -> None:
        """Every later terraform command gets the CLI config validation used (same providers)."""
        from nexuskit.terraform.cliconfig import CLI_CONFIG_NAME

        config = self.run_dir / "terraform-validate" / CLI_CONFIG_NAME
        if config.is_file():
            self.runner.env["TF_CLI_CONFIG_FILE"] = str(config)
            self.runner.env.pop("TF_PLUGIN_CACHE_DIR", None)

    def _step_rehearsal(self) -> _Outcome:
        report = self.rehearsal(self.root, self.options.env, self.run_dir / "rehearsal", None)
        package = report.package
        if package.get("path") and package.get("sha256_b64"):
            self.package_vars = {
                "auth_package_path": str(package["path"]),
                "auth_package_sha256": str(package["sha256_b64"]),
            }
        if report.glue_var_file:
            self.platform_var_files = [Path(report.glue_var_file)]
        return _Outcome(report.summary, report.as_dict())

    def _aws(self) -> AwsAccess:
        region = self.spec.region if self.spec else gates.PROMOTION_REGION
        return AwsAccess(region, self.options.aws_endpoints)

    def _step_aws_identity(self) -> _Outcome:
        assert self.spec is not None
        passed = gates.check_aws_identity(self.spec, self._aws())
        self.account = str(passed.details.get("account") or "")
        return _Outcome(passed.reason, passed.details)

    def _terraform(self, argv: list[str], what: str, ok: tuple[int, ...] = (0,)) -> int:
        result = self.runner.run(argv, log_stdout=not (len(argv) > 2 and argv[2] in {"show", "output"}))
        if result.returncode not in ok:
            raise PromotionError(f"{what} failed (exit {result.returncode}): {result.error_line()}")
        return result.returncode

    def _show_json(self, stack: str, plan_file: Path) -> dict[str, Any]:
        result = self.runner.run(self.tf.show_json(stack, plan_file), log_stdout=False)
        if result.returncode != 0:
            raise PromotionError(f"terraform show -json failed: {result.error_line()}")
        try:
            doc = json.loads(result.stdout)
        except ValueError:
            raise PromotionError("terraform show -json did not print JSON") from None
        if not isinstance(doc, dict):
            raise PromotionError("terraform show -json did not print a JSON object")
        plan_file.with_suffix(".json").write_text(json.dumps(doc), encoding="utf-8")
        return doc

    def _step_init(self) -> _Outcome:
        self._terraform(self.tf.init("platform"), "terraform init")
        return _Outcome(f"platform stack initialised with envs/{self.options.env}/backend.hcl")

    def _step_drift(self) -> _Outcome:
        code = self._terraform(
            self.tf.drift("platform", self.package_vars, self.platform_var_files), "drift check", ok=(0, 2)
        )
        if code == 0:
            return _Outcome("no drift: AWS matches the state")
        if not self.options.accept_drift:
            raise PromotionError(
                "drift: resources changed outside terraform since the last apply (see "
                f"{self.runner.log_file}); reconcile them, or re-run with --accept-drift to overwrite"
            )
        return _Outcome(
            "drift accepted (--accept-drift): the apply overwrites changes made outside terraform",
            warnings=["drift accepted: changes made outside terraform will be overwritten"],
        )

    def _step_plan(self) -> _Outcome:
        saved = self._saved_plan("platform", self.approve) if self.approve else None
        if saved is not None:
            self.plan_file = saved
            how = f"reusing the saved plan {saved.name}"
        else:
            self.plan_file = self._new_plan_file("platform")
            self._terraform(
                self.tf.plan("platform", self.plan_file, self.package_vars, self.platform_var_files),
                "terraform plan",
            )
            how = f"plan written to {self.plan_file.relative_to(self.root)}"
        self.plan_json = self._show_json("platform", self.plan_file)
        self.plan_sha = sha256_of(self.plan_file)
        self.report.plan_sha256 = self.plan_sha
        self.report.plan_file = str(self.plan_file)
        return _Outcome(f"{how}, sha256 {self.plan_sha[:SHORT]}", {"sha256": self.plan_sha})

    def _policy(self, plan: dict[str, Any], stack: str) -> PlanSummary:
        report = check_plan(plan)
        if report.violations:
            shown = "; ".join(str(v) for v in report.violations[:5])
            more = f" and {len(report.violations) - 5} more" if len(report.violations) > 5 else ""
            raise PromotionError(f"{stack} plan breaks the promotion policy: {shown}{more}")
        return report.summary

    def _step_policy(self) -> _Outcome:
        summary = self._policy(self.plan_json, "platform")
        reason = f"no destroy/replace of protected resources, no IAM wildcard actions ({summary})"
        details: dict[str, Any] = {"summary": summary.as_dict()}
        if self.options.plan_only:
            assert self.plan_sha is not None
            details["apply_with"] = (
                f"nexuskit promote --env {self.options.env} --approve {self.plan_sha[:SHORT]}"
            )
        return _Outcome(reason, details)

    def _step_approval(self) -> _Outcome:
        assert self.plan_file is not None and self.plan_sha is not None
        short = self.plan_sha[:SHORT]
        if self.approve:
            if not self.plan_sha.startswith(self.approve):
                raise PromotionError(
                    f"plan hash mismatch: --approve {self.approve[:SHORT]} but this plan is {short}; "
                    "nothing applied (review the new plan and approve its hash)"
                )
            return _Outcome(f"approved by --approve {self.approve[:SHORT]}", {"sha256": self.plan_sha})
        if self.confirm is None:
            raise PromotionError(
                f"approval needed for plan {short}: run interactively, or pass --approve {short}"
            )
        request = ApprovalRequest(
            self.options.env, self.plan_file, self.plan_sha, check_plan(self.plan_json).summary
        )
        typed = (self.confirm(request) or "").strip().lower()
        if typed != short:
            raise PromotionError(f"typed confirmation {typed!r} does not match plan {short}; nothing applied")
        return _Outcome(f"confirmed by typing {short}", {"sha256": self.plan_sha})

    def _step_apply(self) -> _Outcome:
        assert self.plan_file is not None and self.plan_sha is not None
        if sha256_of(self.plan_file) != self.plan_sha:
            raise PromotionError(f"{self.plan_file} changed after approval; nothing applied")
        self._terraform(self.tf.apply("platform", self.plan_file), "terraform apply")
        return _Outcome(f"applied plan {self.plan_sha[:SHORT]}", {"plan_file": str(self.plan_file)})

    def _step_images(self) -> _Outcome:
        result = images.push_images(self.runner, self._aws(), self.root, self.commit[:SHORT])
        self.image_overrides = dict(result["image_overrides"])
        if not self.image_overrides:
            return _Outcome("no services/**/Dockerfile: nothing to build", result)
        return _Outcome(
            f"{len(result['built'])} image(s) built and pushed, {len(result['reused'])} already in ECR",
            result,
        )

    def _workload_vars(self) -> dict[str, object]:
        variables: dict[str, object] = {}
        if self.manifests_dir is not None:
            variables["manifests_dir"] = str(self.manifests_dir)
        if self.image_overrides:
            variables["image_overrides"] = self.image_overrides
        return variables

    def _render_manifests(self) -> Path:
        """The services' manifests rendered for this environment: what the workloads stack applies."""
        from nexuskit.controlplane.render import manifest_values, render_manifests

        assert self.spec is not None
        outputs = self._outputs()
        invoke_url = smoke.output_value(outputs, "http_api", "invoke_url")
        issuer = smoke.output_value(outputs, "cluster", "oidc_issuer_url")
        values = manifest_values(
            self.spec,
            account_id=self.account or None,
            api_invoke_url=str(invoke_url or ""),
            tag=self.commit[:SHORT],
            oidc_issuer=str(issuer) if issuer else None,
        )
        out = self.run_dir / "manifests"
        render_manifests(self.spec, out, services_dir=self.root / "services", values=values)
        return out

    def _outputs(self) -> dict[str, Any]:
        result = self.runner.run(self.tf.output_json("platform"), log_stdout=False)
        if result.returncode != 0:
            raise PromotionError(f"terraform output failed: {result.error_line()}")
        try:
            outputs = json.loads(result.stdout)
        except ValueError:
            raise PromotionError("terraform output -json did not print JSON") from None
        return outputs if isinstance(outputs, dict) else {}

    def _step_workloads(self) -> _Outcome:
        self.manifests_dir = self._render_manifests()
        self._terraform(self.tf.init("workloads"), "terraform init (workloads)")
        plan_file = self._new_plan_file("workloads")
        self._terraform(
            self.tf.plan("workloads", plan_file, self._workload_vars()), "terraform plan (workloads)"
        )
        summary = self._policy(self._show_json("workloads", plan_file), "workloads")
        self._terraform(self.tf.apply("workloads", plan_file), "terraform apply (workloads)")
        return _Outcome(f"workloads applied ({summary})", {"plan_file": str(plan_file)})

    def _step_post_apply_plan(self) -> _Outcome:
        runs: tuple[tuple[str, dict[str, Any], list[Path]], ...] = (
            ("platform", dict(self.package_vars), self.platform_var_files),
            ("workloads", self._workload_vars(), []),
        )
        for stack, variables, var_files in runs:
            code = self._terraform(
                self.tf.post_apply_plan(stack, variables, var_files), f"post-apply plan ({stack})", ok=(0, 2)
            )
            if code == 2:
                raise PromotionError(
                    f"post-apply plan of the {stack} stack is not empty: terraform still wants changes "
                    f"right after apply (see {self.runner.log_file})"
                )
        return _Outcome("both stacks: no changes after apply")

    def _step_smoke(self) -> _Outcome:
        outputs = self._outputs()
        auth_url = smoke.output_value(outputs, "http_api", "auth_url")
        stream = smoke.output_value(outputs, "streams", "client", "name")
        if not auth_url or not stream:
            raise PromotionError("terraform output lacks http_api.auth_url or streams.client.name")
        issued = smoke.token_is_issued(str(auth_url))
        refused = smoke.unsigned_call_is_refused(self._aws().service_url("kinesis"), str(stream))
        return _Outcome(f"{issued}; {refused}", {"auth_url": auth_url})


def _terraform_found() -> bool:
    import shutil

    return shutil.which(terraform_binary()) is not None


def promote(
    options: PromoteOptions,
    confirm: Confirm | None = None,
    on_step: StepCallback | None = None,
    on_start: StartCallback | None = None,
    rehearsal: Rehearse | None = None,
) -> PromotionReport:
    """Run the promotion (see the module docstring for the steps); returns the report.

    A failing step does not raise: the report ends with it (``report.ok`` is False). A
    missing terraform raises :class:`~nexuskit.errors.ToolMissingError` before any step.
    ``rehearsal`` replaces :func:`~nexuskit.promote.rehearsal.rehearse` (tests).
    """
    return Promotion(options, confirm, on_step, on_start, rehearsal).run()
