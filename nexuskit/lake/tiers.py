"""Moving data up the lake's tiers (bronze, silver, gold, vibranium) for ``lake promote``:
run the medallion jobs in order, in-process or as Glue job runs (Terraform promotion is
:mod:`nexuskit.promote`).

In-process, the jobs run in this process against :attr:`Lake.store`, so every object they
read or write is checked against the caller's Lake Formation grants. With ``glue=True``
the jobs are deployed (:func:`nexuskit.lake.glue.deploy_jobs`, the dataset files with them)
and each step is a real ``StartJobRun`` polled with ``GetJobRun`` - the path the same
scripts take on AWS. The report lists the bronze objects that were *skipped* (not JSON at
all) with their reasons, and how bronze was listed (from the watermarks, or in full).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nexuskit.lake.access import Lake
from nexuskit.lake.catalog import glue_catalog
from nexuskit.lake.config import dataset_errors
from nexuskit.lake.errors import LakeNotFoundError
from nexuskit.lake.glue import code_version, deploy_jobs, job_name, run_glue_job
from nexuskit.lake.grants import READ, WRITE
from nexuskit.provision.context import ProvisionContext
from services.medallion import bronze_to_silver, gold_to_vibranium, silver_to_gold
from services.medallion.lib.commit import latest_manifest
from services.medallion.lib.evolution import check_evolution
from services.medallion.lib.gold import GoldConfig
from services.medallion.lib.insights import VibraniumConfig
from services.medallion.lib.names import DEFAULT_THRESHOLD
from services.medallion.lib.silver import SilverConfig

STEPS = ("silver", "gold", "vibranium")
JOBS = {"silver": "bronze_to_silver", "gold": "silver_to_gold", "vibranium": "gold_to_vibranium"}
# what each step reads and writes
NEEDS = {
    "silver": (("bronze", READ), ("silver", READ), ("silver", WRITE)),
    "gold": (("silver", READ), ("gold", READ), ("gold", WRITE)),
    "vibranium": (("gold", READ), ("silver", READ), ("vibranium", READ), ("vibranium", WRITE)),
}
Progress = Callable[[dict[str, Any]], None]


@dataclass
class PromoteReport:
    """What ``promote`` did, step by step."""

    to: str
    via: str
    code_version: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    deployed: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def wrote_anything(self) -> bool:
        return any(not step.get("skipped") for step in self.steps)

    @property
    def skipped(self) -> list[dict[str, Any]]:
        """Bronze objects this run could not read at all, each with its reason."""
        return [obj for step in self.steps for obj in step.get("skipped_objects") or []]

    def as_dict(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "via": self.via,
            "code_version": self.code_version,
            "wrote_anything": self.wrote_anything,
            "skipped": self.skipped,
            "steps": self.steps,
            "deployed": self.deployed,
            "seconds": round(self.seconds, 3),
        }


def steps_until(to: str) -> tuple[str, ...]:
    if to not in STEPS:
        raise LakeNotFoundError(f"cannot promote to {to!r}", f"use one of {', '.join(STEPS)}")
    return STEPS[: STEPS.index(to) + 1]


def promote(
    lake: Lake,
    to: str = "vibranium",
    *,
    threshold: float = DEFAULT_THRESHOLD,
    glue: bool = False,
    full_scan: bool = False,
    progress: Progress | None = None,
) -> PromoteReport:
    """Promote bronze up to ``to``; each step picks up only what is new since its last run.

    ``full_scan`` lists all of bronze instead of reading on from the watermarks (runs do so
    on their own every ``bronze.full_scan_hours``). A wrong or incompatible dataset file
    raises :class:`~nexuskit.lake.errors.DatasetError` before anything is read."""
    started = time.perf_counter()
    steps = steps_until(to)
    version = code_version()
    report = PromoteReport(to=to, via="glue" if glue else "in-process", code_version=version)
    for step in steps:
        for tier, mode in NEEDS[step]:
            lake.require(tier, mode)
    config = lake.config
    if glue:
        if "silver" in steps:  # the job would refuse it too, but only in its logs
            with dataset_errors():
                latest = latest_manifest(lake.store, lake.bucket("silver"), JOBS["silver"])
                check_evolution(config, dict((latest or {}).get("schemas") or {}))
        ctx = ProvisionContext.connect(lake.spec, lake.target)
        report.deployed = [s.as_dict() for s in deploy_jobs(ctx, threshold, version, config)]
        for step in steps:
            name = job_name(lake.spec, JOBS[step])
            if progress:
                progress({"job": JOBS[step], "phase": "start", "total": None})
            arguments = {"--confidence_threshold": str(threshold), "--code_version": version}
            if step == "silver" and full_scan:
                arguments["--full_scan"] = "true"
            result = run_glue_job(lake.client("glue"), lake.client("logs"), name, arguments, progress)
            report.steps.append({"step": step, **result})
    else:
        for step in steps:
            with dataset_errors():
                done = _in_process(lake, step, threshold, version, progress, full_scan)
            report.steps.append({"step": step, **done})
    report.seconds = time.perf_counter() - started
    return report


def _in_process(
    lake: Lake, step: str, threshold: float, version: str, progress: Progress | None, full_scan: bool = False
) -> dict[str, Any]:
    spec, store = lake.spec, lake.store
    catalog = glue_catalog(spec, lake.client("glue"))
    if step == "silver":
        config = SilverConfig(
            bronze_bucket=spec.bucket("bronze"),
            silver_bucket=spec.bucket("silver"),
            client_prefix=spec.params.client_firehose_prefix,
            code_version=version,
            lake=lake.config,
            full_scan=full_scan,
        )
        return bronze_to_silver.run(store, config, catalog, progress).as_dict()
    if step == "gold":
        gold = GoldConfig(
            silver_bucket=spec.bucket("silver"), gold_bucket=spec.bucket("gold"), code_version=version
        )
        return silver_to_gold.run(store, gold, catalog, progress).as_dict()
    vibranium = VibraniumConfig(
        silver_bucket=spec.bucket("silver"),
        gold_bucket=spec.bucket("gold"),
        vibranium_bucket=spec.bucket("vibranium"),
        threshold=threshold,
        code_version=version,
    )
    return gold_to_vibranium.run(store, vibranium, catalog, progress).as_dict()
