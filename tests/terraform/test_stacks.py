"""The stacks: variables == parameter keys (plus the Lambda package), prod guards, no emulator
wiring, provider constraints the offline mirror satisfies, the prod backend, and the workloads
stack over the rendered manifests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import ENVS
from tfstatic import TF_ROOT, Config, expression, literal, load_config, load_tfvars

from nexuskit.params import StackParams

# Capabilities prod must enable. enable_custom_domain is excluded: the spec makes the custom
# domain optional (§2.5) and it needs a domain name the project does not own.
PROD_CAPABILITIES = ["enable_eks", "enable_karpenter", "enable_video_streams", "enable_lake_formation"]
# Inputs of the platform stack that are build artefacts, not parameters: nexuskit builds the
# auth Lambda's package and passes its path and hash (nexuskit/edge/package.py).
BUILD_INPUTS = {"auth_package_path", "auth_package_sha256", "medallion_glue_assets"}
# The AWS provider constraint of every versions.tf: the 5.100 build of the offline mirror and
# current 6.x releases.
AWS_CONSTRAINT = ">= 5.100, < 7"

_TOKEN = re.compile(r'\s*(\|\||&&|==|!=|!|\(|\)|"[^"]*"|var\.[a-z_]+|true|false)')


def evaluate(condition: str, variables: dict[str, Any]) -> bool:
    """Evaluate a validation condition made of var.*, strings, ==, !=, !, &&, || and ()."""
    python: list[str] = []
    position = 0
    while position < len(condition):
        match = _TOKEN.match(condition, position)
        if not match:
            raise ValueError(f"unsupported condition {condition!r} at {condition[position:]!r}")
        token = match[1]
        position = match.end()
        python.append(
            {"||": " or ", "&&": " and ", "!": " not ", "true": "True", "false": "False"}.get(
                token, f"V[{token[4:]!r}]" if token.startswith("var.") else token
            )
        )
    return bool(eval("".join(python), {"__builtins__": {}}, {"V": variables}))


# --- variables ---------------------------------------------------------------------------------


@pytest.mark.parametrize("env_name", ENVS)
def test_platform_variables_are_exactly_the_parameter_keys(platform: Config, env_name: str) -> None:
    """Every tfvars key is a declared variable, and every variable is a tfvars key or a build input."""
    keys = set(load_tfvars(env_name))
    declared = set(platform.variables) - BUILD_INPUTS
    assert keys - declared == set(), "tfvars keys without a variable"
    assert declared - keys == set(), "variables missing from the tfvars"


def test_platform_variables_match_nexuskit_parameters(platform: Config) -> None:
    """The stack declares exactly the fields of nexuskit's StackParams (and the build inputs)."""
    assert set(platform.variables) - BUILD_INPUTS == set(StackParams.model_fields)


def test_build_inputs_have_no_default(platform: Config) -> None:
    """A plan without the Lambda package fails: its path and hash have no default."""
    for name in BUILD_INPUTS - {"medallion_glue_assets"}:
        assert "default" not in platform.variables[name], name


def test_glue_assets_default_to_no_jobs(platform: Config) -> None:
    """medallion_glue_assets defaults to null (the assets bucket and no job, with a warning
    check), so promotion runs that do not pass the jobs' code yet still plan."""
    assert platform.variables["medallion_glue_assets"]["default"] is None


def test_every_variable_has_a_description_and_a_type(
    modules: dict[str, Config], platform: Config, workloads: Config
) -> None:
    """Variables of every module and stack say what they are and what type they take."""
    for config in [platform, workloads, *modules.values()]:
        for name, variable in config.variables.items():
            assert literal(variable.get("description", "")).strip(), f"{config.path}: var.{name}"
            assert "type" in variable, f"{config.path}: var.{name} has no type"


# --- prod guards -------------------------------------------------------------------------------


def _validations(platform: Config, name: str) -> list[str]:
    return [expression(v["condition"]) for v in platform.variables[name].get("validation", [])]


@pytest.mark.parametrize("flag", PROD_CAPABILITIES)
def test_prod_must_enable_every_capability(platform: Config, flag: str) -> None:
    """A validation of the flag fails for prod with the flag off and passes otherwise."""
    prod = load_tfvars("prod")
    rules = [c for c in _validations(platform, flag) if "var.environment" in c]
    assert rules, f"{flag} has no prod validation"
    assert all(evaluate(rule, prod) for rule in rules), "the prod parameters fail their own rule"
    off = {**prod, flag: False}
    assert not all(evaluate(rule, off) for rule in rules), f"prod with {flag}=false passes"
    dev_off = {**off, "environment": "dev"}
    assert all(evaluate(rule, dev_off) for rule in rules), "dev is held to the prod rule"


