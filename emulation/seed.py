"""``python -m emulation.seed``: fill a state dir with a large state, fast.

Load tests, durability tests and benchmarks need an engine that already holds, say, 100k
S3 objects and a million Kinesis records. Putting them through the API would take
minutes; this writes them straight into a state dir, in exactly the form the engine
persists (S3 rows and blobs, Kinesis segments), then writes one snapshot generation, so
the next ``python -m emulation --state-dir DIR`` (or ``nexuskit up --local``) starts with
them. The engine must not be running on that state dir meanwhile.

    python -m emulation.seed --state-dir DIR --objects 100000 --records 1000000 \\
        [--bucket seeded --stream seeded --shards 4 --object-size 1024 --record-size 130]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from emulation.core.request import DEFAULT_ACCOUNT_ID


@dataclass(frozen=True)
class Seed:
    """What to write: a bucket of ``objects`` objects and a stream of ``records`` records."""

    objects: int = 0
    records: int = 0
    bucket: str = "seeded"
    stream: str = "seeded"
    shards: int = 4
    object_size: int = 1024
    record_size: int = 130
    account: str = DEFAULT_ACCOUNT_ID
    region: str = "us-west-2"


def seed(state_dir: Path, spec: Seed) -> dict[str, float]:
    """Write ``spec`` into ``state_dir``; returns the seconds each part took."""
    from emulation.core.persistence import StateStore
    from emulation.core.s3store import bulk_fill as fill_objects
    from emulation.kinesis.segments import bulk_fill as fill_records

    timings: dict[str, float] = {}
    state_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if spec.objects:
        fill_objects(
            state_dir,
            account=spec.account,
            region=spec.region,
            bucket=spec.bucket,
            objects=spec.objects,
            body_size=spec.object_size,
        )
    timings["objects_s"] = time.perf_counter() - started
    started = time.perf_counter()
    if spec.records:
        fill_records(
            state_dir,
            account=spec.account,
            region=spec.region,
            stream=spec.stream,
            shards=spec.shards,
            records=spec.records,
            size=spec.record_size,
        )
    timings["records_s"] = time.perf_counter() - started
    started = time.perf_counter()
    store = StateStore(state_dir)
    store.write(store.serialize(None, {}), store.generation + 1)
    timings["snapshot_s"] = time.perf_counter() - started
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulation.seed", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, required=True)
    defaults = Seed()
    for field, value in asdict(defaults).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    spec = Seed(**{field: getattr(args, field) for field in asdict(defaults)})
    if spec.objects < 0 or spec.records < 0 or spec.shards < 1:
        parser.error("--objects and --records must be >= 0 and --shards >= 1")
    manifest = args.state_dir / "state" / "manifest.json"
    if manifest.exists():
        parser.error(f"{args.state_dir} already holds state ({manifest}); seed an empty state dir")
    timings = seed(args.state_dir, spec)
    print(json.dumps({"seeded": asdict(spec), **{k: round(v, 2) for k, v in timings.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
