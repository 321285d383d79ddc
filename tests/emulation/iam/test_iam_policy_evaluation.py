"""IAM policy evaluation rules, checked in-process on compiled policy documents."""

from __future__ import annotations

from typing import Any

from emulation.iam.policies import (
    Caller,
    Effect,
    Policy,
    PolicySet,
    Resource,
    compile_policy,
    evaluate,
    principal_matches,
)

ACCOUNT = "123456789012"
CLIENT = Resource(f"arn:aws:kinesis:us-west-2:{ACCOUNT}:stream/nexus-dev-client-intake", "kinesis")
PRIMARY = Resource(f"arn:aws:kinesis:us-west-2:{ACCOUNT}:stream/nexus-dev-intake", "kinesis")


def _policy(*statements: dict[str, Any]) -> Policy:
    return compile_policy({"Version": "2012-10-17", "Statement": list(statements)})


def _decide(statement: dict[str, Any], action: str, resource: Resource, **context: str) -> Effect | None:
    ctx = {key.lower(): [value] for key, value in context.items()}
    return _policy(statement).decide(action, resource, ctx)


def test_resource_wildcards_match_per_arn_segment() -> None:
    """``*`` and ``?`` match inside a segment; a region wildcard never swallows the account."""
    allow = {"Effect": "Allow", "Action": "kinesis:PutRecord"}
    assert _decide(
        {**allow, "Resource": "arn:aws:kinesis:*:*:stream/nexus-dev-*"}, "kinesis:PutRecord", PRIMARY
    )
    assert _decide(
        {**allow, "Resource": "arn:aws:kinesis:us-west-?:123456789012:stream/nexus-dev-client-intake"},
        "kinesis:PutRecord",
        CLIENT,
    )
    assert not _decide(
        {**allow, "Resource": "arn:aws:kinesis:us-west-2:123456789012:stream/nexus-dev-client-intake"},
        "kinesis:PutRecord",
        PRIMARY,
    )
    assert not _decide({**allow, "Resource": "arn:aws:kinesis:*:stream/*"}, "kinesis:PutRecord", PRIMARY)


def test_actions_match_case_insensitively_with_wildcards() -> None:
    """``Kinesis:put*`` covers kinesis:PutRecords; NotAction covers everything else."""
    statement = {"Effect": "Allow", "Action": "Kinesis:put*", "Resource": "*"}
    assert _decide(statement, "kinesis:PutRecords", CLIENT) is Effect.ALLOW
    assert _decide(statement, "kinesis:GetRecords", CLIENT) is None
    not_action = {"Effect": "Deny", "NotAction": "kinesis:Describe*", "Resource": "*"}
    assert _decide(not_action, "kinesis:PutRecord", CLIENT) is Effect.DENY
    assert _decide(not_action, "kinesis:DescribeStream", CLIENT) is None


def test_not_resource_applies_to_every_other_resource() -> None:
    """A Deny with NotResource on the client stream denies the primary stream only."""
    statement = {"Effect": "Deny", "Action": "kinesis:*", "NotResource": CLIENT.arn}
    assert _decide(statement, "kinesis:PutRecord", PRIMARY) is Effect.DENY
    assert _decide(statement, "kinesis:PutRecord", CLIENT) is None


