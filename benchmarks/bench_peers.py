"""nexuskit's bare engine side by side with its peers: moto's server and MiniStack.

Prints figures (no assertions), one table per configuration:

* start to first answer (process start until a signed S3 ListBuckets is answered; the
  client calls again every ``--poll-ms`` while the engine refuses: an engine that listens
  early holds the call and answers it as soon as it can, one that listens late is answered
  at the client's next call, so ``--poll-ms 2`` compares the engines' own readiness);
* RSS idle (2 s after that answer) and after the workload (the whole process tree);
* PutRecords: batches of 500 records of 130 B on a 4-shard stream, one client;
* GetRecords: draining those shards with ``Limit`` 10,000;
* S3 PutObject and GetObject of 1 KiB bodies.

Engines run in turn, interleaved over the rounds (a fresh process per engine and round,
on a free port of 127.0.0.1); each figure is the median over the rounds, and the last
columns are the ratios nexuskit/MiniStack and nexuskit/moto (> 1: nexuskit is better;
for start-up and memory the ratio is peer/nexuskit, so > 1 still means nexuskit leads).
The second table runs nexuskit with its fidelity switches on (IAM enforced with the admin
keys, AWS shard limits, persistence to a state dir) against the same peers' figures:
with limits on, PutRecords is capped by AWS's 1,000 records/s per shard, so the client
retries throttled entries as a producer would.

MiniStack is installed from PyPI, pinned, into its own virtualenv under
``.bench-venvs/`` (git-ignored) on the first run; when PyPI cannot be reached the script
says so in one line and measures moto and nexuskit only.

    .venv/bin/python benchmarks/bench_peers.py [--rounds 3] [--records 40000] [--objects 400]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psutil
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
MINISTACK_VERSION = "1.5.33"
VENVS = ROOT / ".bench-venvs"
REGION = "us-east-1"
KEY, SECRET = "AKIANEXUSBENCHADMIN1", "nexus-bench-admin-secret-key-00000000000"
RECORD = b"x" * 130
BATCH = 500
SHARDS = 4
BODY = os.urandom(1024)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- engines ------------------------------------------------------------------------------
@dataclass
class Engine:
    name: str
    command: Callable[[int, Path], list[str]]
    env: dict[str, str] = field(default_factory=dict)


def ministack_python() -> Path | None:
    """The interpreter of MiniStack's own virtualenv (installed on first use), or None."""
    venv = VENVS / f"ministack-{MINISTACK_VERSION}"
    python = venv / "bin" / "python"
    if (venv / ".installed").exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"ministack=={MINISTACK_VERSION}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if pip.returncode != 0:
        last = (pip.stderr.strip().splitlines() or ["no output"])[-1]
        print(
            f"MiniStack {MINISTACK_VERSION} could not be installed from PyPI ({last}); "
            "measuring moto and nexuskit only"
        )
        return None
    (venv / ".installed").write_text(MINISTACK_VERSION + "\n")
    return python


