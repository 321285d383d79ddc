"""IAM of spec §2.2: the EKS OIDC provider and the stack's roles with their policies."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from nexuskit.provision.context import (
    ProvisionContext,
    aws_call,
    error_code,
    error_message,
    tag_list,
)
from nexuskit.provision.policies import (
    EKS_OIDC_THUMBPRINT,
    OIDC_AUDIENCE,
    RoleDefinition,
    StackArns,
    oidc_issuer_host,
    role_definitions,
)
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState, present

log = logging.getLogger(__name__)

OIDC_TYPE = "iam.oidc_provider"
ROLE_TYPE = "iam.role"
_NOT_FOUND = {"NoSuchEntity", "NoSuchEntityException", "NotFoundException"}


def canonical_policy(document: Any) -> Any:
    """A policy document in a form where equal meaning compares equal.

    Accepts the document as a dict or as (URL-encoded) JSON text. ``"Action": "x"``
    equals ``"Action": ["x"]``, and list order does not matter.
    """
    if isinstance(document, str):
        document = json.loads(unquote(document))
    return _canonical(document)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def _same(current: Any, desired: Any) -> bool:
    if current is None:
        return False
    return bool(canonical_policy(current) == canonical_policy(desired))


def _with_trust(call: Any, **kwargs: Any) -> Any:
    """Call ``call``; while IAM does not see a just-created principal yet, retry (max 30 s).

    AWS validates the principals of a trust policy (the Lambda role the bearer role trusts,
    the OIDC provider of the IRSA roles); a principal created a moment ago can take seconds
    to be visible. The emulator never refuses, so it never waits.
    """
    deadline = time.monotonic() + 30
    while True:
        try:
            return call(**kwargs)
        except ClientError as exc:
            stale = error_code(exc) == "MalformedPolicyDocument" and (
                "principal" in error_message(exc).lower()
            )
            if not stale or time.monotonic() > deadline:
                raise
            log.info("IAM does not see a trusted principal yet; retrying")
            time.sleep(2)


def _oidc_provider(ctx: ProvisionContext) -> ResourceState:
    iam = ctx.client("iam")
    host = oidc_issuer_host(ctx.spec)
    arn = StackArns(ctx.spec, ctx.account_id).oidc_provider()
    with aws_call(OIDC_TYPE, host):
        known = {p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]}
        if arn in known:
            return ResourceState(OIDC_TYPE, host, EXISTS, f"audience {OIDC_AUDIENCE}")
        iam.create_open_id_connect_provider(
            Url=f"https://{host}",
            ClientIDList=[OIDC_AUDIENCE],
            ThumbprintList=[EKS_OIDC_THUMBPRINT],
            Tags=tag_list(ctx.tags),
        )
    log.info("created OIDC provider %s", host)
    return ResourceState(OIDC_TYPE, host, CREATED, f"audience {OIDC_AUDIENCE}")


def _attach_managed(ctx: ProvisionContext, role: RoleDefinition, attached: set[str]) -> list[str]:
    """Attach the role's AWS-managed policies; returns the ones the engine does not know.

    moto loads AWS-managed policies only when configured to (it costs start-up time), so
    an unknown managed policy is reported in the detail instead of failing the run.
    """
    iam = ctx.client("iam")
    unknown: list[str] = []
    for policy_arn in role.managed_policy_arns:
        if policy_arn in attached:
            continue
        try:
            iam.attach_role_policy(RoleName=role.name, PolicyArn=policy_arn)
        except ClientError as exc:
            if error_code(exc) not in _NOT_FOUND:
                raise
            log.info("engine does not hold %s; not attached to %s", policy_arn, role.name)
            unknown.append(policy_arn.rsplit("/", 1)[-1])
    return unknown


def _role_detail(role: RoleDefinition, unknown_managed: list[str]) -> str:
    parts = []
    if role.policy is not None:
        parts.append(f"policy {role.policy_name}")
    if role.managed_policy_arns:
        names = [arn.rsplit("/", 1)[-1] for arn in role.managed_policy_arns]
        parts.append("managed " + ", ".join(names))
    if unknown_managed:
        parts.append("not in engine: " + ", ".join(unknown_managed))
    return "; ".join(parts)


def _role(ctx: ProvisionContext, role: RoleDefinition, listed: set[str] | None = None) -> ResourceState:
    """Create the role, or bring it in line; ``listed``: the account's role names, when
    known (a role not among them is created without asking for it first)."""
    iam = ctx.client("iam")
    with aws_call(ROLE_TYPE, role.name):
        current = None
        if listed is None or role.name in listed:
            try:
                current = iam.get_role(RoleName=role.name)["Role"]
            except ClientError as exc:
                if error_code(exc) not in _NOT_FOUND:
                    raise
        if current is None:
            _with_trust(
                iam.create_role,
                RoleName=role.name,
                AssumeRolePolicyDocument=json.dumps(role.trust_policy),
                Description=role.description,
                MaxSessionDuration=role.max_session_seconds,
                Tags=tag_list(ctx.tags),
            )
            if role.policy is not None:
                iam.put_role_policy(
                    RoleName=role.name,
                    PolicyName=role.policy_name,
                    PolicyDocument=json.dumps(role.policy),
                )
            unknown = _attach_managed(ctx, role, set())
            log.info("created role %s", role.name)
            return ResourceState(ROLE_TYPE, role.name, CREATED, _role_detail(role, unknown))

        changed = []
        if not _same(current.get("AssumeRolePolicyDocument"), role.trust_policy):
            _with_trust(
                iam.update_assume_role_policy,
                RoleName=role.name,
                PolicyDocument=json.dumps(role.trust_policy),
            )
            changed.append("trust policy")
        if current.get("MaxSessionDuration") != role.max_session_seconds:
            iam.update_role(RoleName=role.name, MaxSessionDuration=role.max_session_seconds)
            changed.append("max session")
        if role.policy is not None:
            try:
                inline = iam.get_role_policy(RoleName=role.name, PolicyName=role.policy_name)
                inline_document = inline["PolicyDocument"]
            except ClientError as exc:
                if error_code(exc) not in _NOT_FOUND:
                    raise
                inline_document = None
            if inline_document is None or not _same(inline_document, role.policy):
                iam.put_role_policy(
                    RoleName=role.name,
                    PolicyName=role.policy_name,
                    PolicyDocument=json.dumps(role.policy),
                )
                changed.append("inline policy")
        unknown = []
        if role.managed_policy_arns:
            policies = iam.list_attached_role_policies(RoleName=role.name)["AttachedPolicies"]
            attached = {p["PolicyArn"] for p in policies}
            missing = [arn for arn in role.managed_policy_arns if arn not in attached]
            unknown = _attach_managed(ctx, role, attached)
            if len(unknown) < len(missing):
                changed.append("managed policies")
    detail = _role_detail(role, unknown)
    if changed:
        log.info("updated role %s: %s", role.name, ", ".join(changed))
        return ResourceState(ROLE_TYPE, role.name, UPDATED, f"{detail}; fixed {', '.join(changed)}")
    return ResourceState(ROLE_TYPE, role.name, EXISTS, detail)


def provision_identity(ctx: ProvisionContext) -> list[ResourceState]:
    """The OIDC provider first (IRSA roles trust it), then the roles in dependency order."""
    states = [_oidc_provider(ctx)]
    # One listing tells which roles exist (on a first run: none), instead of a GetRole each.
    with aws_call(ROLE_TYPE, ctx.spec.prefix):
        listed = _role_names(ctx.client("iam"))
    # Roles that trust other roles are retried until IAM sees them (see _with_trust).
    definitions = role_definitions(ctx.spec, ctx.account_id)
    states += ctx.each(lambda role: _role(ctx, role, listed), definitions)
    return states


def _role_names(iam: Any) -> set[str]:
    names: set[str] = set()
    for page in iam.get_paginator("list_roles").paginate():
        names.update(r["RoleName"] for r in page["Roles"])
    return names


def inventory_identity(ctx: ProvisionContext) -> list[ResourceState]:
    iam = ctx.client("iam")
    host = oidc_issuer_host(ctx.spec)
    with aws_call(ROLE_TYPE, ctx.spec.prefix):
        providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        roles: set[str] = set()
        roles.update(_role_names(iam))
    provider_arns = {p["Arn"] for p in providers}
    states = [present(OIDC_TYPE, host, StackArns(ctx.spec, ctx.account_id).oidc_provider() in provider_arns)]
    states += [present(ROLE_TYPE, name, name in roles) for name in ctx.spec.roles.values()]
    return states
