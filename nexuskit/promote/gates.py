"""The gates before terraform: clean tree, green scenarios, static checks, parameters, identity.

Each gate returns a :class:`Passed` (reason, details, warnings) or raises
:class:`~nexuskit.errors.PromotionError` whose message is the one-line reason.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from nexuskit.errors import ConfigError, PromotionError, ScenarioError
from nexuskit.params import StackSpec, load_stack, params_path
from nexuskit.promote.awsapi import AwsAccess, foreign_endpoint_variables
from nexuskit.promote.commands import CommandResult, CommandRunner
from nexuskit.promote.records import read_scenario_record, record_path

PLACEHOLDER_ACCOUNT = "123456789012"
PROMOTION_REGION = "us-west-2"
OVERRIDE_GLOBS = ("*_override.tf", "*_override.tf.json")
# The gates leave the checkout as they found it (a plan-only run and the approving run both
# require a clean tree): no bytecode (-B, pytest's rewritten test modules included), no cache.
INVARIANTS_COMMAND = [
    sys.executable,
    "-B",
    "-m",
    "pytest",
    "tests/terraform",
    "-q",
    "-m",
    "not slow",
    "-p",
    "no:cacheprovider",
]
CHECKOV_COMMAND = ["bash", "terraform/scripts/checkov.sh"]
_FLAT_ATTR = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:"([^"]*)"|(\S+))\s*$')


@dataclass
class Passed:
    """A gate that passed: why, plus data for ``--json`` and warnings to print."""

    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _short(commit: str) -> str:
    return commit[:12]


# -- 1. clean tree ------------------------------------------------------------------------


def override_files(root: Path) -> list[Path]:
    """Local provider overrides under terraform/stacks (git-ignored, so git cannot see them)."""
    stacks = root / "terraform" / "stacks"
    found: set[Path] = set()
    for pattern in OVERRIDE_GLOBS:
        found.update(stacks.glob(f"*/{pattern}"))
    return sorted(found)


def check_clean_tree(runner: CommandRunner, root: Path) -> tuple[Passed, str]:
    """The tree has no uncommitted change and no local override; returns the HEAD commit."""
    status = runner.run(["git", "status", "--porcelain"])
    if status.returncode != 0:
        raise PromotionError(f"{root} is not a git checkout ({status.error_line()})")
    changes = [line[3:] for line in status.stdout.splitlines() if line.strip()]
    if changes:
        shown = ", ".join(changes[:5]) + (f" and {len(changes) - 5} more" if len(changes) > 5 else "")
        raise PromotionError(
            f"working tree is not clean: {len(changes)} uncommitted change(s): {shown} "
            "(commit or stash them; promotion deploys a commit)"
        )
    overrides = override_files(root)
    if overrides:
        names = ", ".join(str(p.relative_to(root)) for p in overrides)
        raise PromotionError(
            f"local override file(s) {names} would point terraform at a local engine; delete them "
            "(written by `nexuskit tf override`, git-ignored)"
        )
    head = runner.run(["git", "rev-parse", "HEAD"])
    commit = head.stdout.strip()
    if head.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise PromotionError(f"cannot read the HEAD commit ({head.error_line()})")
    return Passed(f"working tree clean at {_short(commit)}", {"commit": commit}), commit


# -- 2. scenario record -------------------------------------------------------------------


def check_scenario_record(root: Path, commit: str) -> Passed:
    """The scenario suite ran green on exactly this commit, from a clean tree."""
    try:
        record = read_scenario_record(commit, root)
    except ScenarioError as exc:
        raise PromotionError(str(exc)) from None
    where = record_path(commit, root).relative_to(root)
    if record is None:
        raise PromotionError(
            f"no scenario record for commit {_short(commit)} (expected {where}): run the scenario "
            "suite on this commit first"
        )
    if record.commit != commit:
        raise PromotionError(f"{where} names commit {_short(record.commit)}, not {_short(commit)}")
    if record.failed:
        failed = ", ".join(s.name for s in record.scenarios if s.status == "failed")
        raise PromotionError(f"scenario suite is red for {_short(commit)}: {record.failed} failed ({failed})")
    if record.dirty:
        raise PromotionError(
            f"scenario record for {_short(commit)} was written from a dirty tree; re-run the suite "
            "on a clean checkout"
        )
    if not record.passed:
        raise PromotionError(f"scenario record for {_short(commit)} has no passed scenario")
    return Passed(
        f"{record.passed} scenario(s) passed on {_short(commit)} at {record.finished_at}",
        {"record": str(where), "passed": record.passed, "skipped": record.skipped},
    )


# -- 3. static checks ---------------------------------------------------------------------


def static_check_commands(skip_checkov: bool) -> list[list[str]]:
    return [list(INVARIANTS_COMMAND)] + ([] if skip_checkov else [list(CHECKOV_COMMAND)])


def _checkov_line(result: CommandResult) -> str:
    for line in (result.stdout + "\n" + result.stderr).splitlines():
        if "Failed checks:" in line:
            return line.strip()
    return result.error_line(prefer_error=False)


def check_static(runner: CommandRunner, root: Path, skip_checkov: bool) -> Passed:
    """The python-hcl2 invariants and parity tests, then checkov over terraform/."""
    if not (root / "tests" / "terraform").is_dir():
        raise PromotionError(f"{root / 'tests' / 'terraform'} not found: the static checks are missing")
    invariants = runner.run(INVARIANTS_COMMAND, timeout=900)
    if invariants.returncode != 0:
        raise PromotionError(f"terraform invariants failed: {invariants.error_line(prefer_error=False)}")
    done = [f"invariants: {invariants.error_line(prefer_error=False)}"]
    warnings = []
    if skip_checkov:
        warnings.append("checkov was skipped (--skip-checkov): the terraform security scan did not run")
    else:
        if not (root / CHECKOV_COMMAND[1]).is_file():
            raise PromotionError(f"{CHECKOV_COMMAND[1]} not found: cannot run checkov")
        checkov = runner.run(CHECKOV_COMMAND, timeout=900)
        if checkov.returncode != 0:
            raise PromotionError(f"checkov failed: {_checkov_line(checkov)}")
        done.append(f"checkov: {_checkov_line(checkov)}")
    return Passed("; ".join(done), warnings=warnings)


# -- 4. environment parameters ------------------------------------------------------------


def read_flat_hcl(path: Path) -> dict[str, str]:
    """``key = value`` lines of a backend config file (comments ignored)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _FLAT_ATTR.match(line.split("#", 1)[0])
        if match:
            values[match.group(1)] = match.group(2) if match.group(2) is not None else match.group(3)
    return values


