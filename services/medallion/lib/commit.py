"""Commits that readers can trust: stage, copy, then write the manifest last.

A job run writes every output under ``_staging/<job>/<run>/`` first. To commit it copies
each staged object to its final key, then writes ``_manifests/<job>/<run>.json`` - the
commit point - and only then removes the staging objects (and puts delete markers on the
files it superseded: a replaced partition's, or those it lists under ``removed`` - small
files compacted into one). Readers never list data prefixes: they read the manifests
(:class:`CommitLog`) and open exactly the (key, version id) pairs listed there.

So a run killed at any moment leaves nothing a reader sees: before the manifest its
output exists only in staging (or as copies no manifest names), and :func:`recover` - run
at the start of the next run of the same job - deletes those leftovers.

The manifest also records the run's inputs (bucket, key, version id, sha256), which makes
the jobs incremental: an input already in a manifest of the job is never read again. The
silver job's manifests also carry its bronze watermarks and dataset schemas, so they commit
with the data (:func:`latest_manifest` reads them back).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from services.medallion.lib import layout
from services.medallion.lib.store import ObjectStore, sha256_hex

log = logging.getLogger(__name__)

MANIFEST_FORMAT = "nexus-medallion-manifest/1"
HOLD_ENV = "MEDALLION_HOLD"  # fault injection for tests: "staged" or "copied"
_HOLD_SECONDS = 600.0


@dataclass(frozen=True)
class OutputFile:
    """One committed file, as its manifest lists it."""

    dataset: str
    partition: str
    key: str
    version_id: str
    sha256: str
    bytes: int
    rows: int
    kind: str = "data"  # data | index | provenance
    mode: str = "append"  # append | replace (the partition's earlier files are superseded)
    run_id: str = ""
    committed_at: str = ""

    @property
    def ref(self) -> str:
        return layout.lineage_ref(self.key, self.version_id)

    @property
    def date(self) -> str:
        return layout.date_of_partition(self.partition)


def now_iso() -> str:
    return datetime.now(layout.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _hold(phase: str) -> None:
    """Test hook: with ``MEDALLION_HOLD=<phase>`` stop here (the test kills the process)."""
    if os.environ.get(HOLD_ENV) != phase:
        return
    sys.stdout.write(f"MEDALLION_HOLD {phase}\n")
    sys.stdout.flush()
    time.sleep(_HOLD_SECONDS)


class CommitLog:
    """Every committed manifest of a bucket (optionally of some jobs), oldest first."""

    def __init__(
        self,
        store: ObjectStore,
        bucket: str,
        jobs: Iterable[str] | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.bucket = bucket
        self.jobs = tuple(jobs) if jobs is not None else None
        self.cache_dir = cache_dir
        self.manifests: list[dict[str, Any]] = []

    def load(self) -> CommitLog:
        prefixes = (
            [layout.manifest_prefix(job) for job in self.jobs] if self.jobs else [layout.MANIFESTS + "/"]
        )
        entries = []
        for prefix in prefixes:
            entries += [obj for obj in self.store.list_keys(self.bucket, prefix) if obj.key.endswith(".json")]
        entries.sort(key=lambda obj: (obj.key.split("/")[-1], obj.key))
        self.manifests = [self._read(obj.key, obj.etag) for obj in entries]
        return self

    def _read(self, key: str, etag: str) -> dict[str, Any]:
        cached = None
        if self.cache_dir is not None and etag:
            cached = self.cache_dir / "manifests" / self.bucket / etag.replace("/", "_") / key
            if cached.exists():
                data: dict[str, Any] = json.loads(cached.read_bytes())
                return data
        body = self.store.get(self.bucket, key)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(body)
        data = json.loads(body)
        return data

    def files(self, dataset: str | None = None, kind: str = "data") -> list[OutputFile]:
        """The files readers see now (replaced partitions resolved), oldest commit first."""
        current: dict[tuple[str, str, str], list[OutputFile]] = {}
        for manifest in self.manifests:
            fresh: dict[tuple[str, str, str], list[OutputFile]] = {}
            for out in manifest.get("outputs", []):
                item = OutputFile(**out)
                if dataset is not None and item.dataset != dataset:
                    continue
                if item.kind != kind:
                    continue
                slot = (item.dataset, item.partition, item.kind)
                fresh.setdefault(slot, []).append(item)
            for slot, items in fresh.items():
                if items[0].mode == "replace":
                    current[slot] = items
                else:
                    current.setdefault(slot, []).extend(items)
            removed = {r["key"] for r in manifest.get("removed") or []}  # keys are never reused
            if removed:
                for slot in list(current):
                    current[slot] = [i for i in current[slot] if i.key not in removed]
        return [item for items in current.values() for item in items]

    def partitions(self, dataset: str, kind: str = "data") -> dict[str, list[OutputFile]]:
        grouped: dict[str, list[OutputFile]] = {}
        for item in self.files(dataset, kind):
            grouped.setdefault(item.partition, []).append(item)
        return grouped

    def processed_inputs(self) -> set[tuple[str, str, str]]:
        """(bucket, key, version id) of every input a loaded manifest consumed."""
        return {
            (entry["bucket"], entry["key"], entry["version_id"])
            for manifest in self.manifests
            for entry in manifest.get("inputs", [])
        }

    def inputs_by_ref(self) -> dict[str, dict[str, Any]]:
        """``key#version`` -> the input entry (bronze objects for silver's log)."""
        return {
            layout.lineage_ref(entry["key"], entry["version_id"]): entry
            for manifest in self.manifests
            for entry in manifest.get("inputs", [])
        }

    def outputs_by_ref(self) -> dict[str, OutputFile]:
        """``key#version`` -> every output ever committed (superseded ones included)."""
        return {
            OutputFile(**out).ref: OutputFile(**out)
            for manifest in self.manifests
            for out in manifest.get("outputs", [])
        }

    def last_commit(self) -> str | None:
        return str(self.manifests[-1].get("committed_at")) if self.manifests else None