def engines(fidelity: bool, ministack: Path | None) -> list[Engine]:
    venv_bin = Path(sys.executable).parent

    def nexuskit(port: int, state: Path) -> list[str]:
        cmd = [sys.executable, "-m", "emulation", "--port", str(port)]
        if fidelity:
            return [*cmd, "--state-dir", str(state), "--iam", "enforce", "--kinesis-limits", "aws"]
        return [*cmd, "--iam", "off", "--kinesis-limits", "off"]

    found = [
        Engine(
            "nexuskit+fidelity" if fidelity else "nexuskit",
            nexuskit,
            {"NEXUSKIT_ADMIN_ACCESS_KEY": KEY, "NEXUSKIT_ADMIN_SECRET_KEY": SECRET},
        ),
        Engine(
            "moto", lambda port, _state: [str(venv_bin / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
        ),
    ]
    if ministack is not None:
        found.append(
            Engine(
                "MiniStack",
                lambda port, _state: [str(ministack), "-m", "ministack"],
                {"BIND_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING", "S3_PERSIST": "0"},
            )
        )
    return found


# -- measuring ----------------------------------------------------------------------------
def tree_rss_mb(proc: psutil.Process) -> float:
    total = 0
    for each in [proc, *proc.children(recursive=True)]:
        try:
            total += each.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def clients(endpoint: str) -> tuple[Any, Any]:
    session = boto3.session.Session(aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name=REGION)
    config = Config(
        retries={"max_attempts": 0}, connect_timeout=2, read_timeout=120, s3={"addressing_style": "path"}
    )
    return (
        session.client("kinesis", endpoint_url=endpoint, config=config),
        session.client("s3", endpoint_url=endpoint, config=config),
    )


def run_once(engine: Engine, records: int, objects: int, poll_s: float = 0.02) -> dict[str, float]:
    port = free_port()
    state = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    endpoint = f"http://127.0.0.1:{port}"
    kinesis, s3 = clients(endpoint)  # built before the engine starts: not part of its start
    env = {**os.environ, **engine.env, "GATEWAY_PORT": str(port)}
    env.pop("AWS_ENDPOINT_URL", None)
    # Engines start as installed: with bytecode (pip compiles moto's and MiniStack's at
    # install; without this nexuskit alone would compile its ~24k lines at every start,
    # ~0.1-0.25 s of CPU, where the shell sets PYTHONDONTWRITEBYTECODE).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    proc = subprocess.Popen(
        engine.command(port, state), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=state
    )
    figures: dict[str, float] = {}
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{engine.name} exited with {proc.returncode}")
            try:
                s3.list_buckets()
                break
            except Exception:
                if time.perf_counter() - started > 60:
                    raise RuntimeError(f"{engine.name} did not answer within 60 s") from None
                time.sleep(poll_s)
        figures["start_s"] = time.perf_counter() - started
        ps = psutil.Process(proc.pid)
        time.sleep(2.0)
        figures["rss_idle"] = tree_rss_mb(ps)
        figures.update(workload(kinesis, s3, records, objects))
        figures["rss_after"] = tree_rss_mb(ps)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(state, ignore_errors=True)
    return figures


def workload(kinesis: Any, s3: Any, records: int, objects: int) -> dict[str, float]:
    stream = "bench-peers"
    kinesis.create_stream(StreamName=stream, ShardCount=SHARDS)
    for _ in range(200):
        status = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
            "StreamStatus"
        ]
        if status == "ACTIVE":
            break
        time.sleep(0.05)
    batches = [
        [{"Data": RECORD, "PartitionKey": f"key-{b}-{i}"} for i in range(BATCH)]
        for b in range(records // BATCH)
    ]
    started = time.perf_counter()
    for batch in batches:
        pending = batch
        while pending:
            answer = kinesis.put_records(StreamName=stream, Records=pending)
            if not answer["FailedRecordCount"]:
                break
            pending = [
                entry
                for entry, result in zip(pending, answer["Records"], strict=True)
                if "ErrorCode" in result
            ]
            time.sleep(0.05)  # throttled (limits on): back off as a producer would
    put_rate = len(batches) * BATCH / (time.perf_counter() - started)

    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    got = 0
    started = time.perf_counter()
    for shard in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            try:
                answer = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            except kinesis.exceptions.ProvisionedThroughputExceededException:
                time.sleep(0.1)  # limits on: the shard's read allowance is spent
                continue
            got += len(answer["Records"])
            if not answer["Records"] and not answer.get("MillisBehindLatest"):
                break
            iterator = answer.get("NextShardIterator")
    get_rate = got / (time.perf_counter() - started)
    if got < len(batches) * BATCH:
        print(f"  (GetRecords drained {got} of {len(batches) * BATCH} records)")

    bucket = "bench-peers"
    s3.create_bucket(Bucket=bucket)
    started = time.perf_counter()
    for index in range(objects):
        s3.put_object(Bucket=bucket, Key=f"objects/{index:06d}", Body=BODY)
    s3_put = objects / (time.perf_counter() - started)
    started = time.perf_counter()
    for index in range(objects):
        s3.get_object(Bucket=bucket, Key=f"objects/{index:06d}")["Body"].read()
    s3_get = objects / (time.perf_counter() - started)
    return {"put_records": put_rate, "get_records": get_rate, "s3_put": s3_put, "s3_get": s3_get}


# -- reporting ----------------------------------------------------------------------------
ROWS: list[tuple[str, str, str, bool]] = [
    # key, label, unit, higher is better
    ("start_s", "start to first answer", "s", False),
    ("rss_idle", "RSS idle", "MB", False),
    ("rss_after", "RSS after the workload", "MB", False),
    ("put_records", "PutRecords 500 x 130 B, 4 shards", "rec/s", True),
    ("get_records", "GetRecords draining (Limit 10,000)", "rec/s", True),
    ("s3_put", "S3 PutObject 1 KiB", "/s", True),
    ("s3_get", "S3 GetObject 1 KiB", "/s", True),
]


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.0f} MB"
    if value >= 10000:
        return f"{value / 1000:.1f}k{unit}"
    return f"{value:.0f}{unit}"


