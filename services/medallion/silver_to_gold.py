"""Glue Python shell job: silver -> gold (see :mod:`services.medallion.lib.gold`).

As a Glue job: ``--extra-py-files s3://<assets>/medallion/nexus_medallion-<v>-py3-none-any.whl``
ships :mod:`services.medallion.lib`; arguments in :mod:`services.medallion.lib.job`.
In-process: ``run(store, config)``.
"""

from __future__ import annotations

import sys
from typing import Any

from services.medallion.lib.catalog import GlueCatalog
from services.medallion.lib.gold import JOB, GoldConfig, silver_to_gold
from services.medallion.lib.job import gold_config, main
from services.medallion.lib.silver import JobResult, ProgressFn
from services.medallion.lib.store import ObjectStore

__all__ = ["JOB", "GoldConfig", "run"]


def run(
    store: ObjectStore,
    config: GoldConfig,
    catalog: GlueCatalog | None = None,
    progress: ProgressFn | None = None,
) -> JobResult:
    """Recompute the gold partitions whose silver inputs changed."""
    return silver_to_gold(store, config, catalog, progress)


def _glue(store: ObjectStore, args: dict[str, Any], catalog: GlueCatalog | None) -> JobResult:
    return run(store, gold_config(args), catalog)


if __name__ == "__main__":
    sys.exit(main(sys.argv, _glue))
