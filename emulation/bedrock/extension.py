"""The Bedrock runtime extension of the engine (order 50, after IAM enforcement)."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.bedrock.config import BedrockConfig, health_of, may_be_runtime_call
from emulation.core.exceptions import error_response
from emulation.core.extension import Extension
from emulation.core.request import AwsRequest
from emulation.core.settings import EngineSettings

if TYPE_CHECKING:
    from emulation.bedrock.models import BedrockRuntime
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)


class BedrockExtension(Extension):
    """Answers InvokeModel(WithResponseStream) and Converse(Stream), and the model list."""

    name = "bedrock"
    order = 50

    def __init__(self, config: BedrockConfig) -> None:
        self.config = config
        self.engine: EngineApp | None = None
        self._runtime: BedrockRuntime | None = None
        self._lock = threading.Lock()
        if config.mode != "local" or config.responder_plugins or config.rpm:
            self.runtime()  # cassettes, the recorder and plugins are checked at start

    def runtime(self) -> BedrockRuntime:
        """The runtime, made on first use: in the default local mode, on the first Bedrock
        request (its modules are a quarter of the extensions' share of the engine's start)."""
        if self._runtime is None:
            with self._lock:
                if self._runtime is None:
                    from emulation.bedrock.models import BedrockRuntime

                    self._runtime = BedrockRuntime(self.config)
        return self._runtime

    def start(self, engine: EngineApp) -> None:
        self.engine = engine
        engine.services.loaded("bedrockruntime")  # answered here, nothing to import first
        log.info("bedrock runtime in %s mode", self.config.mode)

    def warm_up(self) -> None:
        import emulation.bedrock.responses  # noqa: F401

        self.runtime()

    def _account(self, request: AwsRequest) -> str:
        header = request.headers.get("x-moto-account-id")
        if header:
            return header
        if self.engine is None or not request.access_key:
            return "123456789012"
        from moto.iam.models import get_account_id_from

        with self.engine.state_lock.shared():
            return str(get_account_id_from(request.access_key))

    def handle(self, request: AwsRequest) -> Response | None:
        if not may_be_runtime_call(request):
            return None
        from emulation.bedrock.exceptions import BedrockError
        from emulation.bedrock.models import stamp_latency
        from emulation.bedrock.responses import answer_response, catalog_response, match_runtime_call

        call = match_runtime_call(request)
        if call is None:
            return catalog_response(request) if request.method == "GET" else None
        request.changes_state = False  # inference keeps no state worth a snapshot
        started = time.perf_counter()
        try:
            answer = self.runtime().answer(
                call.operation, call.model_id, call.region, self._account(request), request.body
            )
        except BedrockError as error:
            return error_response(error)
        latency_ms = max(1, math.ceil((time.perf_counter() - started) * 1000))
        stamp_latency(answer, latency_ms)
        return answer_response(call, answer, latency_ms)

    def reset(self) -> None:
        if self._runtime is not None:
            self._runtime.quota.reset()

    def health(self) -> dict[str, Any]:
        return health_of(self.config) if self._runtime is None else self._runtime.health()


def create(settings: EngineSettings) -> Extension:
    """Factory named in :data:`emulation.extensions.REGISTRY` (reads the environment once)."""
    return BedrockExtension(BedrockConfig.from_environ())
