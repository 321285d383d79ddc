"""nexuskit runs Terraform itself: provider mirrors, its own CLI config, a runner, local runs.

* :mod:`~nexuskit.terraform.mirrors`: find the provider mirrors on this machine
  (``NEXUSKIT_TF_PLUGIN_DIR``, the user's CLI config, Terraform's implied local mirror
  directories, a search of the usual install prefixes);
* :mod:`~nexuskit.terraform.cliconfig`: nexuskit's own CLI configuration under the state
  dir (filesystem mirrors, ``direct { exclude }``, ``plugin_cache_dir``), passed to every
  terraform process as ``TF_CLI_CONFIG_FILE``;
* :mod:`~nexuskit.terraform.runner`: the terraform binary with that environment, ``-json``
  events parsed, one-line errors (:class:`TerraformError`);
* :mod:`~nexuskit.terraform.workspace`: the copy of ``terraform/`` terraform runs in;
* :mod:`~nexuskit.terraform.validate`: init + validate of every stack, offline;
* :mod:`~nexuskit.terraform.local`: plan/apply/destroy against the running engine and
  ``up --provisioner terraform``.
"""

from __future__ import annotations

from nexuskit.terraform.errors import ProviderMissingError, TerraformError
from nexuskit.terraform.mirrors import MirrorSearch, ProviderMirror, discover_mirrors
from nexuskit.terraform.runner import (
    Diagnostic,
    TerraformRun,
    TerraformRunner,
    require_terraform,
    terraform_binary,
    terraform_version,
)
from nexuskit.terraform.validate import StackValidation, validate_stacks
from nexuskit.terraform.workspace import STACKS, Workspace

__all__ = [
    "STACKS",
    "Diagnostic",
    "MirrorSearch",
    "ProviderMirror",
    "ProviderMissingError",
    "StackValidation",
    "TerraformError",
    "TerraformRun",
    "TerraformRunner",
    "Workspace",
    "discover_mirrors",
    "require_terraform",
    "terraform_binary",
    "terraform_version",
    "validate_stacks",
]
