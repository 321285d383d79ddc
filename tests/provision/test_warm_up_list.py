"""The engine's platform warm-up loads exactly the moto services ``up`` provisions with."""

from __future__ import annotations

from emulation.core.app import WARM_SERVICES
from nexuskit.lake.grants import database_name
from nexuskit.lifecycle import _EDGE_AND_LAKE_SERVICES
from nexuskit.provision.provisioner import PROVISION_SERVICES
from services.medallion.lib import catalog

#: boto3 client name -> moto backend name, where they differ
MOTO_NAMES = {"lambda": "awslambda"}


def test_warm_up_matches_what_up_calls() -> None:
    called = {MOTO_NAMES.get(s, s) for s in (*PROVISION_SERVICES, *_EDGE_AND_LAKE_SERVICES)}
    assert set(WARM_SERVICES) == called
    assert len(WARM_SERVICES) == len(set(WARM_SERVICES))


def test_grants_database_name_is_the_jobs() -> None:
    for prefix in ("nexus-dev", "Nexus-Local-2"):
        for tier in ("bronze", "silver", "gold", "vibranium"):
            assert database_name(prefix, tier) == catalog.database_name(prefix, tier)
