"""Wall time of the shipped scenario suite on fresh embedded stacks (target: <= 3 min).

Runs every ``scenarios/*.yaml`` as ``nexuskit scenario run --fresh`` does (one stack per
stack profile, started in parallel with ``nexuskit up --local``, removed afterwards) and
prints the time to start the stacks, each scenario's time and status, and the whole
suite's wall time, stacks and teardown included. No promotion record is written and
nothing is asserted.

    .venv/bin/python benchmarks/bench_scenarios.py
"""

from __future__ import annotations

import time

from nexuskit.scenarios.loader import load_all
from nexuskit.scenarios.runner import run_suite, shipped_folder
from nexuskit.scenarios.stacks import FreshStacks

TARGET_S = 180.0


def main() -> int:
    folder = shipped_folder()
    loaded = load_all([folder])
    started = time.perf_counter()
    stacks = FreshStacks(cassettes=folder / "cassettes" / "bedrock")
    try:
        suite = run_suite(loaded, stacks)
        run_done = time.perf_counter()
    finally:
        stacks.close()
    total = time.perf_counter() - started
    teardown = total - (run_done - started)

    print(f"scenario suite: {len(loaded)} scenarios from {folder}")
    print("stacks (started in parallel):")
    for stack in suite.stacks:
        print(f"  {stack['label']:<40} up in {stack.get('up_s', 0.0):>5.1f} s   {stack['facts']}")
    print(f"{'scenario':<44} {'status':<8} {'wall (s)':>8}")
    for result in suite.scenarios:
        print(f"  {result.name:<42} {result.status:<8} {result.duration_s:>8.1f}")
        if result.status != "passed" and result.message:
            print(f"      {result.message[:150]}")
    scenario_time = sum(r.duration_s for r in suite.scenarios)
    print(f"scenarios alone: {scenario_time:.1f} s")
    print(f"teardown: {teardown:.1f} s")
    print(
        f"whole suite: {total:.1f} s wall (target <= {TARGET_S:.0f} s) - "
        f"{suite.count('passed')} passed, {suite.count('failed')} failed, {suite.count('skipped')} skipped"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
