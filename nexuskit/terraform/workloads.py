"""What the workloads stack would deploy, as Terraform itself computes it.

The workloads stack hands a folder of rendered manifests to ``modules/manifests``, which
needs no provider; :func:`terraform_workload_keys` evaluates that module with
``terraform console`` (in a workspace copy) and returns every object it would apply as
``kind/namespace/name``. Tests compare it with the set the local runtime runs; the
promotion compares the two before it applies the workloads stack.
"""

from __future__ import annotations

import json
from pathlib import Path

from nexuskit.terraform.errors import TerraformError
from nexuskit.terraform.workspace import Workspace


def terraform_workload_keys(workspace: Workspace, manifests_dir: Path) -> list[str]:
    """``kind/namespace/name`` of every object Terraform would apply from ``manifests_dir``."""
    runner = workspace.prepare()
    module = workspace.source / "modules" / "manifests"
    out = runner.console(
        module,
        "jsonencode(sort(keys(local.objects)))",
        [f"-var=manifests_dir={manifests_dir.resolve()}"],
    )
    try:
        keys = json.loads(json.loads(out))
    except ValueError:
        raise TerraformError(f"terraform console printed {out[:200]!r}, not a JSON list") from None
    return [str(k) for k in keys]
