"""``lake compact``: merge small silver files into larger ones (see :mod:`services.medallion.lib.compact`).

Runs in-process against :attr:`Lake.store`, so the caller needs Lake Formation's read,
write and delete on silver (the medallion jobs' role and the admin have them).
"""

from __future__ import annotations

from typing import Any

from nexuskit.lake.access import Lake
from nexuskit.lake.errors import LakeError
from nexuskit.lake.glue import code_version
from nexuskit.lake.grants import DELETE, READ, WRITE
from services.medallion.lib.compact import CompactConfig, compact

Progress = Any


def compact_silver(
    lake: Lake,
    datasets: tuple[str, ...] = (),
    *,
    min_files: int = 4,
    small_mb: float = 32.0,
    target_mb: float = 128.0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Merge the small files of silver's partitions (``datasets``: only those, ``silver.x`` or ``x``)."""
    names = tuple(d.removeprefix("silver.") for d in datasets)
    for mode in (READ, WRITE, DELETE):
        lake.require("silver", mode)
    if min_files < 2:
        raise LakeError(f"--min-files {min_files} merges nothing", "use 2 or more")
    config = CompactConfig(
        silver_bucket=lake.bucket("silver"),
        datasets=names,
        small_bytes=int(small_mb * (1 << 20)),
        target_bytes=int(target_mb * (1 << 20)),
        min_files=min_files,
        code_version=code_version(),
    )
    return compact(lake.store, config, progress).as_dict()
