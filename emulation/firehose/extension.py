"""The engine extension that runs Firehose delivery from Kinesis sources.

It answers no request itself (every Firehose call goes to moto); it only runs the
delivery workers next to moto and persists their checkpoints with the engine's snapshots.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulation.core.extension import Extension
from emulation.core.settings import EngineSettings
from emulation.firehose.models import FirehoseDelivery

if TYPE_CHECKING:
    from emulation.core.app import EngineApp


class FirehoseExtension(Extension):
    """Delivers ``KinesisStreamAsSource`` delivery streams to S3 (see :mod:`models`)."""

    name = "firehose"
    order = 70

    def __init__(self, settings: EngineSettings) -> None:
        self.delivery = FirehoseDelivery(settings.firehose_buffering)

    def start(self, engine: EngineApp) -> None:
        self.delivery.start(engine)

    def stop(self) -> None:
        self.delivery.stop()

    def reset(self) -> None:
        self.delivery.reset()

    def snapshot_state(self, generation: int) -> Any:
        return self.delivery.snapshot_state()

    def restore_state(self, state: Any, generation: int) -> None:
        self.delivery.restore_state(state)

    def health(self) -> dict[str, Any]:
        return self.delivery.health()


def create(settings: EngineSettings) -> Extension:
    """Factory named in :data:`emulation.extensions.REGISTRY`."""
    return FirehoseExtension(settings)
