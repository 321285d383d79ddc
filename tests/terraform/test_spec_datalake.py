"""Spec §2.3 data lake: four medallion buckets and their Lake Formation registration."""

from __future__ import annotations

from conftest import module_config
from tfstatic import expression, literal


def _per_bucket(rtype: str) -> dict:
    resource = module_config("datalake").resource(rtype, "tier")
    assert expression(resource["for_each"]) == "aws_s3_bucket.tier", f"{rtype} must cover every bucket"
    assert expression(resource["bucket"]) == "each.value.id"
    return resource


def test_one_bucket_per_tier_tagged_with_its_tier() -> None:
    """aws_s3_bucket.tier iterates the tiers and tags each bucket MedallionTier = tier."""
    datalake = module_config("datalake")
    bucket = datalake.resource("aws_s3_bucket", "tier")
    assert expression(bucket["for_each"]) == "local.tiers"
    assert expression(datalake.locals["tiers"]) == "toset(var.bucket_tiers)"
    assert "MedallionTier = each.key" in expression(bucket["tags"])
    assert literal(bucket["force_destroy"]) is False


def test_every_bucket_is_versioned() -> None:
    """Versioning Enabled on every bucket."""
    versioning = _per_bucket("aws_s3_bucket_versioning")
    assert literal(versioning["versioning_configuration"][0]["status"]) == "Enabled"


def test_every_bucket_is_encrypted_with_aes256() -> None:
    """Default encryption SSE-S3 (AES256) on every bucket."""
    sse = _per_bucket("aws_s3_bucket_server_side_encryption_configuration")
    default = sse["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert literal(default["sse_algorithm"]) == "AES256"


def test_every_bucket_blocks_public_access() -> None:
    """All four public access block settings are true on every bucket."""
    block = _per_bucket("aws_s3_bucket_public_access_block")
    for setting in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert literal(block[setting]) is True, setting


def test_lake_formation_registers_every_bucket() -> None:
    """With enable_lake_formation, each bucket is an aws_lakeformation_resource data location."""
    datalake = module_config("datalake")
    settings = datalake.resource("aws_lakeformation_data_lake_settings", "this")
    assert expression(settings["count"]) == "var.enable_lake_formation ? 1 : 0"
    assert expression(settings["admins"]) == "local.lakeformation_admins"
    registered = datalake.resource("aws_lakeformation_resource", "tier")
    assert expression(registered["for_each"]) == "var.enable_lake_formation ? aws_s3_bucket.tier : {}"
    assert expression(registered["arn"]) == "each.value.arn"


def test_admins_get_data_location_access_on_every_bucket() -> None:
    """DATA_LOCATION_ACCESS is granted per (admin, registered bucket); admins default to the caller."""
    datalake = module_config("datalake")
    grant = datalake.resource("aws_lakeformation_permissions", "data_location")
    assert [literal(p) for p in grant["permissions"]] == ["DATA_LOCATION_ACCESS"]
    assert expression(grant["data_location"][0]["arn"]) == (
        "aws_lakeformation_resource.tier[each.value.tier].arn"
    )
    grants = expression(datalake.locals["data_location_grants"])
    assert "setproduct(local.lakeformation_admins, var.bucket_tiers)" in grants
    admins = expression(datalake.locals["lakeformation_admins"])
    assert "data.aws_iam_session_context.current.issuer_arn" in admins
