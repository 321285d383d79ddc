"""The engine-side hook: ``lake_formation_allows`` (pure), its view of moto's state, and the
engine denying direct S3 access to a tier when the IAM extension consults it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from emulation.lakeformation.enforcement import (
    Grant,
    LakeGrants,
    lake_formation_allows,
    lake_formation_allows_arn,
)
from emulation.lakeformation.state import grants_from_moto
from nexuskit.aws import AwsTarget
from nexuskit.lake.grants import DELETE, READ, WRITE, load_grants, principal_arns
from nexuskit.params import TIERS, StackSpec, load_stack
from services.medallion.lib.layout import dataset_of_key
from tests.helpers import EngineProcess
from tests.lake.conftest import provision_lake, put_bronze

AGENT = "arn:aws:iam::123456789012:role/nexus-dev-agent-irsa"
GRANTS = LakeGrants(
    admins=frozenset({"arn:aws:sts::123456789012:user/moto"}),
    locations={"silver": ("",), "bronze": ("",), "half": ("governed/",)},
    grants=(
        Grant(AGENT, "silver", None, frozenset({"SELECT", "DESCRIBE"})),
        Grant(AGENT, "silver", "enrichment", frozenset({"INSERT", "DELETE"})),
        Grant("IAM_ALLOWED_PRINCIPALS", "half", None, frozenset({"ALL"})),
    ),
)


def test_reads_need_select_and_writes_need_insert() -> None:
    """A SELECT grant allows GetObject and ListBucket on the tier but not PutObject or DeleteObject."""
    assert lake_formation_allows(AGENT, "silver", "s3:GetObject", GRANTS, "telemetry/date=x/p.parquet")
    assert lake_formation_allows(AGENT, "silver", "s3:ListBucket", GRANTS)
    assert not lake_formation_allows(AGENT, "silver", "s3:PutObject", GRANTS, "telemetry/date=x/p.parquet")
    assert not lake_formation_allows(AGENT, "silver", "s3:DeleteObject", GRANTS, "telemetry/date=x/p.parquet")
    assert not lake_formation_allows(AGENT, "bronze", "s3:GetObject", GRANTS, "2026/11/26/10/x.gz")


def test_a_table_grant_covers_only_that_dataset() -> None:
    """INSERT on silver table enrichment allows its data, staging and manifest keys, nothing else."""
    for key in (
        "enrichment/date=x/p.parquet",
        "_staging/enrichment/r1/enrichment/date=x/p.parquet",
        "_staging/enrichment/r1/_intent.json",
        "_manifests/enrichment/r1.json",
    ):
        assert lake_formation_allows(AGENT, "silver", "s3:PutObject", GRANTS, key), key
    assert not lake_formation_allows(
        AGENT, "silver", "s3:PutObject", GRANTS, "_manifests/bronze_to_silver/r.json"
    )


def test_admins_sessions_and_ungoverned_buckets() -> None:
    """Admins may do all; a role session counts as its role; ungoverned buckets and non-data actions pass."""
    assert lake_formation_allows("arn:aws:sts::123456789012:user/moto", "bronze", "s3:PutObject", GRANTS, "k")
    session = "arn:aws:sts::123456789012:assumed-role/nexus-dev-agent-irsa/pod-1"
    assert lake_formation_allows(session, "silver", "s3:GetObject", GRANTS, "telemetry/x")
    assert lake_formation_allows(AGENT, "other-bucket", "s3:PutObject", GRANTS, "k")
    assert lake_formation_allows(AGENT, "bronze", "s3:GetBucketVersioning", GRANTS)
    assert lake_formation_allows(AGENT, "half", "s3:PutObject", GRANTS, "ungoverned/k")
    assert lake_formation_allows_arn(AGENT, "s3:GetObject", "arn:aws:s3:::silver/telemetry/x", GRANTS)
    assert not lake_formation_allows_arn(AGENT, "s3:GetObject", "arn:aws:s3:::bronze/x", GRANTS)


def test_layout_and_engine_agree_on_datasets() -> None:
    """The engine's key -> dataset rule is the jobs' rule."""
    from emulation.lakeformation.enforcement import dataset_of_key as engine_rule

    for key in (
        "telemetry/date=x/p.parquet",
        "_staging/bronze_to_silver/r/telemetry/date=x/p.parquet",
        "_staging/enrichment/r/_intent.json",
        "_manifests/enrichment/r.json",
        "_index/event/date=x/i.parquet",
        "_staging/",
        "provenance/r/i.json",
        "",
        "_other/x",
    ):
        assert engine_rule(key) == dataset_of_key(key), key


@pytest.fixture(scope="module")
def in_process_moto() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_engine_view_of_moto_agrees_with_the_access_layer(in_process_moto: str) -> None:
    """For every stack principal, tier and mode, the engine's decision equals the access layer's."""
    from nexuskit.provision.context import ProvisionContext
    from nexuskit.provision.storage import provision_storage

    spec = StackSpec(load_stack().params.model_copy(update={"environment": "hook"}))
    target = AwsTarget(
        region=spec.region, access_key_id="test", secret_access_key="test", endpoint_url=in_process_moto
    )
    ctx = ProvisionContext.connect(spec, target)
    provision_storage(ctx)
    from nexuskit.lake.grants import apply_grants

    apply_grants(spec, target)
    account = ctx.account_id
    engine_view = grants_from_moto(account)
    access_layer = load_grants(spec, target)
    actions = {READ: "s3:GetObject", WRITE: "s3:PutObject", DELETE: "s3:DeleteObject"}
    checked = 0
    for principal in [*principal_arns(spec, account).values(), ctx.caller_arn]:
        for tier in TIERS:
            for mode, action in actions.items():
                expected = access_layer.allows(principal, tier, mode)
                got = lake_formation_allows(principal, spec.bucket(tier), action, engine_view, "telemetry/x")
                assert got == expected, (principal, tier, mode)
                checked += 1
    assert checked == 10 * 4 * 3  # the 8 stack roles, the jobs' Glue role and the caller


def _iam_extension_consults_lake_formation() -> bool:
    folder = Path(__file__).resolve().parents[2] / "emulation" / "iam"
    return any("lake_formation_allows" in p.read_text() for p in folder.glob("*.py"))


@pytest.mark.skipif(
    not _iam_extension_consults_lake_formation(),
    reason="the IAM extension (emulation/iam) does not call lake_formation_allows yet",
)
def test_engine_denies_direct_s3_access_without_grant(tmp_path: Path) -> None:
    """With --iam enforce --lake-formation strict (stricter than AWS, where Lake Formation does
    not govern direct S3 calls) the agent role's S3 reads of bronze are denied; silver
    reads, gold writes pass."""
    args = ("--no-persist", "--iam", "enforce", "--lake-formation", "strict")
    engine = EngineProcess(tmp_path / "enforcing", *args).start()
    try:
        from nexuskit.lake.access import Lake

        spec = StackSpec(load_stack().params.model_copy(update={"environment": "enf"}))
        provision_lake(spec, engine, roles=True)
        admin = Lake(spec, engine.target(), cache_dir=tmp_path / "cache", state_dir=tmp_path / "state")
        key = put_bronze(admin, b'{"id": "1"}\n')
        admin.client("s3").put_object(Bucket=spec.bucket("silver"), Key="telemetry/x.json", Body=b"{}")
        s3 = admin.assume("agent_irsa").client("s3")
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.get_object(Bucket=spec.bucket("bronze"), Key=key)
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.put_object(Bucket=spec.bucket("silver"), Key="telemetry/y.json", Body=b"{}")
        assert s3.get_object(Bucket=spec.bucket("silver"), Key="telemetry/x.json")["Body"].read() == b"{}"
        s3.put_object(Bucket=spec.bucket("gold"), Key="device_hourly/z.json", Body=b"{}")
    finally:
        engine.stop()
