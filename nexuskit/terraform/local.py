"""Terraform against the running local engine: ``nexuskit tf ... --local`` and ``up --provisioner terraform``.

:class:`LocalTerraform` runs the repository's stacks (copied into ``<state>/terraform``,
see :mod:`nexuskit.terraform.workspace`) against the stack's engine:

* the endpoint override for the running engine (:func:`nexuskit.tfoverride.render_override`:
  every AWS service the stacks use -> the engine, the stack's admin keys, the ``skip_*``
  settings an emulator needs, path-style S3) and a local backend whose state file is
  ``<state>/terraform/state/<stack>.tfstate``;
* the parameters of the stack (``envs/<env>/terraform.tfvars.json`` or
  ``NEXUSKIT_PARAMS_FILE``), and the auth Lambda's package (built into
  ``<state>/terraform/build/``) as ``auth_package_path``/``auth_package_sha256``, and the
  medallion Glue jobs' code (scripts, library wheel, compiled dataset files; built into
  ``<state>/terraform/build/glue/`` by :func:`nexuskit.lake.glue.build_assets`) as
  ``medallion_glue_assets`` (``-var-file=.../medallion-glue.tfvars.json``);
* for the workloads stack, the manifests the local runtime runs (``<state>/manifests``)
  and, when the runtime serves its Kubernetes API, its kubeconfig (``<state>/kubeconfig``;
  ``--kubeconfig`` names another, a kind cluster's say).

:func:`provision_with_terraform` is what ``up --provisioner terraform`` calls: init and
apply of the platform stack, then what nexuskit (not Terraform) owns around it: the
token signing key set in its secret (no private key in the state) and the Glue tables of
the lake's datasets (their schemas come from ``lake/datasets/*.yaml``). Terraform owns the
rest: the Glue databases, the medallion jobs with their role, code and assets bucket, the
Lake Formation tier grants of ``lake_grants`` and agent-core's DynamoDB tables.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.edge.package import BuiltPackage, build_auth_package
from nexuskit.engine import EmbeddedEngine
from nexuskit.errors import ConfigError, EngineError
from nexuskit.params import StackSpec, params_path
from nexuskit.terraform.errors import ProviderMissingError, TerraformError
from nexuskit.terraform.runner import Line, TerraformRun
from nexuskit.terraform.workspace import Workspace
from nexuskit.tfoverride import render_override, targets_aws

if TYPE_CHECKING:
    from nexuskit.lake.glue import GlueAssets

log = logging.getLogger(__name__)

WORKSPACE_NAME = "terraform"
COMMON = ("-input=false", "-no-color")


@dataclass
class LocalTerraform:
    """The stacks of the checkout at ``root`` against the engine of ``settings``."""

    settings: KitSettings
    root: Path
    on_line: Line | None = None
    kubeconfig: Path | None = None
    allow_download: bool = False
    package: BuiltPackage | None = field(default=None, init=False)
    glue_assets: GlueAssets | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if targets_aws(self.settings.env, self.root):
            raise ConfigError(
                f"env {self.settings.env} deploys to AWS: --local runs only take local parameter sets",
                "use --env local (promotion runs prod: nexuskit promote --env prod)",
            )
        self.params_file = (self.settings.params_file or params_path(self.settings.env, self.root)).resolve()
        self.spec = self.settings.stack()
        self.engine = EmbeddedEngine(self.settings)
        self.workspace = Workspace(self.engine.state_dir / WORKSPACE_NAME, self.root)

    # -- inputs ---------------------------------------------------------------------------
    def require_engine(self) -> None:
        if self.engine.pid() is None:
            raise EngineError(
                f"no engine is running for {self.engine.state_dir}",
                "start it with `nexuskit up --local` (add --no-control-plane for the AWS side only)",
            )

    def build_package(self) -> BuiltPackage:
        """The auth Lambda's package for this stack (wheel cache, else this machine's wheels)."""
        if self.package is None:
            self.package = build_auth_package(
                self.workspace.folder / "build",
                function_name=self.spec.auth_function,
                allow_download=self.allow_download,
                allow_environment=True,
            )
        return self.package

    def build_glue_assets(self) -> GlueAssets:
        """The medallion jobs' scripts, library and dataset files, and the variable file naming them."""
        from nexuskit.lake.glue import build_assets

        if self.glue_assets is None:
            self.glue_assets = build_assets(self.workspace.folder / "build" / "glue")
        return self.glue_assets

    def variables(self, stack: str) -> list[str]:
        args = [f"-var-file={self.params_file}"]
        if stack == "platform":
            args += [f"-var={k}={v}" for k, v in self.build_package().terraform_vars().items()]
            args.append(f"-var-file={self.build_glue_assets().var_file}")
        else:
            from nexuskit.controlplane.daemon import RuntimeDaemon

            args.append(f"-var=manifests_dir={RuntimeDaemon(self.settings).manifests_dir}")
            kubeconfig = self.kubeconfig or self.engine.state_dir / "kubeconfig"  # the local runtime's API
            if kubeconfig.is_file():
                args.append(f"-var=kubeconfig_path={kubeconfig.resolve()}")
        return args

    def override(self, stack: str) -> str:
        creds = self.engine.credentials()
        return render_override(
            self.engine.endpoint,
            self.spec.region,
            creds.access_key_id,
            creds.secret_access_key,
            state_path=self.workspace.state_file(stack),
        )

    # -- commands -------------------------------------------------------------------------
    def init(self, stack: str = "platform") -> TerraformRun:
        """``terraform init`` of ``stack`` with the override and the local backend."""
        self.require_engine()
        runner = self.workspace.prepare()
        self.workspace.write_override(stack, self.override(stack))
        self.workspace.state_file(stack).parent.mkdir(parents=True, exist_ok=True)
        missing = self.workspace.missing_providers(stack)
        run = runner.run(stack, ["init", "-reconfigure", *COMMON], ok=(0, 1), on_line=self.on_line)
        if run.exit_code != 0:
            if missing:
                raise ProviderMissingError(self.workspace.missing_reason(stack, missing))
            raise TerraformError(
                f"terraform init ({stack}) failed: {run.error_line()}", f"full output in {runner.log_file}"
            )
        return run

    def plan(self, stack: str = "platform", *, detailed_exitcode: bool = False) -> TerraformRun:
        """``terraform plan``; with ``detailed_exitcode`` exit 2 (changes) is not an error."""
        self.init(stack)
        args = ["plan", "-json", *COMMON, *self.variables(stack)]
        if detailed_exitcode:
            args.append("-detailed-exitcode")
        return self._run(stack, args, ok=(0, 2) if detailed_exitcode else (0,))

    def apply(self, stack: str = "platform") -> TerraformRun:
        self.init(stack)
        return self._run(stack, ["apply", "-json", "-auto-approve", *COMMON, *self.variables(stack)])

    def destroy(self, stack: str = "platform") -> TerraformRun:
        self.init(stack)
        return self._run(stack, ["destroy", "-json", "-auto-approve", *COMMON, *self.variables(stack)])

    def outputs(self, stack: str = "platform") -> dict[str, Any]:
        """``terraform output -json`` as name -> value."""
        runner = self.workspace.prepare()
        run = runner.run(stack, ["output", "-json", "-no-color"])
        doc = json.loads(run.stdout or "{}")
        return {name: entry.get("value") for name, entry in doc.items()}

    def _run(self, stack: str, args: list[str], ok: tuple[int, ...] = (0,)) -> TerraformRun:
        return self.workspace.prepare().run(stack, args, ok=ok, on_line=self.on_line)


