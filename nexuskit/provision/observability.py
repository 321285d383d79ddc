"""Observability of spec §2.6: the four log groups and the Firehose delivery log streams."""

from __future__ import annotations

import logging
import os
from typing import Any

from nexuskit.provision.context import ProvisionContext, aws_call
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState, present
from nexuskit.provision.streaming import FIREHOSE_LOG_STREAM

log = logging.getLogger(__name__)

LOG_GROUP_TYPE = "logs.log_group"
LOG_STREAM_TYPE = "logs.log_stream"


def _find_group(logs: Any, name: str) -> dict[str, Any] | None:
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        for group in page.get("logGroups", []):
            if group["logGroupName"] == name:
                return dict(group)
    return None


def _has_stream(logs: Any, group: str, stream: str) -> bool:
    found = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)
    return any(s["logStreamName"] == stream for s in found.get("logStreams", []))


def _find_groups(logs: Any, names: list[str]) -> dict[str, dict[str, Any]] | None:
    """The log groups among ``names`` that exist, from one listing of their common prefix
    (``None`` when they share none worth listing by: each is then looked up on its own)."""
    prefix = os.path.commonprefix(names)  # noqa: RUF071  (names, not paths: a string prefix)
    if len(names) < 2 or len(prefix.strip("/")) < 3:
        return None
    found: dict[str, dict[str, Any]] = {}
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
        for group in page.get("logGroups", []):
            if group["logGroupName"] in names:
                found[group["logGroupName"]] = dict(group)
    return found


def _log_group(
    ctx: ProvisionContext, name: str, known: dict[str, dict[str, Any]] | None = None
) -> ResourceState:
    """Create or settle one log group (``known``: the groups that exist, when already listed)."""
    logs = ctx.client("logs")
    days = ctx.spec.params.log_retention_days
    detail = f"{days} days"
    with aws_call(LOG_GROUP_TYPE, name):
        group = _find_group(logs, name) if known is None else known.get(name)
        if group is None:
            kwargs: dict[str, Any] = {"logGroupName": name}
            if ctx.tags:
                kwargs["tags"] = ctx.tags
            logs.create_log_group(**kwargs)
            logs.put_retention_policy(logGroupName=name, retentionInDays=days)
            log.info("created log group %s (%s)", name, detail)
            return ResourceState(LOG_GROUP_TYPE, name, CREATED, detail)
        if group.get("retentionInDays") != days:
            logs.put_retention_policy(logGroupName=name, retentionInDays=days)
            log.info("log group %s retention -> %d days", name, days)
            return ResourceState(LOG_GROUP_TYPE, name, UPDATED, f"{detail}; fixed retention")
    return ResourceState(LOG_GROUP_TYPE, name, EXISTS, detail)


def _delivery_stream_log(ctx: ProvisionContext, group: str, new_group: bool = False) -> ResourceState:
    """The Firehose log stream of ``group`` (``new_group``: created a moment ago, so empty)."""
    logs = ctx.client("logs")
    name = f"{group}:{FIREHOSE_LOG_STREAM}"
    with aws_call(LOG_STREAM_TYPE, name):
        if not new_group and _has_stream(logs, group, FIREHOSE_LOG_STREAM):
            return ResourceState(LOG_STREAM_TYPE, name, EXISTS, "Firehose delivery log")
        logs.create_log_stream(logGroupName=group, logStreamName=FIREHOSE_LOG_STREAM)
    return ResourceState(LOG_STREAM_TYPE, name, CREATED, "Firehose delivery log")


def _firehose_groups(ctx: ProvisionContext) -> list[str]:
    return [ctx.spec.primary_firehose_log_group, ctx.spec.client_firehose_log_group]


def provision_observability(ctx: ProvisionContext) -> list[ResourceState]:
    """Log groups with retention, then the log streams the Firehose streams write to."""
    names = list(ctx.spec.log_groups)
    with aws_call(LOG_GROUP_TYPE, ", ".join(names)):
        known = _find_groups(ctx.client("logs"), names)
    states = ctx.each(lambda name: _log_group(ctx, name, known), names)
    created = {s.name for s in states if s.state == CREATED}
    states += ctx.each(
        lambda group: _delivery_stream_log(ctx, group, group in created), _firehose_groups(ctx)
    )
    return states


def inventory_observability(ctx: ProvisionContext) -> list[ResourceState]:
    logs = ctx.client("logs")
    states = []
    found: dict[str, bool] = {}
    for name in ctx.spec.log_groups:
        with aws_call(LOG_GROUP_TYPE, name):
            group = _find_group(logs, name)
        found[name] = group is not None
        days = f"{group.get('retentionInDays')} days" if group else ""
        states.append(present(LOG_GROUP_TYPE, name, group is not None, days))
    for group_name in _firehose_groups(ctx):
        name = f"{group_name}:{FIREHOSE_LOG_STREAM}"
        with aws_call(LOG_STREAM_TYPE, name):
            has = found[group_name] and _has_stream(logs, group_name, FIREHOSE_LOG_STREAM)
        states.append(present(LOG_STREAM_TYPE, name, has, "Firehose delivery log"))
    return states
