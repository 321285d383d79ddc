"""`nexuskit promote` past the approval: apply of exactly the approved plan, and after."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexuskit.promote import STEPS, ApprovalRequest
from tests.promote.support import Checkout, SmokeServer, step_names

GATES = [name for name, _ in STEPS]


def _applies(calls: list[dict]) -> list[dict]:
    return [c for c in calls if c["argv"][1] == "apply"]


def test_happy_path_runs_every_step_in_order(checkout: Checkout) -> None:
    """With every gate green and the hash typed back, all steps pass in the documented order."""
    checkout.green_record()
    report = checkout.promote(confirm=lambda request: request.short)
    assert step_names(report) == GATES
    assert report.ok and report.outcome == "applied", report.as_dict()


def test_apply_runs_exactly_the_approved_plan(checkout: Checkout) -> None:
    """The platform apply gets the very file whose hash was approved, and nothing else."""
    checkout.green_record()
    seen: list[ApprovalRequest] = []

    def confirm(request: ApprovalRequest) -> str:
        seen.append(request)
        return request.short

    report = checkout.promote(confirm=confirm)
    platform_applies = [c for c in _applies(checkout.fakes.tf_calls()) if c["stack"] == "platform"]
    assert len(platform_applies) == 1
    assert platform_applies[0]["plan_sha256"] == seen[0].sha256 == report.plan_sha256
    assert platform_applies[0]["argv"][-1] == str(seen[0].plan_file)


def test_post_apply_plans_run_on_both_stacks(checkout: Checkout) -> None:
    """After apply, a -detailed-exitcode plan runs on platform and workloads (both must be empty)."""
    checkout.green_record()
    checkout.promote(confirm=lambda request: request.short)
    post = [
        c
        for c in checkout.fakes.tf_calls()
        if c["argv"][1] == "plan" and "-detailed-exitcode" in c["argv"] and "-refresh-only" not in c["argv"]
    ]
    assert [c["stack"] for c in post] == ["platform", "workloads"]


def test_non_empty_post_apply_plan_fails_the_run(checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> None:
    """A post-apply plan that still has changes (exit 2) fails the promotion."""
    checkout.green_record()
    monkeypatch.setenv("FAKE_TF_POSTPLAN_EXIT", "2")
    report = checkout.promote(confirm=lambda request: request.short)
    assert step_names(report)[-1] == "post-apply-plan"
    assert "not empty" in report.steps[-1].reason and not report.ok


def test_workloads_get_the_pushed_images(checkout: Checkout) -> None:
    """Service images are built and pushed to ECR, and the workloads plan runs them."""
    checkout.green_record()
    report = checkout.promote(confirm=lambda request: request.short)
    registry = "210987654321.dkr.ecr.us-west-2.amazonaws.com"
    tag = checkout.commit[:12]
    docker = checkout.fakes.docker_calls()
    assert ["push", f"{registry}/nexus/agent-core:{tag}"] in docker
    assert ["push", f"{registry}/nexus/aws-mcp:{tag}"] in docker
    assert ["login", "--username", "AWS", "--password-stdin", registry] in docker
    workloads_plan = next(
        c["argv"] for c in checkout.fakes.tf_calls() if c["stack"] == "workloads" and c["argv"][1] == "plan"
    )
    assert any(
        a.startswith("-var=image_overrides=") and f"nexus/agent-core:{tag}" in a for a in workloads_plan
    )
    assert report.steps[GATES.index("images")].details["built"] == ["nexus/agent-core", "nexus/aws-mcp"]


def test_image_step_without_docker_fails_in_one_line(checkout: Checkout) -> None:
    """Without docker on PATH the image step fails with one line naming docker."""
    checkout.green_record()
    checkout.fakes.remove("docker")
    report = checkout.promote(confirm=lambda request: request.short)
    assert step_names(report)[-1] == "images"
    reason = report.steps[-1].reason
    assert reason.startswith("docker is not installed") and "\n" not in reason


def test_smoke_test_gets_a_token_and_is_refused_unsigned(
    checkout: Checkout, smoke_server: SmokeServer
) -> None:
    """The smoke test POSTs /auth on the output URL and checks an unsigned call is refused."""
    checkout.green_record()
    report = checkout.promote(confirm=lambda request: request.short)
    assert ("POST", "/prod/auth", False) in smoke_server.requests
    assert ("POST", "/", False) in smoke_server.requests
    assert "refused" in report.steps[-1].reason


def test_smoke_test_fails_when_unsigned_calls_are_accepted(
    checkout: Checkout, smoke_server: SmokeServer
) -> None:
    """If the data plane answers an unsigned call, the smoke test (and the run) fails."""
    checkout.green_record()
    smoke_server.refuse_unsigned = False
    report = checkout.promote(confirm=lambda request: request.short)
    assert step_names(report)[-1] == "smoke" and not report.ok
    assert "was accepted" in report.steps[-1].reason


def test_plan_only_stops_after_the_policy_checks(checkout: Checkout) -> None:
    """--plan-only runs the gates through the policy checks and applies nothing."""
    checkout.green_record()
    report = checkout.promote(plan_only=True)
    assert step_names(report) == GATES[: GATES.index("policy") + 1]
    assert report.outcome == "planned" and report.ok
    assert _applies(checkout.fakes.tf_calls()) == []
    assert report.steps[-1].details["apply_with"].endswith(f"--approve {report.plan_sha256[:12]}")


def test_approve_applies_the_saved_plan_of_a_plan_only_run(checkout: Checkout) -> None:
    """--approve with the hash --plan-only printed applies that saved plan file, not a new one."""
    checkout.green_record()
    planned = checkout.promote(plan_only=True)
    applied = checkout.promote(approve=planned.plan_sha256[:12])
    assert applied.ok, applied.as_dict()
    assert "reusing the saved plan" in applied.steps[GATES.index("plan")].reason
    platform_applies = [c for c in _applies(checkout.fakes.tf_calls()) if c["stack"] == "platform"]
    assert [c["plan_sha256"] for c in platform_applies] == [planned.plan_sha256]
    plan_outs = [c for c in checkout.fakes.tf_calls() if any(a.startswith("-out=") for a in c["argv"])]
    assert [c["stack"] for c in plan_outs] == ["platform", "workloads"]  # no second platform plan


def test_workloads_apply_the_manifests_rendered_for_prod(checkout: Checkout) -> None:
    """The workloads plan gets manifests_dir: the services' templates rendered with prod names,
    the prod account and the pushed image tag (the same renderer the local runtime uses)."""
    checkout.green_record()
    checkout.promote(confirm=lambda request: request.short)
    plan = next(
        c["argv"] for c in checkout.fakes.tf_calls() if c["stack"] == "workloads" and c["argv"][1] == "plan"
    )
    folder = Path(next(a for a in plan if a.startswith("-var=manifests_dir=")).split("=", 2)[2])
    files = sorted(p.relative_to(folder).as_posix() for p in folder.glob("**/k8s/*.yaml"))
    assert "agent_core/k8s/agent-core.yaml" in files
    text = (folder / "agent_core" / "k8s" / "agent-core.yaml").read_text()
    assert "arn:aws:iam::210987654321:role/nexus-prod-agent-irsa" in text
    assert "${" not in text.replace("$(", "")
