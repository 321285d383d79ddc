"""Glue Python shell job: gold -> vibranium (see :mod:`services.medallion.lib.insights`).

As a Glue job: ``--extra-py-files s3://<assets>/medallion/nexus_medallion-<v>-py3-none-any.whl``
ships :mod:`services.medallion.lib`; arguments in :mod:`services.medallion.lib.job`.
In-process: ``run(store, config)``.
"""

from __future__ import annotations

import sys
from typing import Any

from services.medallion.lib.catalog import GlueCatalog
from services.medallion.lib.insights import JOB, VibraniumConfig, gold_to_vibranium
from services.medallion.lib.job import main, vibranium_config
from services.medallion.lib.silver import JobResult, ProgressFn
from services.medallion.lib.store import ObjectStore

__all__ = ["JOB", "VibraniumConfig", "run"]


def run(
    store: ObjectStore,
    config: VibraniumConfig,
    catalog: GlueCatalog | None = None,
    progress: ProgressFn | None = None,
) -> JobResult:
    """Write the insights of every date whose gold partitions changed."""
    return gold_to_vibranium(store, config, catalog, progress)


def _glue(store: ObjectStore, args: dict[str, Any], catalog: GlueCatalog | None) -> JobResult:
    return run(store, vibranium_config(args), catalog)


if __name__ == "__main__":
    sys.exit(main(sys.argv, _glue))
