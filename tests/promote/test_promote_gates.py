"""Each gate of `nexuskit promote` stops the run with its reason, in order.

The terraform on PATH is the scripted fake (tests/promote/fakes), AWS is moto, and the
repository is a fresh clean checkout in a temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nexuskit.promote import STEPS
from tests.promote.support import Checkout, change, make_repo, plan_json, step_names

GATES = [name for name, _ in STEPS]


def _stopped_at(report, name: str) -> str:
    """The run stopped at ``name`` after every earlier step passed; returns the reason."""
    assert step_names(report) == GATES[: GATES.index(name) + 1]
    assert all(step.status == "pass" for step in report.steps[:-1]), report.as_dict()
    assert report.steps[-1].status == "fail"
    assert report.outcome == "stopped"
    return report.steps[-1].reason


def test_dirty_tree_stops_the_first_gate(checkout: Checkout) -> None:
    """An uncommitted change stops the run at the first gate, naming the file."""
    checkout.green_record()
    (checkout.path / "terraform/envs/prod/backend.hcl").write_text("# edited\n")
    reason = _stopped_at(checkout.promote(), "clean-tree")
    assert "not clean" in reason and "backend.hcl" in reason
    assert checkout.fakes.tf_calls() == []


def test_local_override_file_stops_the_first_gate(checkout: Checkout) -> None:
    """A git-ignored *_override.tf in a stack (it would target the emulator) stops the run."""
    checkout.green_record()
    (checkout.path / "terraform/stacks/platform/nexuskit_override.tf").write_text("# local\n")
    reason = _stopped_at(checkout.promote(), "clean-tree")
    assert "terraform/stacks/platform/nexuskit_override.tf" in reason


def test_missing_scenario_record_stops_the_run(checkout: Checkout) -> None:
    """Without a scenario record for HEAD the run stops, saying where the record belongs."""
    reason = _stopped_at(checkout.promote(), "scenarios")
    assert "no scenario record" in reason and checkout.commit[:12] in reason
    assert ".nexus/scenario-results/" in reason


def test_red_scenario_record_stops_the_run(checkout: Checkout) -> None:
    """A record with a failed scenario stops the run and names the scenario."""
    from nexuskit.promote import write_scenario_record

    write_scenario_record(
        checkout.commit,
        [
            {"name": "client-auth-to-bronze", "status": "passed"},
            {"name": "expired-token", "status": "failed"},
        ],
        root=checkout.path,
        dirty=False,
    )
    reason = _stopped_at(checkout.promote(), "scenarios")
    assert "red" in reason and "expired-token" in reason


def test_record_of_another_commit_does_not_count(checkout: Checkout) -> None:
    """A green record of an older commit does not open the gate for HEAD."""
    from nexuskit.promote import write_scenario_record

    write_scenario_record("a" * 40, [{"name": "s", "status": "passed"}], root=checkout.path, dirty=False)
    assert "no scenario record" in _stopped_at(checkout.promote(), "scenarios")


def test_broken_invariant_stops_the_static_checks(
    checkout: Checkout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing python-hcl2 invariant test stops the run with pytest's summary line."""
    checkout.green_record()
    monkeypatch.setenv("FAKE_INVARIANTS_FAIL", "1")
    reason = _stopped_at(checkout.promote(), "static-checks")
    assert reason.startswith("terraform invariants failed") and "1 failed" in reason