def latest_manifest(store: ObjectStore, bucket: str, job: str) -> dict[str, Any] | None:
    """The newest committed manifest of ``job`` (run ids sort by start time), or None."""
    keys = [
        obj.key for obj in store.list_keys(bucket, layout.manifest_prefix(job)) if obj.key.endswith(".json")
    ]
    if not keys:
        return None
    data: dict[str, Any] = json.loads(store.get(bucket, max(keys, key=lambda k: k.rsplit("/", 1)[-1])))
    return data


@dataclass
class _Staged:
    staging_key: str
    key: str
    dataset: str
    partition: str
    sha256: str
    size: int
    rows: int
    kind: str
    mode: str


@dataclass
class Transaction:
    """The outputs of one job run (or one batch of it), committed all at once or not at all."""

    store: ObjectStore
    bucket: str
    job: str
    run_id: str
    code_version: str = ""
    glue_job_run_id: str | None = None
    started_at: str = field(default_factory=now_iso)
    staged: list[_Staged] = field(default_factory=list)
    run_scoped: list[OutputFile] = field(default_factory=list)
    superseded: list[OutputFile] = field(default_factory=list)
    #: upload staged outputs on a background thread (one in flight) while the job goes on
    background: bool = False
    _intent_written: bool = False
    _uploads: ThreadPoolExecutor | None = None
    _in_flight: Future[str] | None = None
    _staged_versions: list[tuple[str, str]] = field(default_factory=list)
    _in_flight_key: str = ""

    @property
    def empty(self) -> bool:
        return not self.staged and not self.run_scoped

    def _staging_key(self, key: str) -> str:
        return layout.staging_prefix(self.job, self.run_id) + key

    def _write_intent(self, run_scoped_prefix: str | None = None) -> None:
        if self._intent_written:
            return
        intent = {"run_id": self.run_id, "job": self.job, "started_at": self.started_at}
        if run_scoped_prefix:
            intent["run_scoped_prefix"] = run_scoped_prefix
        key = self._staging_key("_intent.json")
        self._staged_versions.append(
            (key, self.store.put(self.bucket, key, json.dumps(intent).encode(), "application/json"))
        )
        self._intent_written = True

    def stage(
        self,
        key: str,
        body: bytes,
        *,
        dataset: str,
        partition: str,
        rows: int,
        kind: str = "data",
        mode: str = "append",
    ) -> None:
        """Upload one output to staging (invisible to readers until :meth:`commit`)."""
        self._write_intent()
        staging_key = self._staging_key(key)
        self.staged.append(
            _Staged(staging_key, key, dataset, partition, sha256_hex(body), len(body), rows, kind, mode)
        )
        if self.background and not os.environ.get(HOLD_ENV):
            self._wait_uploads()  # one upload in flight at most: bounded memory
            if self._uploads is None:
                self._uploads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage-put")
            self._in_flight = self._uploads.submit(self.store.put, self.bucket, staging_key, body)
            self._in_flight_key = staging_key
            return
        self._staged_versions.append((staging_key, self.store.put(self.bucket, staging_key, body)))
        if len(self.staged) == 1:
            _hold("staged")

    def _wait_uploads(self) -> None:
        if self._in_flight is not None:
            self._staged_versions.append((self._in_flight_key, self._in_flight.result()))
            self._in_flight = None

    def close(self) -> None:
        """Finish (or give up on) background uploads and stop their thread."""
        try:
            self._wait_uploads()
        finally:
            if self._uploads is not None:
                self._uploads.shutdown(wait=True)
                self._uploads = None

    def put_run_scoped(self, prefix: str, key: str, body: bytes, dataset: str, partition: str) -> OutputFile:
        """Write an object straight to a run-scoped key (only reachable once committed)."""
        if not key.startswith(prefix):
            raise ValueError(f"{key} is not under the run-scoped prefix {prefix}")
        self._write_intent(prefix)
        version = self.store.put(self.bucket, key, body, "application/json")
        item = OutputFile(
            dataset=dataset,
            partition=partition,
            key=key,
            version_id=version,
            sha256=sha256_hex(body),
            bytes=len(body),
            rows=1,
            kind="provenance",
            run_id=self.run_id,
        )
        self.run_scoped.append(item)
        return item

    def supersede(self, files: Iterable[OutputFile]) -> None:
        self.superseded.extend(files)

    def commit(
        self, inputs: list[dict[str, Any]], stats: dict[str, Any], extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Copy staged outputs to their keys, write the manifest (the commit), clean up.

        ``extra`` goes into the manifest as it is (the silver job's ``bronze_state`` and
        ``schemas``, committed with the data they describe)."""
        self.close()
        committed_at = now_iso()
        outputs: list[dict[str, Any]] = []
        for number, item in enumerate(self.staged):
            version = self.store.copy(self.bucket, item.staging_key, item.key)
            if number == 0:
                _hold("copied")
            outputs.append(
                asdict(
                    OutputFile(
                        dataset=item.dataset,
                        partition=item.partition,
                        key=item.key,
                        version_id=version,
                        sha256=item.sha256,
                        bytes=item.size,
                        rows=item.rows,
                        kind=item.kind,
                        mode=item.mode,
                        run_id=self.run_id,
                        committed_at=committed_at,
                    )
                )
            )
        for scoped in self.run_scoped:
            entry = asdict(scoped)
            entry["committed_at"] = committed_at
            outputs.append(entry)
        manifest = {
            "format": MANIFEST_FORMAT,
            "job": self.job,
            "run_id": self.run_id,
            "glue_job_run_id": self.glue_job_run_id,
            "code_version": self.code_version,
            "bucket": self.bucket,
            "started_at": self.started_at,
            "committed_at": committed_at,
            "inputs": inputs,
            "outputs": outputs,
            "removed": [asdict(item) for item in self.superseded],
            "stats": stats,
            **(extra or {}),
        }
        body = json.dumps(manifest, indent=1, sort_keys=True).encode()
        self.store.put(self.bucket, layout.manifest_key(self.job, self.run_id), body, "application/json")
        log.info("%s: committed run %s (%d outputs)", self.job, self.run_id, len(outputs))
        _finish(self.store, self.bucket, self.job, self.run_id, manifest, self._staged_versions)
        return manifest


def _finish(
    store: ObjectStore,
    bucket: str,
    job: str,
    run_id: str,
    manifest: dict[str, Any],
    staged: list[tuple[str, str]] | None = None,
) -> None:
    """After the commit: drop staging, put delete markers on superseded files (their versions
    stay, so provenance that names them can still be checked)."""
    if staged:
        store.delete_exact(bucket, staged)
    else:
        store.delete_versions(bucket, layout.staging_prefix(job, run_id))
    removed = manifest.get("removed") or []
    if removed:
        store.delete(bucket, sorted({entry["key"] for entry in removed}))


def recover(store: ObjectStore, bucket: str, job: str) -> dict[str, int]:
    """Clean up after runs of ``job`` that died: abort uncommitted ones, finish committed ones."""
    runs: dict[str, list[str]] = {}
    for obj in store.list_keys(bucket, layout.staging_prefix(job)):
        parts = obj.key.split("/", 3)
        if len(parts) == 4:
            runs.setdefault(parts[2], []).append(parts[3])
    if not runs:
        return {"aborted": 0, "finished": 0}
    committed = {
        obj.key.rsplit("/", 1)[-1].removesuffix(".json")
        for obj in store.list_keys(bucket, layout.manifest_prefix(job))
    }
    aborted = finished = 0
    for run_id, keys in runs.items():
        if run_id in committed:
            body = store.get(bucket, layout.manifest_key(job, run_id))
            _finish(store, bucket, job, run_id, json.loads(body))
            finished += 1
            continue
        for key in keys:
            if key == "_intent.json":
                intent = json.loads(store.get(bucket, layout.staging_prefix(job, run_id) + key))
                scoped = intent.get("run_scoped_prefix")
                if scoped:
                    store.delete_versions(bucket, scoped)
            else:
                store.delete_versions(bucket, key)  # a copy made before the crash, if any
        store.delete_versions(bucket, layout.staging_prefix(job, run_id))
        log.warning("%s: aborted run %s (it stopped before its commit)", job, run_id)
        aborted += 1
    return {"aborted": aborted, "finished": finished}
