"""``nexuskit scenario new NAME``: a commented scenario to start from."""

from __future__ import annotations

import re
from pathlib import Path

from nexuskit.errors import ScenarioError

TEMPLATE = """\
# yaml-language-server: $schema=./schema.json
# A nexuskit scenario: ordered steps against a running stack.
#   nexuskit scenario run __PATH__            the current stack (--port/--state-dir)
#   nexuskit scenario run __PATH__ --fresh    a stack of its own, removed afterwards
#   ... --record                              write snapshots/__NAME__.json
schema_version: 1
name: __NAME__
description: >-
  What this scenario proves, in one or two sentences.
# flow: "§3.1"        # the spec flow it covers
# requires: [lake]    # skipped, saying why, until these exist:
#                     # producers, kinesisvideo, lake, workflows, mcp, controlplane
stack:
  iam: enforce        # the stack profile it needs (unset fields: any stack)
vars:
  count: 5            # {{ vars.count }}; also {{ scenario.run_id }}, {{ stack.streams.client }}
steps:
  # Issue a bearer token through the HTTP API, as a client producer does.
  - id: tok
    token: {user: scenario-client, ttl_minutes: 15}

  # Any boto3 call as data; `as: tok` signs it with the token's STS credentials.
  # $repeat builds a list ({{ i }} counts from 0); $jsonl makes one JSON-lines record.
  - id: put
    aws:
      service: kinesis
      operation: put_records
      as: tok
      params:
        StreamName: "{{ stack.streams.client }}"
        Records:
          $repeat:
            count: "{{ vars.count }}"
            item:
              PartitionKey: "p-{{ i }}"
              Data:
                $jsonl: {id: "{{ scenario.run_id }}-{{ i }}", run_id: "{{ scenario.run_id }}", type: event}

  # Checks are JSONPath over {steps, vars, scenario, stack} (or `sql:` over the lake).
  - assert:
      path: $.steps.put.FailedRecordCount
      equals: 0

  # Wait until Firehose delivered them to bronze (client/ prefix).
  - id: landed
    wait_for:
      timeout: 30s
      records:
        tier: bronze
        prefix: client/
        where: {run_id: "{{ scenario.run_id }}"}
        count: "{{ vars.count }}"

  # `key: true` marks the assertion the scenario exists for (a test breaks it on purpose).
  - key: true
    assert:
      - path: $.steps.landed.count
        equals: "{{ vars.count }}"
      - path: $.steps.landed.duplicates
        equals: 0

  # A call that must be refused, with its error code.
  - expect_denied:
      error: AccessDeniedException
      aws:
        service: kinesis
        operation: put_record
        as: tok
        params: {StreamName: "{{ stack.streams.primary }}", Data: x, PartitionKey: p}

  # Compare a response with the recorded one (ids, timestamps, ARNs normalised).
  - id: caller
    aws: {service: sts, operation: get_caller_identity, as: tok}
  - id: caller_snapshot
    snapshot:
      of: "{{ steps.caller }}"
"""


def render_template(name: str, path: Path) -> str:
    return TEMPLATE.replace("__NAME__", name).replace("__PATH__", str(path))


def new_scenario(name: str, folder: Path, *, force: bool = False) -> Path:
    """Write ``<folder>/<name>.yaml`` from the template; ScenarioError if it exists."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ScenarioError(f"{name!r} is not a scenario name", "use kebab-case: lower case, digits, dashes")
    path = folder / f"{name}.yaml"
    if path.exists() and not force:
        raise ScenarioError(f"{path} already exists", "choose another name, or pass --force")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(render_template(name, path), encoding="utf-8")
    return path
