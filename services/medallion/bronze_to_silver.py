"""Glue Python shell job: bronze -> silver (see :mod:`services.medallion.lib.silver`).

As a Glue job: ``--extra-py-files s3://<assets>/medallion/nexus_medallion-<v>-py3-none-any.whl``
ships :mod:`services.medallion.lib`; arguments in :mod:`services.medallion.lib.job`.
In-process: ``run(store, config)``.
"""

from __future__ import annotations

import sys
from typing import Any

from services.medallion.lib.catalog import GlueCatalog
from services.medallion.lib.job import main, silver_config
from services.medallion.lib.silver import JOB, JobResult, ProgressFn, SilverConfig, bronze_to_silver
from services.medallion.lib.store import ObjectStore

__all__ = ["JOB", "SilverConfig", "run"]


def run(
    store: ObjectStore,
    config: SilverConfig,
    catalog: GlueCatalog | None = None,
    progress: ProgressFn | None = None,
) -> JobResult:
    """Promote every new bronze object to silver."""
    return bronze_to_silver(store, config, catalog, progress)


def _glue(store: ObjectStore, args: dict[str, Any], catalog: GlueCatalog | None) -> JobResult:
    return run(store, silver_config(args), catalog)


if __name__ == "__main__":
    sys.exit(main(sys.argv, _glue))