def test_every_enable_flag_is_guarded_or_reasoned(platform: Config) -> None:
    """Every enable_* variable is either in the prod guard or the documented exception."""
    flags = {name for name in platform.variables if name.startswith("enable_")}
    assert flags == {*PROD_CAPABILITIES, "enable_custom_domain"}


def test_prod_parameters_pass_nexuskit_and_enable_every_capability() -> None:
    """envs/prod validates in nexuskit and turns every capability on."""
    prod = load_tfvars("prod")
    StackParams.model_validate(prod)
    assert all(prod[flag] is True for flag in PROD_CAPABILITIES)
    assert prod["region"] == "us-west-2"
    assert prod["environment"] == "prod"


def test_prod_is_pinned_to_us_west_2(platform: Config) -> None:
    """region's validation refuses prod anywhere but us-west-2."""
    rules = [c for c in _validations(platform, "region") if "var.environment" in c]
    assert rules
    prod = load_tfvars("prod")
    assert all(evaluate(r, prod) for r in rules)
    assert not all(evaluate(r, {**prod, "region": "us-east-1"}) for r in rules)


def test_placeholder_account_is_flagged_for_prod(platform: Config) -> None:
    """A check block warns while prod still names the placeholder account 123456789012."""
    check = platform.checks["prod_account_is_real"]
    condition = expression(check["assert"][0]["condition"])
    assert '!contains(var.allowed_account_ids, "123456789012")' in condition


# --- providers, versions, backend -----------------------------------------------------------


def test_provider_refuses_other_accounts_and_tags_everything(platform: Config) -> None:
    """The AWS provider sets allowed_account_ids, the region, and default_tags."""
    (aws,) = platform.providers["aws"]
    assert expression(aws["allowed_account_ids"]) == "var.allowed_account_ids"
    assert expression(aws["region"]) == "var.region"
    assert expression(aws["default_tags"][0]["tags"]) == "local.tags"


_FORBIDDEN = re.compile(r"\bendpoints\b|\bskip_[a-z_]+|localhost|127\.0\.0\.1|localstack|:4566", re.I)


def test_no_emulator_wiring_in_the_platform_stack(platform: Config, modules: dict[str, Config]) -> None:
    """No endpoints block, skip_* setting, localhost or LocalStack in the platform or its modules."""
    for config in [platform, *modules.values()]:
        for file in sorted(config.path.glob("*.tf")):
            code = "\n".join(
                line
                for line in file.read_text(encoding="utf-8").splitlines()
                if not line.lstrip().startswith("#")
            )
            assert not _FORBIDDEN.search(code), f"{file}: {_FORBIDDEN.search(code)}"
    for providers in platform.providers.values():
        for provider in providers:
            assert "endpoints" not in provider
            assert not [k for k in provider if k.startswith("skip_")]


def _terraform_block(config: Config) -> dict:
    merged: dict = {}
    for block in config.terraform:
        merged.update(block)
    return merged


@pytest.mark.parametrize("stack_name", ["platform", "workloads"])
def test_stacks_pin_terraform_and_providers(stack_name: str) -> None:
    """required_version is ~> 1.x; aws admits the mirror's 5.100 and 6.x; others are pinned with ~>."""
    block = _terraform_block(load_config(TF_ROOT / "stacks" / stack_name))
    assert re.fullmatch(r"~> 1\.\d+(\.\d+)?", literal(block["required_version"]))
    providers = block["required_providers"][0]
    assert providers, "no required_providers"
    for name, requirement in providers.items():
        assert literal(requirement["source"]) == f"hashicorp/{name}"
        if name == "aws":
            assert literal(requirement["version"]) == AWS_CONSTRAINT
        else:
            assert re.fullmatch(r"~> \d+\.\d+(\.\d+)?", literal(requirement["version"])), name


def test_no_provider_that_cannot_be_had(platform: Config, modules: dict[str, Config]) -> None:
    """The platform and its modules need the AWS provider only (no hashicorp/archive)."""
    for config in [platform, *modules.values()]:
        block = _terraform_block(config)
        assert set(block["required_providers"][0]) <= {"aws"}, config.path
        assert not [d for d in config.data if not d.startswith("aws_")], config.path