def table(title: str, results: dict[str, list[dict[str, float]]], ours: str) -> None:
    names = list(results)
    peers = [name for name in ("MiniStack", "moto") if name in results]
    header = ["metric", *names, *(f"{ours}/{peer}" for peer in peers)]
    print(f"\n{title}")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for key, label, unit, higher in ROWS:
        medians = {name: statistics.median(run[key] for run in runs) for name, runs in results.items()}
        cells = [label]
        for name in names:
            values = [run[key] for run in results[name]]
            spread = f" ({fmt(min(values), unit)}..{fmt(max(values), unit)})" if len(values) > 1 else ""
            cells.append(fmt(medians[name], unit) + spread)
        for peer in peers:
            a, b = medians[ours], medians[peer]
            ratio = (a / b if higher else b / a) if a and b else float("nan")
            cells.append(f"{ratio:.2f}x")
        print("| " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--records", type=int, default=40000)
    parser.add_argument("--objects", type=int, default=400)
    parser.add_argument("--no-fidelity", action="store_true", help="skip the second table")
    parser.add_argument("--only", default="", help="comma-separated engines to run (nexuskit,moto,MiniStack)")
    parser.add_argument(
        "--poll-ms",
        type=float,
        default=20.0,
        help="pause between the client's calls while an engine starts (an engine that does not "
        "listen yet refuses them; one that does holds the call until it answers)",
    )
    args = parser.parse_args()
    ministack = ministack_python()
    configurations = [False] if args.no_fidelity else [False, True]
    bare = engines(False, ministack)
    fidelity = engines(True, ministack)[0]
    lineup = [*bare, fidelity] if len(configurations) == 2 else bare
    if args.only:
        wanted = {name.strip().lower() for name in args.only.split(",")}
        lineup = [e for e in lineup if e.name.split("+")[0].lower() in wanted]
    results: dict[str, list[dict[str, float]]] = {engine.name: [] for engine in lineup}
    for number in range(1, args.rounds + 1):
        for engine in lineup:
            figures = run_once(engine, args.records, args.objects, args.poll_ms / 1000)
            results[engine.name].append(figures)
            shown = ", ".join(f"{key} {value:.2f}" for key, value in figures.items())
            print(f"round {number} {engine.name}: {shown}", flush=True)
    bare_results = {name: runs for name, runs in results.items() if "+" not in name}
    print(
        f"\n{args.rounds} rounds interleaved, {args.records} records, {args.objects} objects; "
        f"medians (min..max); ratios > 1 mean nexuskit leads. MiniStack {MINISTACK_VERSION}."
    )
    if "nexuskit" in bare_results:
        table(
            "Bare engines (nexuskit: --iam off --kinesis-limits off, no state dir)", bare_results, "nexuskit"
        )
    if fidelity.name in results:
        with_fidelity = {fidelity.name: results[fidelity.name]}
        with_fidelity.update({name: runs for name, runs in bare_results.items() if name != "nexuskit"})
        table(
            "nexuskit with fidelity on (--iam enforce, --kinesis-limits aws, persistence) vs the same peers",
            with_fidelity,
            fidelity.name,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
