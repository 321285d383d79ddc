"""``wait_for``: poll objects, JSON-lines records or lake rows (or a workflow run) until done.

``records`` reads each (GZIP) object of a tier once, counts the JSON-lines records whose
fields equal ``where`` and, once ``count`` is reached, keeps watching for ``settle``
seconds so late duplicates are seen too. Its result says how many matched, how many
distinct ids and how many duplicates - the delivery proof the scenarios assert on.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from nexuskit.scenarios.model import ObjectsWait, RecordsWait, WaitForStep
from nexuskit.scenarios.results import StepFailedError
from nexuskit.scenarios.steps.base import StepContext, StepReturn, body_to_data, poll


def _list_keys(ctx: StepContext, tier: str, prefix: str, exclude: list[str]) -> list[dict[str, Any]]:
    s3 = ctx.client("s3")
    bucket = ctx.stack.spec.bucket(tier)
    found: list[dict[str, Any]] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if not any(obj["Key"].startswith(x) for x in exclude):
                    found.append({"key": obj["Key"], "etag": obj.get("ETag", ""), "size": obj.get("Size", 0)})
    except (ClientError, BotoCoreError) as exc:
        raise StepFailedError(f"cannot list s3://{bucket}/{prefix}: {exc}") from None
    return sorted(found, key=lambda o: str(o["key"]))


def _objects(ctx: StepContext, spec: ObjectsWait, timeout: float, interval: float) -> StepReturn:
    wanted = int(spec.at_least)

    def probe() -> tuple[bool, list[dict[str, Any]]]:
        keys = _list_keys(ctx, spec.tier, spec.prefix, spec.exclude)
        return len(keys) >= wanted, keys

    done, keys, waited = poll(timeout, interval, probe)
    where = f"{spec.tier}/{spec.prefix}"
    if not done:
        raise StepFailedError(
            f"waited {waited:.1f} s for objects in {where}: {len(keys)} of at least {wanted}",
            expected={"objects_at_least": wanted},
            actual={"objects": len(keys)},
        )
    return StepReturn(
        {"count": len(keys), "keys": [k["key"] for k in keys]}, f"{len(keys)} objects in {where}"
    )


def _lines(body: Any) -> list[Any]:
    if not isinstance(body, str):
        return []
    out = []
    for raw_line in body.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _matches(record: Any, where: dict[str, Any]) -> bool:
    if not isinstance(record, dict):
        return False
    return all(key in record and (record[key] == value or str(record[key]) == str(value))
               for key, value in where.items())  # fmt: skip


def _records(ctx: StepContext, spec: RecordsWait, timeout: float, interval: float) -> StepReturn:
    wanted = int(spec.count)
    bucket = ctx.stack.spec.bucket(spec.tier)
    cache: dict[tuple[str, str], list[Any]] = ctx.cache.setdefault(f"records:{bucket}", {})
    s3 = ctx.client("s3")

    def scan() -> dict[str, Any]:
        keys = _list_keys(ctx, spec.tier, spec.prefix, spec.exclude)
        ids: Counter[str] = Counter()
        matched = 0
        for obj in keys:
            cache_key = (str(obj["key"]), str(obj["etag"]))
            if cache_key not in cache:
                try:
                    raw = s3.get_object(Bucket=bucket, Key=obj["key"])["Body"].read()
                except (ClientError, BotoCoreError) as exc:
                    raise StepFailedError(f"cannot read s3://{bucket}/{obj['key']}: {exc}") from None
                cache[cache_key] = _lines(body_to_data(raw))
            for record in cache[cache_key]:
                if _matches(record, spec.where):
                    matched += 1
                    ids[str(record.get(spec.id_field))] += 1
        return {
            "count": matched,
            "unique": len(ids),
            "duplicates": sum(n - 1 for n in ids.values()),
            "objects": len(keys),
        }

    done, seen, waited = poll(timeout, interval, lambda: ((s := scan())["count"] >= wanted, s))
    if not done:
        raise StepFailedError(
            f"waited {waited:.1f} s: {seen['count']} of {wanted} records matching {spec.where} "
            f"arrived in {spec.tier}/{spec.prefix}",
            expected={"count": wanted},
            actual=seen,
        )
    settle = float(spec.settle)
    if settle > 0:
        _, seen, _ = poll(settle, interval, lambda: (False, scan()))
    where = f"{spec.tier}/{spec.prefix}"
    summary = f"{seen['count']} records ({seen['unique']} ids) in {seen['objects']} objects of {where}"
    return StepReturn(seen, summary)


def run_wait_for(ctx: StepContext, step: WaitForStep) -> StepReturn:
    body = step.wait_for
    timeout, interval = float(body.timeout), float(body.interval)
    if body.objects is not None:
        return _objects(ctx, body.objects, timeout, interval)
    if body.records is not None:
        return _records(ctx, body.records, timeout, interval)
    if body.rows is not None:
        from nexuskit.scenarios.steps.lake import wait_rows

        return wait_rows(ctx, body.rows, timeout, interval)
    if body.delivery is not None:
        from nexuskit.scenarios.steps.produce import wait_delivery

        return wait_delivery(ctx, body.delivery, timeout)
    from nexuskit.scenarios.steps.agent import wait_workflow

    assert body.workflow is not None
    return wait_workflow(ctx, body.workflow, timeout, interval)
