"""Issue 22: the signing key stays the auth Lambda's, and /auth is throttled and optionally
IAM-authorized, the same in Terraform as in nexuskit's provisioner."""

from __future__ import annotations

from typing import Any

from conftest import module_config
from tfstatic import TF_ROOT, Scope, expression, literal, load_config, module_scope, source, statements

from nexuskit.params import load_stack
from nexuskit.provision import policies

ACCOUNT = "123456789012"
DEPLOYER = "arn:aws:iam::123456789012:role/deployer"


def _tf_statement(statement: dict[str, Any]) -> dict[str, Any]:
    (principal,) = statement["principals"]
    (condition,) = statement["condition"]
    return {
        "Sid": literal(statement["sid"]),
        "Effect": literal(statement["effect"]),
        "Principal": [literal(principal["type"]), [literal(i) for i in principal["identifiers"]]],
        "Action": sorted(literal(a) for a in statement["actions"]),
        "Resource": [literal(r) for r in statement["resources"]],
        "Condition": [
            literal(condition["test"]),
            literal(condition["variable"]),
            expression(condition["values"]),
        ],
    }


def test_signing_key_policy_statements_match_nexuskit(env: str) -> None:
    """The secret's resource policy in Terraform has nexuskit's statements: deny reading to
    all but the Lambda role and the admins, deny writing to all but the admins."""
    edge = module_config("edge")
    terraform = [
        _tf_statement(s) for s in statements(edge.data_source("aws_iam_policy_document", "token_signing"))
    ]
    spec = load_stack(env=env)
    lambda_role = policies.StackArns(spec, ACCOUNT).role("lambda_exec")
    # the principals nexuskit names, as the HCL writes them
    written = {
        (lambda_role, DEPLOYER): "concat([aws_iam_role.lambda_exec.arn], local.signing_key_admins)",
        (DEPLOYER,): "local.signing_key_admins",
    }
    nexuskit = []
    for statement in policies.signing_key_resource_policy(spec, ACCOUNT, [DEPLOYER])["Statement"]:
        ((operator, condition),) = statement["Condition"].items()
        ((variable, values),) = condition.items()
        nexuskit.append(
            {
                "Sid": statement["Sid"],
                "Effect": statement["Effect"],
                "Principal": ["*", ["*"]] if statement["Principal"] == "*" else statement["Principal"],
                "Action": sorted(statement["Action"]),
                "Resource": [statement["Resource"]],
                "Condition": [operator, variable, written[tuple(values)]],
            }
        )
    assert terraform == nexuskit


def test_signing_key_policy_is_on_the_secret_and_blocks_public_policies() -> None:
    """aws_secretsmanager_secret_policy puts the document on the signing secret."""
    policy = module_config("edge").resource("aws_secretsmanager_secret_policy", "token_signing")
    assert expression(policy["secret_arn"]) == "aws_secretsmanager_secret.token_signing.arn"
    assert expression(policy["policy"]) == "data.aws_iam_policy_document.token_signing.json"
    assert literal(policy["block_public_policy"]) is True


def test_signing_key_admins_default_to_the_deploying_role(platform: Any) -> None:
    """Empty token_signing_key_admins means the role that runs Terraform (its issuer ARN),
    as the provisioner takes the role of its own STS session."""
    edge = module_config("edge")
    assert expression(edge.locals["signing_key_admins"]) == (
        "length(var.signing_key_admins) > 0 ? var.signing_key_admins : "
        "[data.aws_iam_session_context.current.issuer_arn]"
    )
    assert expression(platform.module("edge")["signing_key_admins"]) == "var.token_signing_key_admins"


def test_no_other_policy_of_any_module_grants_secrets_manager() -> None:
    """Across every module, the only statement allowing a secretsmanager action (or "*") is
    the Lambda role's SigningKey (the key's own policy only denies), and no module but the
    edge mentions Secrets Manager at all (no jsonencode'd policy elsewhere)."""
    granted = []
    mentions = []
    for module in sorted(p for p in (TF_ROOT / "modules").iterdir() if p.is_dir()):
        config = load_config(module)
        if "secretsmanager" in config.text():
            mentions.append(module.name)
        for name, document in config.data.get("aws_iam_policy_document", {}).items():
            for statement in statements(document):
                actions = [source(a) for a in statement.get("actions", [])]
                effect = literal(statement.get("effect", '"Allow"'))
                if effect == "Allow" and any(a.startswith("secretsmanager:") or a == "*" for a in actions):
                    granted.append((module.name, name, literal(statement.get("sid", '""'))))
    assert granted == [("edge", "lambda_exec", "SigningKey")]
    assert mentions == ["edge"]


def test_throttling_and_route_authorization_come_from_the_parameters(stack: Scope, env: str) -> None:
    """The stage's default route throttling and POST /auth's authorization type are the
    parameter file's auth_throttling_* and auth_route_authorization_type."""
    edge = module_scope(stack, "edge")
    params = load_stack(env=env).params
    routes = edge.config.resource("aws_apigatewayv2_stage", "prod")["default_route_settings"][0]
    assert edge.resolve(routes["throttling_rate_limit"]) == params.auth_throttling_rate_limit
    assert edge.resolve(routes["throttling_burst_limit"]) == params.auth_throttling_burst_limit
    route = edge.config.resource("aws_apigatewayv2_route", "auth")
    assert edge.resolve(route["authorization_type"]) == params.auth_route_authorization_type
    jwks = edge.config.resource("aws_apigatewayv2_route", "jwks")
    assert literal(jwks["authorization_type"]) == "NONE"
