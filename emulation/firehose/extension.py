"""The engine extension that runs Firehose delivery from Kinesis sources.

It runs the delivery workers next to moto and persists their checkpoints with the engine's
snapshots. The only calls it answers itself are direct puts (``PutRecord``,
``PutRecordBatch``) to a ``KinesisStreamAsSource`` delivery stream, refused with AWS's
``InvalidArgumentException``; every other Firehose call goes to moto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.core.exceptions import error_response
from emulation.core.extension import Extension
from emulation.core.request import AwsRequest, account_of, region_of
from emulation.core.settings import EngineSettings
from emulation.firehose import responses
from emulation.firehose.exceptions import FirehoseApiError
from emulation.firehose.models import FirehoseDelivery

if TYPE_CHECKING:
    from emulation.core.app import EngineApp


class FirehoseExtension(Extension):
    """Delivers ``KinesisStreamAsSource`` delivery streams to S3 (see :mod:`models`)."""

    name = "firehose"
    order = 70

    def __init__(self, settings: EngineSettings) -> None:
        self.delivery = FirehoseDelivery(settings.firehose_buffering)
        self.engine: EngineApp | None = None

    def start(self, engine: EngineApp) -> None:
        self.engine = engine
        self.delivery.start(engine)

    def handle(self, request: AwsRequest) -> Response | None:
        if responses.operation_of(request) not in responses.DIRECT_PUTS or self.engine is None:
            return None
        name = responses.delivery_stream_name(request)
        if name is None:
            return None  # moto answers the malformed request
        try:
            with self.engine.state_lock.shared():
                self.delivery.check_direct_put(account_of(request), region_of(request), name)
        except FirehoseApiError as error:
            request.changes_state = False
            return error_response(error)
        return None

    def stop(self) -> None:
        self.delivery.stop()

    def reset(self) -> None:
        self.delivery.reset()

    def snapshot_state(self, generation: int) -> Any:
        return self.delivery.snapshot_state()

    def restore_state(self, state: Any, generation: int) -> None:
        self.delivery.restore_state(state)

    def durable_state(self) -> Any:
        return self.delivery.snapshot_state()

    def restore_durable_state(self, state: Any) -> None:
        self.delivery.restore_if_newer(state)

    def health(self) -> dict[str, Any]:
        return self.delivery.health()


def create(settings: EngineSettings) -> Extension:
    """Factory named in :data:`emulation.extensions.REGISTRY`."""
    return FirehoseExtension(settings)
