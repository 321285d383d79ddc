"""Measure the Bedrock runtime and Glue job runs of the embedded engine.

Prints figures (no assertions). Targets on the 2-core reference machine: InvokeModel
p50 <= 20 ms (boto3 client to answer, local model), Glue StartJobRun to RUNNING <= 1 s.

    .venv/bin/python benchmarks/bench_bedrock.py [--calls 300] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import EngineProcess

SONNET = "anthropic.claude-3-sonnet-20240229-v1:0"
EVENTS = [{"device": f"sensor-{i % 4}", "temperature": 20 + (i % 7) * 0.3, "status": "ok"} for i in range(50)]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def figures(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def time_calls(call: Any, count: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def bench_bedrock(engine: EngineProcess, calls: int) -> dict[str, dict[str, float]]:
    runtime = engine.target().client("bedrock-runtime", max_attempts=0)

    def invoke(prompt: str) -> Any:
        body = {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": prompt}],
        }
        raw = json.dumps(body)

        def call() -> Any:
            return runtime.invoke_model(modelId=SONNET, body=raw)["body"].read()

        return call

    def embed() -> Any:
        body = json.dumps({"inputText": "sensor 4 reports overheating in zone 2"})
        return runtime.invoke_model(modelId="amazon.titan-embed-text-v2:0", body=body)["body"].read()

    def stream() -> Any:
        body = json.dumps(
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 512,
                "messages": [{"role": "user", "content": "Hello"}],
            }
        )
        response = runtime.invoke_model_with_response_stream(modelId=SONNET, body=body)
        return list(response["body"])

    return {
        "invoke_model (short prompt)": figures(time_calls(invoke("Hello, who are you?"), calls)),
        "invoke_model (50-event telemetry)": figures(
            time_calls(invoke("Summarise:\n" + json.dumps(EVENTS)), calls // 2)
        ),
        "invoke_model (titan embed v2)": figures(time_calls(embed, calls // 2)),
        "invoke_model_with_response_stream": figures(time_calls(stream, calls // 2)),
    }


def bench_glue(engine: EngineProcess, runs: int) -> dict[str, dict[str, float]]:
    target = engine.target()
    s3, glue = target.client("s3"), target.client("glue")
    s3.create_bucket(Bucket="bench-scripts", CreateBucketConfiguration={"LocationConstraint": target.region})
    s3.put_object(Bucket="bench-scripts", Key="hello.py", Body=b"print('hello')\n")
    glue.create_job(
        Name="bench",
        Role="bench-role",
        Command={"Name": "pythonshell", "ScriptLocation": "s3://bench-scripts/hello.py"},
        ExecutionProperty={"MaxConcurrentRuns": 10},
    )
    to_running: list[float] = []
    to_done: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        run_id = glue.start_job_run(JobName="bench")["JobRunId"]
        running_at = None
        while True:
            state = glue.get_job_run(JobName="bench", RunId=run_id)["JobRun"]["JobRunState"]
            now = time.perf_counter()
            if running_at is None and state != "STARTING":
                running_at = now
                to_running.append(now - started)
            if state in {"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"}:
                to_done.append(now - started)
                break
            time.sleep(0.005)
    return {
        "glue start -> RUNNING": figures(to_running),
        "glue start -> SUCCEEDED (print script)": figures(to_done),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = EngineProcess(Path(tmp), "--extensions", "bedrock,glue").start()
        try:
            results = {**bench_bedrock(engine, args.calls), **bench_glue(engine, args.runs)}
        finally:
            engine.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'measure':42} {'n':>4} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9}")
    for name, row in results.items():
        print(f"{name:42} {row['n']:>4} {row['p50_ms']:>9} {row['p99_ms']:>9} {row['mean_ms']:>9}")
    print("targets: invoke_model p50 <= 20 ms; glue start -> RUNNING <= 1000 ms")


if __name__ == "__main__":
    main()
