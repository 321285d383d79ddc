"""The Kinesis extension of the engine: shard limits and the put journal (order 20).

PutRecord, PutRecords and GetRecords are answered here. Puts: entries are validated as
AWS does, admitted against the shards' write limits (when on), journaled (when the engine
persists state), and written into moto's shards (about three times faster than moto's
own PutRecords, which re-parses and re-encodes every record). GetRecords is admitted
against the read limits (when on), then read from the shard by bisection and rendered
directly (moto scans the shard from its first record on every call and serialises each
record through the service model). CreateStream goes to moto, and the ``Tags`` moto
ignores are then put on the new stream. GetShardIterator, the resharding calls and the
GetRecords calls this module leaves to moto go to moto with the puts held off (moto walks
the shard's records in Python). Every other Kinesis call, and any call naming a stream,
shard or iterator moto does not have, goes to moto unchanged.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.core.exceptions import error_response
from emulation.core.extension import Extension
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

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

_PUT_RECORDS_MEMBER = "records.{}.member."

#: moto's code for these walks (or moves) a shard's records in Python: run while puts are
#: held off, or a concurrent put fails it with "OrderedDict mutated during iteration"
_WALK_RECORDS = frozenset({"GetShardIterator", "SplitShard", "MergeShards", "UpdateShardCount"})


class KinesisExtension(Extension):
    """Per-shard throughput limits and the write-ahead journal for Kinesis puts."""

    name = "kinesis"
    order = 20

    def __init__(self, settings: EngineSettings) -> None:
        self.limits = settings.kinesis_limits == "aws"
        self.journal: PutJournal | None = None
        if settings.state_dir is not None and settings.persist:
            self.journal = PutJournal(settings.state_dir / "state")
        self.plane = KinesisDataPlane(
            limits=self.limits, journal=self.journal.append if self.journal else None
        )
        self.engine: EngineApp | None = None
        self._restored = False

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, engine: EngineApp) -> None:
        self.engine = engine
        if self.journal is not None:
            if not self._restored and engine.store is not None:
                self.journal.open(engine.store.generation)
            if self.journal.replay.replayed:
                # The replayed records are in memory only: get them into the next snapshot.
                engine.mark_dirty("kinesis")

    def stop(self) -> None:
        if self.journal is not None:
            self.journal.close()

    def reset(self) -> None:
        self.plane.reset()
        if self.journal is not None:
            self.journal.wipe()

    # -- persistence ------------------------------------------------------------------------
    def snapshot_state(self, generation: int) -> Any:
        if self.journal is not None:
            self.journal.rotate(generation)
        return None

    def snapshot_written(self, generation: int) -> None:
        if self.journal is not None:
            self.journal.prune(generation)

    def restore_state(self, state: Any, generation: int) -> None:
        if self.journal is None:
            return
        self.journal.replay_from(generation)
        self.journal.open(generation)
        self._restored = True

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
                    # kinesis, or it would retire the journal holding these records.
                    engine.mark_dirty("kinesis")
        except StreamNotFoundError:
            return None  # moto answers with its ResourceNotFoundException
        except KinesisError as error:
            return error_response(error)
        except OSError as exc:
            log.error("kinesis journal write failed: %s", exc)
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
        journal = self.journal
        if journal is not None:
            figures["journal"] = {
                "generation": journal.generation,
                "files": len(journal.files()),
                "bytes": journal.size(),
                "puts_written": journal.lines_written,
                "write_errors": journal.errors,
                "replayed_records": journal.replay.replayed,
                "replay_already_present": journal.replay.present,
                "replay_lost": journal.replay.lost,
            }
        return figures


def create(settings: EngineSettings) -> Extension:
    """The extension (registered in :data:`emulation.extensions.REGISTRY`)."""
    return KinesisExtension(settings)