def check_env_params(root: Path, env: str) -> tuple[Passed, StackSpec]:
    """A real account in allowed_account_ids, region us-west-2, a complete S3 backend config."""
    try:
        spec = load_stack(params_path(env, root))
    except ConfigError as exc:
        raise PromotionError(str(exc)) from None
    problems = []
    allowed = spec.params.allowed_account_ids
    if PLACEHOLDER_ACCOUNT in allowed:
        problems.append(
            f"allowed_account_ids still holds the placeholder account {PLACEHOLDER_ACCOUNT} "
            "(put the real account in the parameter file)"
        )
    elif not allowed:
        problems.append("allowed_account_ids is empty (name the account promotion may touch)")
    if spec.region != PROMOTION_REGION:
        problems.append(f"region is {spec.region}, promotion targets {PROMOTION_REGION}")
    backend = root / "terraform" / "envs" / env / "backend.hcl"
    if not backend.is_file():
        problems.append(f"{backend.relative_to(root)} is missing (the S3 state backend)")
    else:
        values = read_flat_hcl(backend)
        if PLACEHOLDER_ACCOUNT in values.get("bucket", PLACEHOLDER_ACCOUNT):
            problems.append(
                f"{backend.relative_to(root)}: bucket {values.get('bucket')!r} still names the "
                "placeholder account (bootstrap the state bucket, then name it)"
            )
        if values.get("region") != PROMOTION_REGION:
            problems.append(f"{backend.relative_to(root)}: region must be {PROMOTION_REGION}")
        if values.get("use_lockfile") != "true":
            problems.append(f"{backend.relative_to(root)}: use_lockfile must be true")
    if problems:
        raise PromotionError(f"{params_path(env, root).relative_to(root)}: " + "; ".join(problems))
    return (
        Passed(
            f"accounts {', '.join(allowed)}, region {spec.region}, S3 backend with lock file",
            {"allowed_account_ids": list(allowed), "region": spec.region},
        ),
        spec,
    )


# -- 5. AWS identity ----------------------------------------------------------------------


def check_aws_identity(spec: StackSpec, aws: AwsAccess) -> Passed:
    """Credentials are present and belong to an allowed account (STS GetCallerIdentity)."""
    foreign = foreign_endpoint_variables(os.environ)
    if foreign:
        name, value = next(iter(foreign.items()))
        raise PromotionError(
            f"{name}={value} is set: terraform and boto3 would talk to it instead of AWS; unset it "
            "(`nexuskit env` sets it for the local engine)"
        )
    if not aws.credentials_present():
        raise PromotionError(
            "no AWS credentials found: set AWS_PROFILE (after `aws sso login`) or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the prod account"
        )
    try:
        identity = aws.caller_identity()
    except (BotoCoreError, ClientError) as exc:
        raise PromotionError(f"STS GetCallerIdentity failed: {exc}") from None
    allowed = spec.params.allowed_account_ids
    if identity["Account"] not in allowed:
        raise PromotionError(
            f"caller {identity['Arn']} is in account {identity['Account']}, which is not in "
            f"allowed_account_ids ({', '.join(allowed)})"
        )
    return Passed(
        f"caller {identity['Arn']} in allowed account {identity['Account']}",
        {"account": identity["Account"], "arn": identity["Arn"]},
    )
