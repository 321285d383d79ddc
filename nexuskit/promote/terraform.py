"""Terraform command lines of the promotion, built in one place for real runs and --dry-run.

Every command runs from the repository root with ``-chdir=terraform/stacks/<stack>``, so
the backend and variable files are written relative to the stack folder (as in
``terraform/README.md``) and plan files are absolute paths.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nexuskit.errors import ToolMissingError
from nexuskit.terraform.runner import terraform_binary

STACKS = ("platform", "workloads")
_COMMON = ("-input=false", "-no-color")
_LOCK = "-lock-timeout=5m"


def require_terraform() -> str:
    """The path of the terraform binary; one-line ToolMissingError when it is not on PATH."""
    name = terraform_binary()
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(
            f"terraform is not installed ({name!r} is not on PATH): nexuskit promote runs "
            "terraform init/plan/apply; install Terraform >= 1.11 or set NEXUSKIT_TERRAFORM"
        )
    return path


@dataclass(frozen=True)
class TerraformCommands:
    """Command lines for one environment (``envs/<env>/``) and its two stacks."""

    env: str
    binary: str = "terraform"

    def _base(self, stack: str) -> list[str]:
        if stack not in STACKS:
            raise ValueError(f"unknown stack {stack!r}")
        return [self.binary, f"-chdir=terraform/stacks/{stack}"]

    @property
    def var_file(self) -> str:
        return f"-var-file=../../envs/{self.env}/terraform.tfvars.json"

    @staticmethod
    def _vars(variables: Mapping[str, object] | None, var_files: Sequence[Path] = ()) -> list[str]:
        """``-var-file=`` for each built variable file (absolute paths), then ``-var=`` per variable."""
        args = [f"-var-file={Path(path).resolve()}" for path in var_files]
        for name, value in sorted((variables or {}).items()):
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            args.append(f"-var={name}={text}")
        return args

    def init(self, stack: str) -> list[str]:
        return [
            *self._base(stack),
            "init",
            *_COMMON,
            "-reconfigure",
            f"-backend-config=../../envs/{self.env}/backend.hcl",
        ]

    def drift(
        self, stack: str, variables: Mapping[str, object] | None = None, var_files: Sequence[Path] = ()
    ) -> list[str]:
        return [
            *self._base(stack),
            "plan",
            "-refresh-only",
            "-detailed-exitcode",
            *_COMMON,
            _LOCK,
            self.var_file,
            *self._vars(variables, var_files),
        ]

    def plan(
        self,
        stack: str,
        out: Path | str,
        variables: Mapping[str, object] | None = None,
        var_files: Sequence[Path] = (),
    ) -> list[str]:
        return [
            *self._base(stack),
            "plan",
            *_COMMON,
            _LOCK,
            self.var_file,
            *self._vars(variables, var_files),
            f"-out={out}",
        ]

    def show_json(self, stack: str, plan_file: Path | str) -> list[str]:
        return [*self._base(stack), "show", "-json", "-no-color", str(plan_file)]

    def apply(self, stack: str, plan_file: Path | str) -> list[str]:
        return [*self._base(stack), "apply", *_COMMON, _LOCK, str(plan_file)]

    def post_apply_plan(
        self, stack: str, variables: Mapping[str, object] | None = None, var_files: Sequence[Path] = ()
    ) -> list[str]:
        return [
            *self._base(stack),
            "plan",
            "-detailed-exitcode",
            *_COMMON,
            _LOCK,
            self.var_file,
            *self._vars(variables, var_files),
        ]

    def output_json(self, stack: str) -> list[str]:
        return [*self._base(stack), "output", "-json", "-no-color"]