def test_explicit_deny_wins_and_implicit_deny_names_the_policy_type() -> None:
    """Deny beats Allow; without any Allow the verdict says no identity-based policy allows."""
    policies = PolicySet(
        identity=[
            _policy({"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}),
            _policy({"Effect": "Deny", "Action": "kinesis:PutRecord", "Resource": CLIENT.arn}),
        ]
    )
    verdict = evaluate(policies, "kinesis:PutRecord", CLIENT, {})
    assert not verdict.allowed and verdict.reason == "with an explicit deny in an identity-based policy"
    assert evaluate(policies, "kinesis:PutRecord", PRIMARY, {}).allowed
    none = evaluate(PolicySet(), "kinesis:PutRecord", CLIENT, {})
    assert none.reason == "because no identity-based policy allows the kinesis:PutRecord action"


def test_boundary_and_session_policies_intersect() -> None:
    """An identity Allow is cut down by a permissions boundary and by a session policy."""
    everything = [_policy({"Effect": "Allow", "Action": "*", "Resource": "*"})]
    only_client = [_policy({"Effect": "Allow", "Action": "kinesis:*", "Resource": CLIENT.arn})]
    bounded = PolicySet(identity=everything, boundary=only_client)
    assert evaluate(bounded, "kinesis:PutRecord", CLIENT, {}).allowed
    assert "no permissions boundary" in evaluate(bounded, "kinesis:PutRecord", PRIMARY, {}).reason
    session = PolicySet(identity=everything, session=only_client)
    assert "no session policy" in evaluate(session, "kinesis:PutRecord", PRIMARY, {}).reason


def test_condition_keys_follow_aws_missing_key_rules() -> None:
    """Present keys compare; absent keys fail positive operators, pass negated ones,
    pass ...IfExists and are what Null tests."""
    allow = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}
    bucket = Resource("arn:aws:s3:::nexus-dev-bronze-us-west-2", "s3")
    like = {**allow, "Condition": {"StringLike": {"s3:prefix": "client/*"}}}
    assert _decide(like, "s3:ListBucket", bucket, **{"s3:prefix": "client/2026/"})
    assert not _decide(like, "s3:ListBucket", bucket)
    negated = {**allow, "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "red"}}}
    assert _decide(negated, "s3:ListBucket", bucket)
    assert not _decide(negated, "s3:ListBucket", bucket, **{"aws:PrincipalTag/team": "red"})
    if_exists = {**allow, "Condition": {"StringEqualsIfExists": {"s3:prefix": "client/"}}}
    assert _decide(if_exists, "s3:ListBucket", bucket)
    null = {**allow, "Condition": {"Null": {"aws:TokenIssueTime": "false"}}}
    assert not _decide(null, "s3:ListBucket", bucket)
    assert _decide(null, "s3:ListBucket", bucket, **{"aws:TokenIssueTime": "2026-01-01T00:00:00Z"})


def test_numeric_date_bool_and_ip_conditions() -> None:
    """The common typed operators compare as numbers, instants, booleans and networks."""
    base = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}
    bucket = Resource("arn:aws:s3:::b", "s3")
    cases = [
        ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}, True),
        ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "50"}, False),
        (
            {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
            {"aws:CurrentTime": "2026-11-26T10:00:00Z"},
            True,
        ),
        ({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"}, True),
        ({"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, {"aws:SourceIp": "127.0.0.1"}, True),
        ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "127.0.0.1"}, True),
    ]
    for condition, context, expected in cases:
        assert bool(_decide({**base, "Condition": condition}, "s3:ListBucket", bucket, **context)) is expected


def test_unknown_condition_operators_are_treated_conservatively() -> None:
    """An unsupported operator makes an Allow not apply and a Deny apply."""
    condition = {"BinaryEquals": {"aws:SomeKey": "QmluYXJ5"}}
    allow = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}
    assert _decide(allow, "kinesis:PutRecord", CLIENT) is None
    assert _decide(deny, "kinesis:PutRecord", CLIENT) is Effect.DENY


def test_policy_variables_are_substituted_in_resources() -> None:
    """``${aws:username}`` scopes a resource to the caller; a missing variable matches nothing."""
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::home/${aws:username}/*",
    }
    own = Resource("arn:aws:s3:::home/alice/notes.txt", "s3")
    assert _decide(statement, "s3:GetObject", own, **{"aws:username": "alice"})
    assert not _decide(statement, "s3:GetObject", own, **{"aws:username": "bob"})
    assert not _decide(statement, "s3:GetObject", own)


def test_unresolved_resources_match_only_patterns_of_their_service() -> None:
    """Where the engine cannot name the resource, patterns of that service match it."""
    unresolved = Resource("arn:aws:glue:*", "glue", resolved=False)
    statement = {"Effect": "Allow", "Action": "glue:*", "Resource": f"arn:aws:glue:us-west-2:{ACCOUNT}:job/x"}
    assert _decide(statement, "glue:StartJobRun", unresolved)
    other = {"Effect": "Allow", "Action": "glue:*", "Resource": f"arn:aws:s3:::{ACCOUNT}"}
    assert not _decide(other, "glue:StartJobRun", unresolved)


def test_principals_admit_accounts_roles_sessions_and_services() -> None:
    """Account root admits the account's identities; a role ARN admits its sessions;
    Service principals admit the engine's admin only."""
    role = f"arn:aws:iam::{ACCOUNT}:role/nexus-dev-auth-exec"
    session = Caller(ACCOUNT, frozenset({role, f"arn:aws:sts::{ACCOUNT}:assumed-role/nexus-dev-auth-exec/s"}))
    user = Caller(ACCOUNT, frozenset({f"arn:aws:iam::{ACCOUNT}:user/u"}))
    admin = Caller(ACCOUNT, frozenset({f"arn:aws:sts::{ACCOUNT}:user/moto"}), is_admin=True)
    assert principal_matches({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, user)
    assert not principal_matches({"AWS": "arn:aws:iam::210987654321:root"}, user)
    assert principal_matches({"AWS": role}, session)
    assert not principal_matches({"AWS": role}, user)
    assert principal_matches({"Service": "lambda.amazonaws.com"}, admin)
    assert not principal_matches({"Service": "lambda.amazonaws.com"}, user)
    assert principal_matches("*", Caller(None))
