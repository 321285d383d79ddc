"""What the three job scripts share: Glue arguments, configs, the run, the result line.

Every job takes the same arguments (Glue passes ``--NAME value``; the job's
``DefaultArguments`` carry them): the four tier buckets, ``catalog_prefix`` (Glue
databases ``<prefix>_<tier>``; empty: do not touch the catalogue), ``client_prefix``,
``confidence_threshold`` and ``code_version``; and, optionally, ``lake_config`` (the
compiled dataset files, ``s3://...json`` or a local path; without it the checkout's
``lake/`` folder) and ``full_scan`` (``true``: list all of bronze). Glue adds ``--JOB_NAME``
and ``--JOB_RUN_ID``. The last line a job prints is ``MEDALLION_RESULT <json>``, which
``nexuskit lake promote --glue`` reads back from the run's CloudWatch output stream.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from services.medallion.lib.catalog import GlueCatalog
from services.medallion.lib.datasets import LakeConfig, compile_config, load_config
from services.medallion.lib.gold import GoldConfig
from services.medallion.lib.insights import VibraniumConfig
from services.medallion.lib.names import DEFAULT_THRESHOLD
from services.medallion.lib.silver import JobResult, SilverConfig
from services.medallion.lib.store import S3Store

JOB_ARGUMENTS = (
    "JOB_NAME",
    "bronze_bucket",
    "silver_bucket",
    "gold_bucket",
    "vibranium_bucket",
    "catalog_prefix",
    "client_prefix",
    "confidence_threshold",
    "code_version",
)
OPTIONAL_ARGUMENTS = ("lake_config", "full_scan")
RESULT_PREFIX = "MEDALLION_RESULT "
_EMPTY = "-"  # Glue drops arguments with empty values; "-" stands for "none"


def resolved_options(argv: Sequence[str], options: Sequence[str]) -> dict[str, Any]:
    """``awsglue.utils.getResolvedOptions`` on Glue; the same contract elsewhere."""
    present = [o for o in OPTIONAL_ARGUMENTS if f"--{o}" in argv]
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
    except ImportError:  # run as a plain script (tests, local runs)
        parser = argparse.ArgumentParser(add_help=False)
        parser.add_argument("--JOB_RUN_ID", required=False)
        for option in options:
            parser.add_argument("--" + option, required=option != "JOB_NAME")
        for option in present:
            parser.add_argument("--" + option, required=False)
        parsed, _unknown = parser.parse_known_args(list(argv[1:]))
        return {key: value for key, value in vars(parsed).items() if value is not None}
    resolved: dict[str, Any] = getResolvedOptions(list(argv), list(options) + present)
    return resolved


def _value(args: dict[str, Any], name: str, default: str = "") -> str:
    value = str(args.get(name, default))
    return "" if value == _EMPTY else value


def lake_config(location: str) -> LakeConfig:
    """The dataset files: a compiled JSON in S3 (``s3://bucket/key``), a local path, or the default."""
    if location.startswith("s3://"):
        import boto3

        bucket, _, key = location[5:].partition("/")
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return compile_config(json.loads(body))
    return load_config(location or None)


def silver_config(args: dict[str, Any]) -> SilverConfig:
    return SilverConfig(
        bronze_bucket=args["bronze_bucket"],
        silver_bucket=args["silver_bucket"],
        client_prefix=_value(args, "client_prefix", "client/"),
        code_version=_value(args, "code_version"),
        glue_job_run_id=args.get("JOB_RUN_ID"),
        lake=lake_config(_value(args, "lake_config")) if _value(args, "lake_config") else None,
        full_scan=_value(args, "full_scan").lower() == "true",
    )


def gold_config(args: dict[str, Any]) -> GoldConfig:
    return GoldConfig(
        silver_bucket=args["silver_bucket"],
        gold_bucket=args["gold_bucket"],
        code_version=_value(args, "code_version"),
        glue_job_run_id=args.get("JOB_RUN_ID"),
    )


def vibranium_config(args: dict[str, Any]) -> VibraniumConfig:
    return VibraniumConfig(
        silver_bucket=args["silver_bucket"],
        gold_bucket=args["gold_bucket"],
        vibranium_bucket=args["vibranium_bucket"],
        threshold=float(_value(args, "confidence_threshold") or DEFAULT_THRESHOLD),
        code_version=_value(args, "code_version"),
        glue_job_run_id=args.get("JOB_RUN_ID"),
    )


def glue_catalog(args: dict[str, Any]) -> GlueCatalog | None:
    prefix = _value(args, "catalog_prefix")
    if not prefix:
        return None
    import boto3

    buckets = {tier: args[f"{tier}_bucket"] for tier in ("bronze", "silver", "gold", "vibranium")}
    return GlueCatalog(boto3.client("glue"), prefix, buckets)


def main(
    argv: Sequence[str],
    run: Callable[[S3Store, dict[str, Any], GlueCatalog | None], JobResult],
) -> int:
    """Parse the Glue arguments, run the job against S3, print the result line."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = resolved_options(argv, JOB_ARGUMENTS)
    result = run(S3Store.from_environment(), args, glue_catalog(args))
    sys.stdout.write(RESULT_PREFIX + json.dumps(result.as_dict(), sort_keys=True) + "\n")
    sys.stdout.flush()
    return 0
