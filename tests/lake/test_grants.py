"""Lake Formation grants: applied as the default matrix, and enforced by the lake access layer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nexuskit.lake import sample
from nexuskit.lake.access import Lake
from nexuskit.lake.errors import LakeAccessDenied
from nexuskit.lake.grants import apply_grants, grants_matrix, principal_arns
from nexuskit.lake.query import run_query
from nexuskit.lake.tiers import promote
from nexuskit.provision.resources import EXISTS
from services.medallion.lib.names import database_name
from tests.helpers import EngineProcess
from tests.lake.conftest import new_lake, put_bronze


@pytest.fixture(scope="module")
def promoted(lake_engine: EngineProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """A lake with silver, gold and vibranium filled by the admin."""
    lake = new_lake(lake_engine, tmp_path_factory.mktemp("cache"))
    put_bronze(lake, sample.encode(sample.iter_records(400, interval_s=10)))
    promote(lake, to="vibranium")
    yield lake


def test_apply_grants_twice_changes_nothing(promoted: Lake) -> None:
    """A second apply_grants finds the role, catalogue and every grant in place."""
    states = apply_grants(promoted.spec, promoted.target)
    assert states and {s.state for s in states} == {EXISTS}


def test_grants_matrix_is_the_default_matrix(promoted: Lake) -> None:
    """`lake grants`: agent reads silver/gold and writes gold/vibranium, aws-mcp reads all and
    writes the processed tiers, bearer and nexus-ui nothing."""
    matrix = grants_matrix(promoted.spec, promoted.target, promoted.account_id)
    rows = {row["name"]: row for row in matrix["principals"]}
    assert rows["agent_irsa"]["tiers"] == {"bronze": "-", "silver": "r", "gold": "rw", "vibranium": "w"}
    assert rows["agent_irsa"]["datasets"] == {"silver.enrichment": "w"}
    assert rows["aws_mcp_irsa"]["tiers"] == {"bronze": "r", "silver": "rw", "gold": "rw", "vibranium": "rw"}
    assert rows["kinesis_bearer"]["tiers"] == {"bronze": "-", "silver": "-", "gold": "-", "vibranium": "-"}
    assert rows["ui_irsa"]["tiers"] == {"bronze": "-", "silver": "-", "gold": "-", "vibranium": "-"}
    assert rows["medallion_glue"]["tiers"] == {"bronze": "r", "silver": "rw", "gold": "rw", "vibranium": "rw"}
    assert rows["admin"]["tiers"] == {t: "rw" for t in ("bronze", "silver", "gold", "vibranium")}
    assert matrix["governed"] == ["bronze", "silver", "gold", "vibranium"]


def test_principal_without_grant_is_denied_on_read(promoted: Lake) -> None:
    """The agent role may not read bronze, and the bearer role may not read silver: LakeAccessDenied."""
    with pytest.raises(LakeAccessDenied, match="agent-irsa may not read bronze"):
        run_query(promoted.assume("agent_irsa"), "SELECT count(*) FROM bronze.raw")
    bearer = promoted.assume("kinesis_bearer")
    with pytest.raises(LakeAccessDenied, match="kinesis-bearer may not read"):
        list(bearer.store.list_objects(promoted.bucket("silver")))


def test_principal_without_grant_is_denied_on_write(promoted: Lake) -> None:
    """The agent role may not write silver.telemetry; aws-mcp may not write bronze; nothing is written."""
    agent = promoted.assume("agent_irsa")
    with pytest.raises(LakeAccessDenied, match=r"may not write silver\.telemetry"):
        agent.store.put(promoted.bucket("silver"), "telemetry/date=2026-11-26/evil.parquet", b"x")
    mcp = promoted.assume("aws_mcp_irsa")
    with pytest.raises(LakeAccessDenied, match="may not write"):
        mcp.store.put(promoted.bucket("bronze"), "2026/11/26/12/evil.parquet", b"x")
    keys = {o.key for t in ("silver", "bronze") for o in promoted.store.list_objects(promoted.bucket(t))}
    assert not any(k.endswith("evil.parquet") for k in keys)


def test_ui_role_reads_no_tier_itself(promoted: Lake) -> None:
    """nexus-ui's role has no lake grant (it reads the lake through aws-mcp): reading silver is denied."""
    with pytest.raises(LakeAccessDenied, match="ui-irsa may not read"):
        run_query(promoted.assume("ui_irsa"), "SELECT count(*) FROM silver.telemetry")


def test_stray_grant_to_the_ui_role_is_revoked(promoted: Lake) -> None:
    """A SELECT on silver given to the UI role by hand is taken back by the next apply_grants."""
    ui_role = principal_arns(promoted.spec, promoted.account_id)["ui_irsa"]
    promoted.client("lakeformation").grant_permissions(
        Principal={"DataLakePrincipalIdentifier": ui_role},
        Resource={
            "Table": {"DatabaseName": database_name(promoted.spec.prefix, "silver"), "TableWildcard": {}}
        },
        Permissions=["SELECT"],
    )
    rows = {
        r["name"]: r for r in grants_matrix(promoted.spec, promoted.target, promoted.account_id)["principals"]
    }
    assert rows["ui_irsa"]["tiers"]["silver"] == "r"
    apply_grants(promoted.spec, promoted.target)
    rows = {
        r["name"]: r for r in grants_matrix(promoted.spec, promoted.target, promoted.account_id)["principals"]
    }
    assert set(rows["ui_irsa"]["tiers"].values()) == {"-"}


def test_principal_with_grant_reads_and_writes(promoted: Lake) -> None:
    """The agent role reads silver and writes gold and silver.enrichment; aws-mcp reads bronze."""
    agent = promoted.assume("agent_irsa")
    assert run_query(agent, "SELECT count(*) FROM silver.telemetry").rows[0][0] > 0
    agent.store.put(promoted.bucket("gold"), "scratch/agent-note.json", b"{}")
    agent.store.put(promoted.bucket("silver"), "enrichment/date=2026-11-26/note.json", b"{}")
    mcp = promoted.assume("aws_mcp_irsa")
    assert run_query(mcp, "SELECT count(*) FROM bronze.raw").rows[0][0] == 400


def test_promote_without_grants_is_refused_before_writing(promoted: Lake) -> None:
    """The agent role (no bronze read, no silver write) cannot promote: refused up front."""
    put_bronze(promoted, sample.encode(sample.iter_records(10, seed=99)))
    with pytest.raises(LakeAccessDenied, match=r"may not (read the bronze tier|write the silver tier)"):
        promote(promoted.assume("agent_irsa"), to="silver")
    assert promote(promoted, to="silver").steps[0]["inputs"] == 1
