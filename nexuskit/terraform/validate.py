"""``terraform init -backend=false`` + ``validate`` of every stack, offline, with the real providers.

A stack whose provider is in no mirror (and the registry unreachable) is *skipped* with
one line that says which provider is missing; the other stacks are still validated.
Nothing touches the checkout: the stacks are copied into a workspace folder first
(:mod:`nexuskit.terraform.workspace`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexuskit.terraform.errors import TerraformError
from nexuskit.terraform.mirrors import MirrorSearch
from nexuskit.terraform.runner import Diagnostic, Line
from nexuskit.terraform.workspace import STACKS, Workspace

VALID, INVALID, SKIPPED = "valid", "invalid", "skipped"


@dataclass
class StackValidation:
    """How one stack fared: valid, invalid (with terraform's errors) or skipped (and why)."""

    stack: str
    status: str
    reason: str
    seconds: float = 0.0
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != INVALID

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
            "diagnostics": [d.as_dict() for d in self.diagnostics],
        }


def validate_stack(workspace: Workspace, stack: str, on_line: Line | None = None) -> StackValidation:
    """Init (no backend) and validate one stack of ``workspace``."""
    started = time.perf_counter()
    runner = workspace.prepare()
    workspace.write_override(stack, None)
    missing = workspace.missing_providers(stack)
    init = runner.run(
        stack, ["init", "-backend=false", "-input=false", "-no-color"], ok=(0, 1), on_line=on_line
    )
    if init.exit_code != 0:
        if missing:
            return StackValidation(stack, SKIPPED, workspace.missing_reason(stack, missing), init.seconds)
        return StackValidation(
            stack, INVALID, f"{stack}: terraform init failed: {init.error_line()}", init.seconds, init.errors
        )
    run = runner.run(stack, ["validate", "-json", "-no-color"], ok=(0, 1))
    try:
        doc = json.loads(run.stdout)
    except ValueError:
        raise TerraformError(f"terraform validate ({stack}) did not print JSON: {run.error_line()}") from None
    diagnostics = [
        Diagnostic(str(d.get("severity", "error")), str(d.get("summary", "")), str(d.get("detail", "")))
        for d in doc.get("diagnostics", [])
    ]
    seconds = time.perf_counter() - started
    errors = [d for d in diagnostics if d.severity == "error"]
    if doc.get("valid") and not errors:
        warnings = len(diagnostics)
        note = f" ({warnings} warning(s))" if warnings else ""
        return StackValidation(stack, VALID, f"{stack}: valid{note}", seconds, diagnostics)
    first = errors[0].summary if errors else "invalid"
    more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    return StackValidation(stack, INVALID, f"{stack}: {first}{more}", seconds, diagnostics)


def validate_stacks(
    root: Path,
    folder: Path,
    stacks: Iterable[str] = STACKS,
    *,
    on_line: Line | None = None,
    mirrors: MirrorSearch | None = None,
    env: Mapping[str, str] | None = None,
) -> list[StackValidation]:
    """Validate each of ``stacks`` of the checkout at ``root`` in the workspace ``folder``."""
    workspace = Workspace(folder, root, mirrors=mirrors, env=env)
    return [validate_stack(workspace, stack, on_line) for stack in stacks]