# -- what nexuskit owns around the Terraform --------------------------------------------------------
def ensure_signing_key(spec: StackSpec, target: AwsTarget) -> dict[str, str]:
    """Put a signing key set into the secret Terraform made, unless it already holds one."""
    from nexuskit.provision.signing_key import new_signing_key_document

    secrets = target.client("secretsmanager")
    name = spec.token_signing_secret
    try:
        secrets.get_secret_value(SecretId=name)
        return {"type": "secretsmanager.secret-value", "name": name, "state": "exists", "detail": "key set"}
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps(new_signing_key_document()))
    return {
        "type": "secretsmanager.secret-value",
        "name": name,
        "state": "created",
        "detail": "RS256 key set",
    }


def provision_with_terraform(
    settings: KitSettings,
    root: Path,
    target: AwsTarget,
    on_line: Line | None = None,
    local: LocalTerraform | None = None,
) -> list[dict[str, str]]:
    """``up --provisioner terraform``: apply stacks/platform, then the key set and the dataset tables."""
    from nexuskit.lake.catalog import ensure_catalog
    from nexuskit.provision.context import ProvisionContext

    spec = settings.stack()
    local = local or LocalTerraform(settings, root)
    local.on_line = on_line
    started = time.perf_counter()
    run = local.apply("platform")
    changes = run.changes
    detail = (
        f"{changes.get('add', 0)} added, {changes.get('change', 0)} changed, "
        f"{changes.get('remove', 0)} destroyed in {time.perf_counter() - started:.1f} s"
    )
    changed = any(changes.get(k) for k in ("add", "change", "remove"))
    states = [
        {
            "type": "terraform.stack",
            "name": "stacks/platform",
            "state": "updated" if changed else "exists",
            "detail": detail,
        },
        ensure_signing_key(spec, target),
    ]
    if spec.params.enable_lake_formation:
        states += [s.as_dict() for s in ensure_catalog(ProvisionContext.connect(spec, target))]
    return states


def cluster_issuer(spec: StackSpec, target: AwsTarget) -> str | None:
    """The OIDC issuer of the EKS cluster Terraform made (None without EKS)."""
    if not spec.params.enable_eks:
        return None
    cluster = target.client("eks").describe_cluster(name=spec.cluster_name)["cluster"]
    issuer = cluster.get("identity", {}).get("oidc", {}).get("issuer")
    return str(issuer).rstrip("/") if issuer else None


def start_control_plane(settings: KitSettings, spec: StackSpec, target: AwsTarget) -> dict[str, Any]:
    """The control plane on a Terraform-made stack: as ``up`` starts it, but the runtime signs
    ServiceAccount tokens as the cluster's own OIDC issuer (EKS assigns it; Terraform's OIDC
    provider and the IRSA trust policies name it), and the services check that issuer."""
    from nexuskit.controlplane import lifecycle
    from nexuskit.controlplane.daemon import RuntimeDaemon
    from nexuskit.controlplane.render import manifest_values, render_manifests

    issuer = cluster_issuer(spec, target)
    if issuer is None or lifecycle.runtime_kind(settings.k8s) != "process":
        return lifecycle.start(settings, spec, target, runtime=settings.k8s)
    daemon = RuntimeDaemon(settings)
    values = manifest_values(
        spec,
        account_id=target.account_id,
        api_invoke_url=lifecycle.local_api_url(spec, target),
        oidc_issuer=issuer,
    )
    render_manifests(spec, daemon.manifests_dir, values=values)
    # the runtime's --oidc-issuer, given again, replaces the derived one (argparse: last wins)
    health = daemon.start(spec, settings.endpoint, extra_args=("--oidc-issuer", issuer))
    return {"runtime": "process", "health": health, "oidc_issuer": issuer}
