"""Where things live in the tier buckets (one place for every key the jobs build or parse).

Bronze (written by Firehose): ``[client/]YYYY/MM/DD/HH/<stream>-<n>-YYYY-MM-DD-HH-MM-SS-<uuid>[.gz]``.

Silver, gold and vibranium::

    <dataset>/date=YYYY-MM-DD/part-<run>-<seq>.parquet   committed data (Hive-style partitions)
    _index/<dataset>/date=YYYY-MM-DD/ids-<run>-<seq>.parquet   record ids seen (silver dedupe)
    _manifests/<job>/<run>.json       one commit of a job run (the commit point; see commit.py)
    _staging/<job>/<run>/<final key>  uncommitted output of a run (never read by readers)
    provenance/<run>/<insight>.json   vibranium provenance manifests (run-scoped)

A writer that owns a single dataset names its job after it (``_manifests/enrichment/``), so
that a Lake Formation grant on that one table covers everything it writes
(:func:`dataset_of_key`).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

UTC = timezone.utc  # noqa: UP017  (the UTC constant of datetime is 3.11+; Glue Python shell runs 3.9)

STAGING = "_staging"
MANIFESTS = "_manifests"
INDEX = "_index"
PROVENANCE = "provenance"

_BRONZE_TAIL = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}/[^/]+-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[^/]+$")
_RUN_ID = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}(-b\d{4})?$")


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSSffffffZ-xxxxxx``: sorts by start time, unique."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    return when.strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def is_run_id(value: str) -> bool:
    return bool(_RUN_ID.match(value))


def is_bronze_object(key: str, prefixes: tuple[str, ...] = ("", "client/")) -> bool:
    """A Firehose object under one of ``prefixes`` (``""`` is the bucket root)."""
    for prefix in sorted(prefixes, key=len, reverse=True):
        if key.startswith(prefix) and _BRONZE_TAIL.match(key[len(prefix) :]):
            return True
    return False


def channel_of(key: str, client_prefix: str = "client/") -> str:
    return "client" if client_prefix and key.startswith(client_prefix) else "internal"


def partition_value(date: str) -> str:
    return f"date={date}"


def data_key(dataset: str, date: str, run_id: str, seq: int) -> str:
    return f"{dataset}/{partition_value(date)}/part-{run_id}-{seq:05d}.parquet"


def index_key(dataset: str, date: str, run_id: str, seq: int) -> str:
    return f"{INDEX}/{dataset}/{partition_value(date)}/ids-{run_id}-{seq:05d}.parquet"


def manifest_prefix(job: str) -> str:
    return f"{MANIFESTS}/{job}/"


def manifest_key(job: str, run_id: str) -> str:
    return f"{MANIFESTS}/{job}/{run_id}.json"


def staging_prefix(job: str, run_id: str | None = None) -> str:
    return f"{STAGING}/{job}/{run_id}/" if run_id else f"{STAGING}/{job}/"


def provenance_key(run_id: str, insight_id: str) -> str:
    return f"{PROVENANCE}/{run_id}/{insight_id}.json"


def dataset_of_key(key: str) -> str | None:
    """The dataset a key belongs to (staging, manifests and index included), else None."""
    parts = key.split("/")
    if parts[0] == STAGING and len(parts) > 1:
        # _staging/<job>/<run>/<final key>: the final key's dataset, else the job's
        return dataset_of_key("/".join(parts[3:])) or (parts[1] or None)
    if parts[0] in {MANIFESTS, INDEX}:
        parts = parts[1:]
    if not parts or not parts[0] or parts[0].startswith("_"):
        return None
    return parts[0]


def date_of_partition(partition: str) -> str:
    return partition.split("=", 1)[1] if "=" in partition else partition


def lineage_ref(key: str, version_id: str) -> str:
    """``key#version`` - how gold rows name the files they came from."""
    return f"{key}#{version_id}"


def split_lineage_ref(ref: str) -> tuple[str, str]:
    key, _, version = ref.rpartition("#")
    return key, version
