"""Policy checks on `terraform show -json` plans: destructive changes and IAM wildcards."""

from __future__ import annotations

import json

import pytest

from nexuskit.promote import check_plan
from tests.promote.support import change, plan_json


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _addresses(doc: dict) -> list[tuple[str, str]]:
    return [(v.rule, v.address) for v in check_plan(doc).violations]


@pytest.mark.parametrize(
    ("address", "actions"),
    [
        ('module.datalake.aws_s3_bucket.tier["gold"]', ["delete", "create"]),
        ('module.datalake.aws_s3_bucket_versioning.tier["gold"]', ["delete"]),
        ("module.streaming.aws_kinesis_stream.primary", ["delete"]),
        ("module.streaming.aws_kinesis_video_stream.telemetry[0]", ["create", "delete"]),
        ("module.streaming.aws_kinesis_firehose_delivery_stream.client", ["delete", "create"]),
        ("module.datalake.aws_lakeformation_data_lake_settings.this[0]", ["delete"]),
    ],
)
def test_destroying_or_replacing_data_resources_is_refused(address: str, actions: list[str]) -> None:
    """Deletes and replacements of buckets, streams and Lake Formation settings are violations."""
    assert _addresses(plan_json(change(address, actions))) == [("destroy", address)]


def test_updates_and_other_deletes_pass() -> None:
    """In-place updates of protected resources and deletes of other resources are allowed."""
    doc = plan_json(
        change('module.datalake.aws_s3_bucket.tier["gold"]', ["update"]),
        change("module.streaming.aws_kinesis_stream.primary", ["no-op"]),
        change("module.edge.aws_lambda_function.auth", ["delete", "create"]),
        change("module.network.aws_nat_gateway.this[0]", ["delete"]),
    )
    report = check_plan(doc)
    assert report.ok
    assert report.summary.as_dict() == {"create": 0, "update": 1, "replace": 1, "delete": 1}


@pytest.mark.parametrize("action", ["*", "s3:*", "iam:*", ["kinesis:PutRecord", "kinesis:*"]])
def test_wildcard_actions_in_iam_policies_are_refused(action: object) -> None:
    """An Allow of "*" or "service:*" in an IAM identity policy is a violation."""
    policy = _policy({"Effect": "Allow", "Action": action, "Resource": "*"})
    doc = plan_json(change("module.irsa[0].aws_iam_role_policy.agent_irsa", ["create"], {"policy": policy}))
    assert _addresses(doc) == [("iam-wildcard", "module.irsa[0].aws_iam_role_policy.agent_irsa")]


def test_scoped_actions_and_wildcard_denies_pass() -> None:
    """Named actions pass, and so does a Deny of "*" (it removes rights, it grants none)."""
    policy = _policy(
        {"Effect": "Allow", "Action": ["kinesis:PutRecord", "kinesis:DescribeStream*"], "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
    doc = plan_json(change("aws_iam_policy.scoped", ["create"], {"policy": policy}))
    assert check_plan(doc).ok


def test_allow_with_not_action_is_refused() -> None:
    """Allow with NotAction grants everything else, so it counts as a wildcard."""
    policy = _policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    doc = plan_json(change("aws_iam_user_policy.ops", ["update"], {"policy": policy}))
    assert _addresses(doc) == [("iam-wildcard", "aws_iam_user_policy.ops")]


def test_inline_role_policies_are_checked() -> None:
    """Inline policies of aws_iam_role are checked like attached ones."""
    inline = [{"name": "admin", "policy": _policy({"Effect": "Allow", "Action": "*", "Resource": "*"})}]
    doc = plan_json(change("aws_iam_role.admin", ["create"], {"inline_policy": inline}))
    assert _addresses(doc) == [("iam-wildcard", "aws_iam_role.admin")]


def _configuration(doc_name: str) -> dict:
    return {
        "root_module": {
            "module_calls": {
                "irsa": {
                    "module": {
                        "resources": [
                            {
                                "address": "aws_iam_role_policy.agent_irsa",
                                "expressions": {
                                    "policy": {
                                        "references": [
                                            f"data.aws_iam_policy_document.{doc_name}.json",
                                            f"data.aws_iam_policy_document.{doc_name}",
                                        ]
                                    }
                                },
                            }
                        ]
                    }
                }
            }
        }
    }


@pytest.mark.parametrize(("actions", "ok"), [(["s3:*"], False), (["s3:GetObject", "s3:ListBucket"], True)])
def test_policy_known_after_apply_is_checked_through_its_document(actions: list[str], ok: bool) -> None:
    """A policy unknown until apply is judged by the aws_iam_policy_document it is built from."""
    doc = plan_json(
        change("module.irsa[0].aws_iam_role_policy.agent_irsa", ["create"], {"name": "agent"}),
        change(
            "module.irsa[0].data.aws_iam_policy_document.agent_irsa",
            ["read"],
            {"statement": [{"effect": "Allow", "actions": actions, "resources": None}]},
        ),
        configuration=_configuration("agent_irsa"),
    )
    assert check_plan(doc).ok is ok


def test_policy_that_cannot_be_checked_fails_closed() -> None:
    """A policy unknown until apply and not built from a policy document is a violation."""
    doc = plan_json(
        change("module.irsa[0].aws_iam_role_policy.agent_irsa", ["create"], {"name": "agent"}),
        configuration={"root_module": {}},
    )
    assert _addresses(doc) == [("iam-unverifiable", "module.irsa[0].aws_iam_role_policy.agent_irsa")]


def test_resource_policies_are_not_iam_identity_policies() -> None:
    """KMS key and bucket policies with "kms:*"/"s3:*" (account root, TLS deny) are not judged here."""
    key_policy = _policy(
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*", "Principal": {"AWS": "root"}}
    )
    doc = plan_json(
        change("module.eks[0].aws_kms_key.secrets", ["create"], {"policy": key_policy}),
        change('module.datalake.aws_s3_bucket_policy.tls_only["bronze"]', ["create"], {"policy": key_policy}),
    )
    assert check_plan(doc).ok
