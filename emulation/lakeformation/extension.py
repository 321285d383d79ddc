"""The Lake Formation extension of the engine (order 40): ``RevokePermissions`` answered as
AWS answers it (see :mod:`emulation.lakeformation.models`); every other call is moto's."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from emulation.core.extension import Extension
from emulation.core.request import AwsRequest
from emulation.core.settings import EngineSettings
from emulation.kinesis.responses import account_of, region_of
from emulation.lakeformation import models
from emulation.lakeformation.exceptions import InvalidInputException, LakeFormationError

if TYPE_CHECKING:
    from emulation.core.app import EngineApp


class LakeFormationExtension(Extension):
    name = "lakeformation"
    order = 40

    def __init__(self) -> None:
        self.engine: EngineApp | None = None

    def start(self, engine: EngineApp) -> None:
        self.engine = engine

    def handle(self, request: AwsRequest) -> Response | None:
        if request.signing_service != "lakeformation" or request.method != "POST":
            return None
        if request.path.rstrip("/") != "/RevokePermissions":
            return None
        assert self.engine is not None
        params = request.json()
        try:
            if not isinstance(params, dict):
                raise InvalidInputException("The request body is not a JSON object.")
            with self.engine.state_lock.shared():
                models.revoke_permissions(account_of(request), region_of(request), params)
        except LakeFormationError as error:
            request.changes_state = False
            return error.response()
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        return Response(json.dumps({}), status=200, headers=headers, mimetype="application/json")


def create(settings: EngineSettings) -> Extension:
    """Factory named in :data:`emulation.extensions.REGISTRY`."""
    return LakeFormationExtension()
