"""Parity: the names and sizes Terraform derives are exactly nexuskit's StackSpec."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from parity import nexuskit_view, terraform_view
from tfstatic import TF_ROOT, load_config

from nexuskit.params import load_stack


def _diff(terraform: dict, nexuskit: dict) -> list[str]:
    keys = sorted(set(terraform) | set(nexuskit))
    return [
        f"{key}: terraform={terraform.get(key)!r} nexuskit={nexuskit.get(key)!r}"
        for key in keys
        if terraform.get(key) != nexuskit.get(key)
    ]


def test_terraform_names_and_sizes_match_stackspec(env: str) -> None:
    """Every stream, Firehose, bucket, role, log group, function, API, cluster name and every
    size (shards, retention, buffering, TTLs, node groups) agrees with load_stack(env)."""
    spec = load_stack(env=env)
    differences = _diff(terraform_view(env), nexuskit_view(spec))
    assert not differences, "Terraform and nexuskit disagree:\n" + "\n".join(differences)


def test_every_stackspec_role_is_a_terraform_role(env: str) -> None:
    """Each key of StackSpec.roles is the name of an aws_iam_role resource in the modules."""
    assert set(terraform_view(env)["roles"]) == set(load_stack(env=env).roles)


@pytest.mark.parametrize(
    ("module", "original", "broken", "field"),
    [
        ("streaming", '"${var.prefix}-client-intake"', '"${var.prefix}-client-in"', "streams"),
        ("datalake", '"${var.prefix}-${each.key}-${var.region}"', '"${var.prefix}-${each.key}"', "buckets"),
        ("edge", '"${var.prefix}-kinesis-bearer"', '"${var.prefix}-bearer"', "roles"),
        ("observability", '"/aws/lambda/${var.prefix}-auth"', '"/aws/lambda/${var.prefix}"', "log_groups"),
    ],
)
def test_parity_goes_red_when_a_name_breaks(
    tmp_path: Path, module: str, original: str, broken: str, field: str
) -> None:
    """On a copy of terraform/ with one name expression broken, parity reports that field."""
    copy = tmp_path / "terraform"
    shutil.copytree(TF_ROOT, copy, ignore=shutil.ignore_patterns(".terraform", ".build"))
    main = copy / "modules" / module / "main.tf"
    text = main.read_text(encoding="utf-8")
    assert original in text, f"{module}/main.tf no longer holds {original}"
    main.write_text(text.replace(original, broken, 1), encoding="utf-8")
    load_config.cache_clear()
    try:
        differences = _diff(terraform_view("prod", copy), nexuskit_view(load_stack(env="prod")))
    finally:
        load_config.cache_clear()
    assert [d for d in differences if d.startswith(f"{field}:")], differences