def test_checkov_failure_stops_the_static_checks(checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> None:
    """Failed checkov checks stop the run with checkov's count."""
    checkout.green_record()
    monkeypatch.setenv("FAKE_CHECKOV_FAILED", "2")
    reason = _stopped_at(checkout.promote(), "static-checks")
    assert "checkov failed" in reason and "Failed checks: 2" in reason


def test_skip_checkov_passes_with_a_warning(checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> None:
    """--skip-checkov lets the gate pass without checkov, and says so in a warning."""
    checkout.green_record()
    monkeypatch.setenv("FAKE_CHECKOV_FAILED", "2")
    report = checkout.promote(skip_checkov=True, plan_only=True)
    static = report.steps[GATES.index("static-checks")]
    assert static.status == "pass"
    assert any("checkov was skipped" in w for w in static.warnings)
    assert all("checkov.sh" not in " ".join(c) for c in static.commands)


def _checkout_with(tmp_path, fakes, moto_url, smoke_server, **repo_args) -> Checkout:
    repo, commit = make_repo(tmp_path / "other", **repo_args)
    co = Checkout(repo, commit, fakes, {"default": moto_url, "kinesis": smoke_server.url})
    co.green_record()
    return co


def test_placeholder_account_stops_the_run(checkout: Checkout, tmp_path, moto_url, smoke_server) -> None:
    """allowed_account_ids holding 123456789012 stops the run before any AWS call."""
    co = _checkout_with(tmp_path, checkout.fakes, moto_url, smoke_server, account="123456789012")
    reason = _stopped_at(co.promote(), "env-params")
    assert "placeholder account 123456789012" in reason


def test_wrong_region_stops_the_run(checkout: Checkout, tmp_path, moto_url, smoke_server) -> None:
    """A region other than us-west-2 stops the run, naming both regions."""
    co = _checkout_with(tmp_path, checkout.fakes, moto_url, smoke_server, region="us-east-1")
    reason = _stopped_at(co.promote(), "env-params")
    assert "region is us-east-1" in reason and "us-west-2" in reason


def test_missing_credentials_stop_the_run(checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no AWS credentials at all the run stops at the identity gate."""
    checkout.green_record()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert "no AWS credentials" in _stopped_at(checkout.promote(), "aws-identity")
    stacks = [c for c in checkout.fakes.tf_calls() if c["argv"][0].startswith("-chdir=terraform/stacks")]
    assert stacks == [], "terraform ran on the checkout's stacks before the identity gate"


def test_caller_in_another_account_stops_the_run(checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials of an account outside allowed_account_ids stop the run (STS, via moto)."""
    checkout.green_record()
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    reason = _stopped_at(checkout.promote(), "aws-identity")
    assert "account 999999999999" in reason and "not in allowed_account_ids" in reason


def test_local_endpoint_variable_stops_the_run(checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_ENDPOINT_URL pointing at a local engine stops the run: terraform would follow it."""
    checkout.green_record()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    reason = _stopped_at(checkout.promote(), "aws-identity")
    assert "AWS_ENDPOINT_URL=http://127.0.0.1:4566" in reason


def test_failing_init_stops_the_run_with_terraforms_error(
    checkout: Checkout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """terraform init's Error: line is the reason when init fails."""
    checkout.green_record()
    monkeypatch.setenv("FAKE_TF_INIT_EXIT", "1")
    assert "Error: fake init failure" in _stopped_at(checkout.promote(), "init")


def test_init_uses_the_prod_backend(checkout: Checkout) -> None:
    """init runs in the platform stack with envs/prod/backend.hcl."""
    checkout.green_record()
    checkout.promote(plan_only=True)
    init = next(
        c["argv"] for c in checkout.fakes.tf_calls() if c["argv"][1] == "init" and "-reconfigure" in c["argv"]
    )
    assert init[:2] == ["-chdir=terraform/stacks/platform", "init"]
    assert "-backend-config=../../envs/prod/backend.hcl" in init


def test_drift_stops_the_run(checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh-only plan that exits 2 (drift) stops the run before any plan is made."""
    checkout.green_record()
    monkeypatch.setenv("FAKE_TF_DRIFT_EXIT", "2")
    reason = _stopped_at(checkout.promote(), "drift")
    assert reason.startswith("drift:") and "--accept-drift" in reason
    calls = [c["argv"] for c in checkout.fakes.tf_calls()]
    assert calls[-1][1:4] == ["plan", "-refresh-only", "-detailed-exitcode"]
    assert not any(any(a.startswith("-out=") for a in argv) for argv in calls)


def test_accept_drift_continues_with_a_warning(checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> None:
    """--accept-drift turns drift into a warning and the run goes on to plan."""
    checkout.green_record()
    monkeypatch.setenv("FAKE_TF_DRIFT_EXIT", "2")
    report = checkout.promote(accept_drift=True, plan_only=True)
    drift = report.steps[GATES.index("drift")]
    assert drift.status == "pass" and drift.warnings
    assert report.outcome == "planned"


def test_destructive_plan_stops_the_run(checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan that replaces a medallion bucket stops at the policy checks, naming it."""
    checkout.green_record()
    doc = plan_json(
        change('module.datalake.aws_s3_bucket.tier["bronze"]', ["delete", "create"]),
        change("module.streaming.aws_kinesis_stream.client", ["update"]),
    )
    monkeypatch.setenv("FAKE_TF_PLAN_JSON", str(checkout.write_json("plan.json", doc)))
    reason = _stopped_at(checkout.promote(), "policy")
    assert 'module.datalake.aws_s3_bucket.tier["bronze"]: would be replaced' in reason
    assert "aws_kinesis_stream" not in reason
    assert not any(c["argv"][1] == "apply" for c in checkout.fakes.tf_calls())


def test_iam_wildcard_stops_the_run(checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> None:
    """A role policy allowing Action "*" stops at the policy checks, naming its address."""
    checkout.green_record()
    policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
    doc = plan_json(change("module.edge.aws_iam_role_policy.lambda_exec", ["update"], {"policy": policy}))
    monkeypatch.setenv("FAKE_TF_PLAN_JSON", str(checkout.write_json("plan.json", doc)))
    reason = _stopped_at(checkout.promote(), "policy")
    assert "module.edge.aws_iam_role_policy.lambda_exec: allows Action '*'" in reason


def test_approval_hash_mismatch_stops_the_run(checkout: Checkout) -> None:
    """--approve with another plan's hash stops at approval; nothing is applied."""
    checkout.green_record()
    reason = _stopped_at(checkout.promote(approve="0123456789ab"), "approval")
    assert "plan hash mismatch" in reason and "0123456789ab" in reason
    assert not any(c["argv"][1] == "apply" for c in checkout.fakes.tf_calls())


def test_no_approval_without_a_terminal_stops_the_run(checkout: Checkout) -> None:
    """Non-interactive runs without --approve stop at approval and print the hash to approve."""
    checkout.green_record()
    report = checkout.promote()
    reason = _stopped_at(report, "approval")
    assert f"--approve {report.plan_sha256[:12]}" in reason


def test_wrong_typed_confirmation_stops_the_run(checkout: Checkout) -> None:
    """A typed confirmation that is not the plan's first 12 hex digits applies nothing."""
    checkout.green_record()
    reason = _stopped_at(checkout.promote(confirm=lambda request: "yes"), "approval")
    assert "does not match" in reason


def test_validate_and_rehearsal_come_before_any_aws_call() -> None:
    """The two terraform gates run after the parameters and before the first AWS call (STS)."""
    assert GATES.index("env-params") < GATES.index("validate") < GATES.index("rehearsal")
    assert GATES.index("rehearsal") < GATES.index("aws-identity")


def test_invalid_terraform_stops_the_run_at_validate(
    checkout: Checkout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """terraform validate's error (with the real providers) stops the run; nothing is rehearsed."""
    checkout.green_record()
    monkeypatch.setenv("FAKE_TF_VALIDATE_ERROR", "Unsupported argument")
    reason = _stopped_at(checkout.promote(), "validate")
    assert "Unsupported argument" in reason
    assert checkout.rehearsals == []


def test_validate_runs_in_a_copy_without_a_backend(checkout: Checkout) -> None:
    """Validation inits both stacks without a backend, in a copy under .nexus (the checkout stays clean)."""
    checkout.green_record()
    checkout.promote(plan_only=True)
    inits = [c["argv"] for c in checkout.fakes.tf_calls() if "-backend=false" in c["argv"]]
    assert [Path(a[0].removeprefix("-chdir=")).name for a in inits] == ["platform", "workloads"]
    assert all("/.nexus/promote/prod/" in a[0] for a in inits)


def test_failed_rehearsal_stops_the_run_before_aws(checkout: Checkout) -> None:
    """A rehearsal that fails stops the run; the identity gate (the first AWS call) never runs."""
    checkout.green_record()
    checkout.rehearsal_error = "rehearsal: terraform apply on the scratch engine failed: boom"
    report = checkout.promote()
    assert report.steps[-1].name == "rehearsal" and report.steps[-1].status == "fail"
    assert "boom" in report.steps[-1].reason
    assert "aws-identity" not in [s.name for s in report.steps]


def test_rehearsal_rehearses_this_checkout_and_env(checkout: Checkout) -> None:
    """The rehearsal gets the checkout and the environment being promoted."""
    checkout.green_record()
    checkout.promote(plan_only=True)
    assert checkout.rehearsals == [(checkout.path, "prod")]


def test_plan_takes_the_rehearsed_lambda_package(checkout: Checkout) -> None:
    """The platform plan deploys exactly the zip the rehearsal checked (path and hash)."""
    checkout.green_record()
    checkout.promote(plan_only=True)
    plan = next(c["argv"] for c in checkout.fakes.tf_calls() if any(a.startswith("-out=") for a in c["argv"]))
    assert any(a.startswith("-var=auth_package_path=") and a.endswith("nexus-prod-auth.zip") for a in plan)
    assert "-var=auth_package_sha256=" + "A" * 43 + "=" in plan


def test_platform_commands_take_the_rehearsed_glue_assets(checkout: Checkout) -> None:
    """The drift check, the plan and the post-apply plan of the platform stack name the Glue
    jobs' variable file the rehearsal built (its absolute path), so the jobs promotion deploys
    run the scripts the rehearsal read back; the workloads stack does not get it."""
    checkout.green_record()
    checkout.promote(confirm=lambda request: request.short)
    expected = "-var-file=" + str(
        (checkout.path / ".nexus" / "promote").resolve()
    )  # the run folder lives under the checkout's .nexus/promote/<env>/<commit>/
    plans = [c for c in checkout.fakes.tf_calls() if c["argv"][1] == "plan"]
    platform = [c["argv"] for c in plans if c["stack"] == "platform"]
    assert len(platform) == 3  # drift check, plan, post-apply plan
    for argv in platform:
        glue = [a for a in argv if a.endswith("/rehearsal/build/glue/medallion-glue.tfvars.json")]
        assert len(glue) == 1 and glue[0].startswith(expected), argv
    assert not any("medallion-glue" in a for c in plans if c["stack"] == "workloads" for a in c["argv"])
