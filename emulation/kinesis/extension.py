"""The Kinesis extension of the engine: shard limits and the put journal (order 20).

PutRecord and PutRecords are answered here whenever limits are on or the engine persists
state: entries are validated as AWS does, admitted against the shards' write limits,
journaled, and written into moto's shards. GetRecords is admitted against the read limits
and then run by moto. CreateStream goes to moto, and the ``Tags`` moto ignores are then
put on the new stream. Every other Kinesis call, and any call naming a stream moto does not
have, goes to moto unchanged. With ``--kinesis-limits off`` and no state dir, puts go to
moto directly.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.core.extension import Extension
from emulation.core.request import AwsRequest
from emulation.core.settings import EngineSettings
from emulation.kinesis.exceptions import (
    InternalFailureException,
    KinesisError,
    ProvisionedThroughputExceededException,
)
from emulation.kinesis.journal import PutJournal
from emulation.kinesis.models import (
    KinesisDataPlane,
    StreamNotFoundError,
    check_put_records_count,
    get_records_size,
    read_put_entries,
    tag_created_stream,
)
from emulation.kinesis.responses import (
    account_of,
    error_response,
    get_records_body,
    operation_of,
    put_record_result,
    put_records_result,
    read_params,
    region_of,
    result_response,
)

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

_PUT_RECORDS_MEMBER = "records.{}.member."


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
        #: PutRecord(s) are answered here only with limits on or a journal to write
        self.data_plane = self.limits or self.journal is not None
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
        if operation in {"PutRecords", "PutRecord"} and self.data_plane:
            return self._put(request, operation == "PutRecords")
        if operation == "GetRecords" and self.limits:
            return self._get_records(request)
        if operation == "CreateStream":
            return self._create_stream(request)
        return None

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
        try:
            key = self.plane.admit_read(account, region, params.get("ShardIterator"))
        except KinesisError as error:
            return error_response(error)
        if key is None:
            return None
        response = engine.call_moto(request.environ)
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
    """The extension (with limits off and nothing persisted, puts go straight to moto)."""
    return KinesisExtension(settings)
