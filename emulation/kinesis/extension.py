"""The Kinesis extension of the engine: shard limits, records on disk, the layout journal
(order 20).

PutRecord, PutRecords and GetRecords are answered here. Puts: entries are validated as
AWS does, admitted against the shards' write limits (when on), and written to the shards'
segment files (see :mod:`emulation.kinesis.segments`; the stream's layout is journaled
first when the engine persists state and no journal line since the last snapshot has it),
about three times faster than moto's own PutRecords, which re-parses and re-encodes every
record. GetRecords is admitted against the read limits (when on), then read from the
shard's log by bisection and rendered directly. CreateStream goes to moto, and the ``Tags``
moto ignores are then put on the new stream. GetShardIterator, the resharding calls and the
GetRecords calls this module leaves to moto go to moto with the puts held off. Every other
Kinesis call, and any call naming a stream, shard or iterator moto does not have, goes to
moto unchanged.

A background worker (about once a second) applies each stream's retention period to its
shards' logs (deleting the segments whose records all expired), indexes the records
written since its last pass, and deletes the logs of streams that are gone (once no
durable snapshot refers to them). ``NEXUSKIT_KINESIS_RETENTION_SCALE`` shortens every
retention period (tests run a 24-hour retention in seconds).
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.core import moto_compat
from emulation.core.exceptions import error_response
from emulation.core.extension import Extension, Worker
from emulation.core.request import AwsRequest, account_of, region_of
from emulation.core.settings import EngineSettings
from emulation.kinesis.exceptions import (
    InternalFailureException,
    KinesisError,
    LimitExceededException,
    ProvisionedThroughputExceededException,
)
from emulation.kinesis.journal import PutJournal
from emulation.kinesis.models import (
    MIB,
    KinesisDataPlane,
    StreamNotFoundError,
    check_put_records_count,
    get_records_size,
    open_shards,
    read_put_entries,
    requested_shards,
    shard_quota,
    tag_created_stream,
)
from emulation.kinesis.responses import (
    get_records_body,
    get_records_response,
    operation_of,
    put_record_result,
    put_records_result,
    read_params,
    result_response,
)
from emulation.kinesis.segments import RecordStore, ShardLog, apply_retention, install

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

_PUT_RECORDS_MEMBER = "records.{}.member."

#: moto's code for these reads or copies a shard's records (a merge copies both parents'
#: into the new shard, numbering them on): run while puts are held off
_WALK_RECORDS = frozenset({"GetShardIterator", "SplitShard", "MergeShards", "UpdateShardCount"})


#: seconds between two passes of the records worker (retention, indexes, deleted streams)
MAINTENANCE_SECONDS = 1.0


def live_log_ids() -> set[str]:
    """The ids of the logs of every shard moto has (call with the state lock held)."""
    found: set[str] = set()
    for _account, _region, backend in moto_compat.existing_backends("kinesis"):
        for stream in list(backend.streams.values()):
            for shard in list(stream.shards.values()):
                if isinstance(shard.records, ShardLog):
                    found.add(shard.records.log_id)
    return found


def all_streams() -> list[Any]:
    return [
        stream
        for _account, _region, backend in moto_compat.existing_backends("kinesis")
        for stream in list(backend.streams.values())
    ]


class KinesisExtension(Extension):
    """Per-shard throughput limits, records on disk and the layout journal for Kinesis.

    Without a state dir (or with ``--no-persist``) the records live in a temporary folder,
    removed when the process exits: memory stays bounded by ``--memory-budget`` either way.
    """

    name = "kinesis"
    order = 20

    def __init__(self, settings: EngineSettings) -> None:
        self.limits = settings.kinesis_limits == "aws"
        self.journal: PutJournal | None = None
        budget = max(1, settings.memory_budget_mb) * MIB
        if settings.state_dir is not None and settings.persist:
            self.journal = PutJournal(settings.state_dir / "state")
            self.records = RecordStore(settings.state_dir / "state" / "kinesis", budget)
        else:
            self.records = RecordStore.temporary_store(budget)
        # Before anything is restored: every shard moto makes from now on is a log here.
        install(self.records)
        self.retention_scale = settings.kinesis_retention_scale
        self.plane = KinesisDataPlane(
            limits=self.limits,
            journal=self.journal.describe if self.journal else None,
            retention_scale=self.retention_scale,
        )
        self.engine: EngineApp | None = None
        self._restored = False
        self._worker: Worker | None = None
        #: per snapshot being written, the logs its frozen state refers to
        self._captured: dict[int, set[str]] = {}
        #: the logs the last durable snapshot refers to (kept until a later one does not)
        self._durable: set[str] = set()
        self._passes = 0
        self.expired_records = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, engine: EngineApp) -> None:
        self.engine = engine
        if self.journal is not None and not self._restored and engine.store is not None:
            self.journal.open(engine.store.generation)
        if self.records.adopted or (self.journal is not None and self.journal.replay.replayed):
            # Records of an older engine (its snapshot's or journal's) were written to new
            # logs: until a snapshot refers to them, a crash would write them again to
            # other logs and lose the puts made meanwhile. Snapshot now, before serving.
            try:
                engine.snapshot({"kinesis"})
            except Exception:
                log.exception("snapshot of the upgraded kinesis records failed")
                engine.mark_dirty("kinesis")
        self._maintain()
        self._worker = Worker("kinesis-records", self._step).start()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        self.records.flush()
        if self.journal is not None:
            self.journal.close()

    def reset(self) -> None:
        self.plane.reset()
        if self.journal is not None:
            self.journal.wipe()
        self.records.wipe()
        self._durable = set()
        self._captured.clear()

    def _step(self) -> float:
        try:
            self._maintain()
        except Exception:  # the next pass retries
            log.exception("kinesis records maintenance failed")
        return MAINTENANCE_SECONDS

    def _maintain(self) -> None:
        """Retention, indexes, and the logs of deleted streams (see module doc)."""
        engine = self.engine
        if engine is None:
            return
        on_disk = self.records.ids_on_disk()  # listed first: a log made later is not judged
        with engine.state_lock.shared():
            streams = all_streams()
            live = live_log_ids()
        self.expired_records += apply_retention(streams, self.retention_scale)
        self.records.flush()
        self._passes += 1
        self.records.collect(live | self._durable, on_disk)

    # -- persistence ------------------------------------------------------------------------
    def snapshot_state(self, generation: int) -> Any:
        if self.journal is not None:
            self.journal.rotate(generation)
        self._captured[generation] = live_log_ids()
        return None

    def snapshot_written(self, generation: int) -> None:
        if self.journal is not None:
            self.journal.prune(generation)
        captured = self._captured.pop(generation, None)
        if captured is not None:
            self._durable = captured
        for older in [g for g in self._captured if g < generation]:
            del self._captured[older]

    def restore_state(self, state: Any, generation: int) -> None:
        if self.journal is not None:
            self.journal.replay_from(generation)
            self.journal.open(generation)
            self._restored = True
        # The logs the snapshot and the journal refer to; anything else on disk is left
        # over (a stream deleted before the snapshot, a shard never journaled).
        live = live_log_ids()
        self._durable = set(live)
        self.records.collect(live)
        apply_retention(all_streams(), self.retention_scale)

    # -- requests ---------------------------------------------------------------------------
    def handle(self, request: AwsRequest) -> Response | None:
        operation = operation_of(request)
        if operation in {"PutRecords", "PutRecord"}:
            return self._put(request, operation == "PutRecords")
        if operation == "GetRecords":
            return self._get_records(request)
        if self.limits and operation in {"CreateStream", "UpdateShardCount"}:
            refusal = self._over_shard_quota(request, operation)
            if refusal is not None:
                return refusal
        if operation == "CreateStream":
            return self._create_stream(request)
        if operation in _WALK_RECORDS:
            return self._moto_holding_records(request)
        return None

    def _over_shard_quota(self, request: AwsRequest, operation: str) -> Response | None:
        """AWS's LimitExceededException when the account's open shards in the region would
        pass the default quota (500 in us-east-1, us-west-2 and eu-west-1, 200 elsewhere)."""
        engine = self.engine
        params = read_params(request)
        asked = requested_shards(operation, params) if params is not None else None
        if engine is None or asked is None:
            return None
        stream, count = asked
        with engine.state_lock.shared():
            account, region = account_of(request), region_of(request)
            current = open_shards(account, region)
            others = open_shards(account, region, exclude=stream) if stream else current
        limit = shard_quota(region)
        if others + count <= limit:
            return None
        more = others + count - current
        return error_response(LimitExceededException.for_shards(account, region, current, limit, more))

    def _moto_holding_records(self, request: AwsRequest) -> Response | None:
        engine = self.engine
        if engine is None:
            return None
        request.environ["wsgi.input"] = io.BytesIO(request.body)
        return engine.call_moto(request.environ, holding=self.plane.records_lock)

    def _create_stream(self, request: AwsRequest) -> Response | None:
        """moto creates the stream; the ``Tags`` it ignores are added here."""
        engine = self.engine
        params = read_params(request)
        if engine is None or params is None or not params.get("Tags"):
            return None
        request.environ["wsgi.input"] = io.BytesIO(request.body)
        response = engine.call_moto(request.environ)
        if response.status_code == 200:
            with engine.state_lock.shared():
                tag_created_stream(
                    account_of(request), region_of(request), params.get("StreamName"), params["Tags"]
                )
        return response

    def _put(self, request: AwsRequest, many: bool) -> Response | None:
        engine = self.engine
        params = read_params(request)
        if params is None or engine is None:
            return None
        try:
            if many:
                entries = params.get("Records")
                check_put_records_count(entries)
                batch = read_put_entries(entries, _PUT_RECORDS_MEMBER)
            else:
                batch = read_put_entries([params], "")
            with engine.state_lock.shared():
                account, region = account_of(request), region_of(request)
                outcome = self.plane.put(account, region, params, batch)
                if outcome.failed < len(outcome.results):
                    # Before the lock is released: the next snapshot to freeze must write
                    # kinesis, or it could retire the journal that describes the stream.
                    # (Snapshots are cheap: records are on disk, a shard pickles as its id.)
                    engine.mark_dirty("kinesis")
        except StreamNotFoundError:
            return None  # moto answers with its ResourceNotFoundException
        except KinesisError as error:
            return error_response(error)
        except OSError as exc:
            log.error("kinesis records not written: %s", exc)
            # Degraded, writes refused, until a snapshot succeeds (marked dirty: one is tried).
            engine.storage.write_failed(exc, "Kinesis records")
            engine.mark_dirty("kinesis")
            return error_response(InternalFailureException("Internal service failure."))
        if many:
            return result_response(put_records_result(outcome))
        if outcome.failed:
            self.plane.throttled_put_calls += 1
            message = outcome.results[0]
            return error_response(ProvisionedThroughputExceededException(str(message)))
        return result_response(put_record_result(outcome))

    def _get_records(self, request: AwsRequest) -> Response | None:
        engine = self.engine
        params = read_params(request)
        if params is None or engine is None:
            return None
        with engine.state_lock.shared():  # the account may come from moto's IAM keys
            account, region = account_of(request), region_of(request)
        key = None
        if self.limits:
            try:
                key = self.plane.admit_read(account, region, params.get("ShardIterator"))
            except KinesisError as error:
                return error_response(error)
        with engine.state_lock.shared():
            read = self.plane.read(account, region, params)
        if read is not None:
            if key is not None:
                self.plane.charge_read(key, read.size)
            return get_records_response(read)
        request.environ["wsgi.input"] = io.BytesIO(request.body)
        response = engine.call_moto(request.environ, holding=self.plane.records_lock)
        if key is None:
            return response
        if response.status_code == 200:
            body = get_records_body(response)
            if body is not None:
                self.plane.charge_read(key, get_records_size(body))
        return response

    # -- figures ----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        plane = self.plane
        figures: dict[str, Any] = {
            "limits": "aws" if self.limits else "off",
            "accepted_records": plane.accepted_records,
            "throttled_put_records": plane.throttled_records,
            "throttled_put_record_calls": plane.throttled_put_calls,
            "throttled_get_records_calls": plane.throttled_reads,
            "journal": None,
        }
        figures["records"] = dict(self.records.health(), expired_records=self.expired_records)
        journal = self.journal
        if journal is not None:
            figures["journal"] = {
                "generation": journal.generation,
                "files": len(journal.files()),
                "bytes": journal.size(),
                "lines_written": journal.lines_written,
                "write_errors": journal.errors,
                "replayed_records": journal.replay.replayed,
                "replay_already_present": journal.replay.present,
                "replay_lost": journal.replay.lost,
            }
        return figures


def create(settings: EngineSettings) -> Extension:
    """The extension (registered in :data:`emulation.extensions.REGISTRY`)."""
    return KinesisExtension(settings)