def test_modules_declare_the_providers_they_use(modules: dict[str, Config]) -> None:
    """Each module lists, with a minimum version, every provider its resources come from."""
    for name, config in modules.items():
        block = _terraform_block(config)
        assert literal(block["required_version"]).startswith(">= 1."), name
        declared = block["required_providers"][0]
        used = {rtype.split("_", 1)[0] for rtype in [*config.resources, *config.data]}
        # terraform_data is Terraform's own (terraform.io/builtin/terraform): nothing to
        # declare or download
        used.discard("terraform")
        assert used <= set(declared), f"{name}: uses {used - set(declared)} undeclared"
        for provider, requirement in declared.items():
            if provider == "aws":
                assert literal(requirement["version"]) == AWS_CONSTRAINT, name
            else:
                assert literal(requirement["version"]).startswith(">= "), name


@pytest.mark.parametrize(
    ("stack_name", "key"),
    [("platform", "platform/terraform.tfstate"), ("workloads", "workloads/terraform.tfstate")],
)
def test_stacks_use_the_locking_s3_backend(stack_name: str, key: str) -> None:
    """Each stack has an S3 backend with its own key, encryption and use_lockfile."""
    (backend,) = _terraform_block(load_config(TF_ROOT / "stacks" / stack_name))["backend"]
    s3 = backend["s3"]
    assert literal(s3["key"]) == key
    assert literal(s3["use_lockfile"]) is True
    assert literal(s3["encrypt"]) is True


def test_prod_backend_config_locks_in_us_west_2() -> None:
    """envs/prod/backend.hcl: S3 bucket nexus-prod-tfstate-<account>, us-west-2, use_lockfile."""
    import hcl2

    with (TF_ROOT / "envs" / "prod" / "backend.hcl").open(encoding="utf-8") as handle:
        backend = {k: literal(v) for k, v in hcl2.load(handle).items() if not k.startswith("__")}
    assert backend["use_lockfile"] is True
    assert backend["region"] == "us-west-2"
    assert backend["encrypt"] is True
    assert re.fullmatch(r"nexus-prod-tfstate-\d{12}", backend["bucket"])
    assert "dynamodb_table" not in backend
    assert "key" not in backend, "each stack sets its own key"


# --- workloads ----------------------------------------------------------------------------------


def test_workloads_apply_the_rendered_manifests(workloads: Config) -> None:
    """The stack applies the manifests module's objects over var.manifests_dir (no default: no
    folder of unrendered templates is ever applied), each as one kubernetes_manifest."""
    call = workloads.module("manifests")
    assert literal(call["source"]) == "../../modules/manifests"
    assert expression(call["manifests_dir"]) == "var.manifests_dir"
    assert "default" not in workloads.variables["manifests_dir"]
    assert expression(workloads.resource("kubernetes_manifest", "namespaced")["for_each"]) == (
        "module.manifests.namespaced"
    )
    assert expression(workloads.resource("kubernetes_manifest", "cluster_scoped")["for_each"]) == (
        "module.manifests.cluster_scoped"
    )
    manifests = load_config(TF_ROOT / "modules" / "manifests")
    assert 'fileset(var.manifests_dir, "**/k8s/*.yaml")' in expression(manifests.locals["files"])


def test_workloads_create_the_spec_namespaces(workloads: Config) -> None:
    """nexus-agent-core, nexus-mcp and nexus-data exist even before any manifest lands."""
    assert [literal(n) for n in workloads.locals["namespaces"]] == [
        "nexus-agent-core",
        "nexus-mcp",
        "nexus-data",
    ]
    namespaces = workloads.resource("kubernetes_namespace_v1", "spec")
    assert expression(namespaces["for_each"]) == "local.missing_namespaces"
    assert "module.manifests.namespaces" in expression(workloads.locals["missing_namespaces"])


def test_workloads_annotate_the_irsa_service_accounts(workloads: Config) -> None:
    """agent-orchestrator, aws-mcp and nexus-ui get their IRSA role names (same as the platform's)."""
    roles = {k: literal(v) for k, v in workloads.locals["irsa_roles"].items()}
    assert roles == {
        "nexus-agent-core/agent-orchestrator": "${local.prefix}-agent-irsa",
        "nexus-mcp/aws-mcp": "${local.prefix}-aws-mcp-irsa",
        "nexus-agent-core/nexus-ui": "${local.prefix}-ui-irsa",
    }
    assert literal(workloads.locals["prefix"]) == "${var.project}-${var.environment}"


def test_workloads_reach_eks_or_a_kubeconfig(workloads: Config) -> None:
    """The kubernetes provider uses the EKS cluster PREFIX-eks, or kubeconfig_path for kind."""
    (kubernetes,) = workloads.providers["kubernetes"]
    assert "data.aws_eks_cluster.this[0].endpoint" in expression(kubernetes["host"])
    assert "var.kubeconfig_path" in expression(kubernetes["config_path"])
    assert literal(workloads.locals["cluster_name"]) == "${local.prefix}-eks"
