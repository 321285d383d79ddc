"""Measure the real terraform on stacks/platform: against nexuskit's engine and a plain moto_server.

Prints, in one run, for each target: terraform init, apply, second plan (``-detailed-exitcode``)
and destroy seconds; how many resources were applied, failed or never attempted; the errors
grouped by AWS API; and where apply spent its time (the slowest resources, as terraform's own
``elapsed_seconds`` reports them). The second target is ``python -m moto.server`` of the moto
this kit runs, with no nexuskit extension. No assertions; target: apply <= 60 s.

    .venv/bin/python benchmarks/bench_tf.py [--skip-moto] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.edge.package import build_auth_package
from nexuskit.engine import EmbeddedEngine, free_stack_port
from nexuskit.params import load_stack, params_path, repo_root
from nexuskit.terraform.runner import TerraformRun
from nexuskit.terraform.workspace import Workspace
from nexuskit.tfoverride import render_override

COMMON = ["-input=false", "-no-color"]


def _slowest(run: TerraformRun, count: int = 6) -> list[tuple[str, float]]:
    elapsed: dict[str, float] = {}
    for line in run.stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        hook = event.get("hook") or {}
        if event.get("type") == "apply_complete" and hook.get("action") != "read":
            address = (hook.get("resource") or {}).get("addr", "?")
            elapsed[address] = float(hook.get("elapsed_seconds") or 0)
    return sorted(elapsed.items(), key=lambda kv: -kv[1])[:count]


def _timeline(run: TerraformRun) -> dict[str, float]:
    """Where apply's wall time went: until the first change started (provider start-up and
    planning), and the resource whose change ended last (start offset, duration)."""
    from datetime import datetime

    first: datetime | None = None
    first_change: datetime | None = None
    last_end: tuple[datetime, str] | None = None
    starts: dict[str, datetime] = {}
    for line in run.stdout.splitlines():
        try:
            event = json.loads(line)
            moment = datetime.fromisoformat(event["@timestamp"].replace("Z", "+00:00"))
        except (ValueError, KeyError):
            continue
        first = first or moment
        hook = event.get("hook") or {}
        address = (hook.get("resource") or {}).get("addr", "")
        if event.get("type") == "apply_start" and hook.get("action") != "read":
            first_change = first_change or moment
            starts[address] = moment
        done = event.get("type") == "apply_complete" and address in starts
        if done and (last_end is None or moment > last_end[0]):
            last_end = (moment, address)
    if first is None or first_change is None or last_end is None:
        return {}
    return {
        "until_first_change_s": (first_change - first).total_seconds(),
        "last_resource": last_end[1],  # type: ignore[dict-item]
        "last_resource_start_s": (starts[last_end[1]] - first).total_seconds(),
        "last_resource_end_s": (last_end[0] - first).total_seconds(),
    }


def run_target(
    name: str,
    workspace: Workspace,
    endpoint: str,
    keys: tuple[str, str],
    variables: list[str],
    parallelism: int | None = None,
) -> dict[str, Any]:
    """init, apply, second plan and destroy of stacks/platform against ``endpoint``."""
    extra = [f"-parallelism={parallelism}"] if parallelism else []
    spec = load_stack(env="local")
    runner = workspace.prepare()
    workspace.write_override(
        "platform",
        render_override(endpoint, spec.region, keys[0], keys[1], state_path=workspace.state_file("platform")),
    )
    figures: dict[str, Any] = {"target": name}
    init = runner.run("platform", ["init", "-reconfigure", *COMMON])
    figures["init_s"] = init.seconds
    plan = runner.run("platform", ["plan", "-json", *COMMON, *variables], ok=(0, 1))
    planned = plan.changes.get("add", 0)
    apply = runner.run(
        "platform", ["apply", "-json", "-auto-approve", *COMMON, *extra, *variables], ok=(0, 1)
    )
    applied = len(set(apply.completed))
    failed = sorted(set(apply.errored) | {d.address for d in apply.errors if d.address})
    figures.update(
        {
            "apply_s": apply.seconds,
            "planned": planned,
            "applied": applied,
            "failed": len(failed),
            "not_attempted": max(planned - applied - len(failed), 0),
            "apply_errors_by_api": apply.errors_by_api(),
            "slowest": _slowest(apply),
            "timeline": _timeline(apply),
        }
    )
    second = runner.run(
        "platform", ["plan", "-json", "-detailed-exitcode", *COMMON, *variables], ok=(0, 1, 2)
    )
    figures.update(
        {
            "second_plan_s": second.seconds,
            "second_plan_exit": second.exit_code,
            "second_plan_changes": second.changes,
            "second_plan_errors_by_api": second.errors_by_api(),
        }
    )
    destroy = runner.run(
        "platform", ["destroy", "-json", "-auto-approve", *COMMON, *extra, *variables], ok=(0, 1)
    )
    figures.update(
        {
            "destroy_s": destroy.seconds,
            "destroy_exit": destroy.exit_code,
            "destroyed": len(set(destroy.completed)),
            "destroy_errors_by_api": destroy.errors_by_api(),
        }
    )
    return figures


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_engine(work: Path, variables: list[str], parallelism: int | None = None) -> dict[str, Any]:
    settings = KitSettings(port=free_stack_port(), state_dir=work / "engine-state", control_plane=False)
    engine = EmbeddedEngine(settings)
    started = time.perf_counter()
    engine.start()
    boot = time.perf_counter() - started
    try:
        creds = engine.credentials()
        figures = run_target(
            "nexuskit engine",
            Workspace(work / "engine-tf", repo_root()),
            engine.endpoint,
            (creds.access_key_id, creds.secret_access_key),
            variables,
            parallelism,
        )
    finally:
        engine.stop()
    figures["engine_start_s"] = boot
    return figures


def bench_moto(work: Path, variables: list[str]) -> dict[str, Any]:
    port = _free_port()
    log = open(work / "moto.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port), "-H", "127.0.0.1"], stdout=log, stderr=log
    )
    started = time.perf_counter()
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit(f"moto_server exited: see {work / 'moto.log'}") from None
                time.sleep(0.05)
        boot = time.perf_counter() - started
        figures = run_target(
            "plain moto_server",
            Workspace(work / "moto-tf", repo_root()),
            f"http://127.0.0.1:{port}",
            ("test", "test"),
            variables,
        )
    finally:
        proc.terminate()
        proc.wait()
        log.close()
    figures["engine_start_s"] = boot
    return figures


def _print(figures: dict[str, Any]) -> None:
    f = figures
    print(f"== {f['target']}")
    print(
        f"  start {f['engine_start_s']:.1f} s | init {f['init_s']:.1f} s | apply {f['apply_s']:.1f} s"
        f" | second plan {f['second_plan_s']:.1f} s (exit {f['second_plan_exit']}) | destroy "
        f"{f['destroy_s']:.1f} s (exit {f['destroy_exit']})"
    )
    print(
        f"  resources: {f['planned']} planned, {f['applied']} applied, {f['failed']} failed, "
        f"{f['not_attempted']} not attempted; second plan {f['second_plan_changes']}; "
        f"{f['destroyed']} destroyed"
    )
    for phase in ("apply", "second_plan", "destroy"):
        errors = figures[f"{phase}_errors_by_api"]
        if errors:
            print(
                f"  {phase} errors by API: " + ", ".join(f"{api} x{n}" for api, n in sorted(errors.items()))
            )
    slowest = ", ".join(f"{addr} {secs:.0f} s" for addr, secs in figures["slowest"])
    print(f"  slowest in apply: {slowest}")
    line = figures.get("timeline") or {}
    if line:
        print(
            f"  apply timeline: first change at +{line['until_first_change_s']:.1f} s (provider start, plan);"
            " "
            f"last to finish {line['last_resource']} (+{line['last_resource_start_s']:.1f} s -> "
            f"+{line['last_resource_end_s']:.1f} s); process exit at {figures['apply_s']:.1f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-moto", action="store_true", help="only nexuskit's engine")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--parallelism", type=int, default=None, help="terraform -parallelism for apply/destroy (default 10)"
    )
    args = parser.parse_args()
    if shutil.which("terraform") is None:
        raise SystemExit("terraform is not installed: nothing to measure")
    with tempfile.TemporaryDirectory(prefix="bench-tf-") as tmp:
        work = Path(tmp)
        spec = load_stack(env="local")
        package = build_auth_package(work / "build", function_name=spec.auth_function, allow_environment=True)
        from nexuskit.lake.glue import build_assets

        glue = build_assets(work / "build" / "glue")  # the medallion jobs' code, as `up` passes it
        variables = [
            f"-var-file={params_path('local', repo_root())}",
            *[f"-var={k}={v}" for k, v in package.terraform_vars().items()],
            f"-var-file={glue.var_file}",
        ]
        results = [bench_engine(work, variables, args.parallelism)]
        if not args.skip_moto:
            results.append(bench_moto(work, variables))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for figures in results:
        _print(figures)


if __name__ == "__main__":
    main()
