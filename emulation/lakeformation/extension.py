"""The Lake Formation extension of the engine (order 40): ``RevokePermissions``,
``ListPermissions``, ``BatchGrantPermissions`` and ``BatchRevokePermissions`` answered as AWS
answers them (see :mod:`emulation.lakeformation.models`); every other call is moto's."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from emulation.core.exceptions import error_response
from emulation.core.extension import Extension
from emulation.core.request import AwsRequest, account_of, region_of
from emulation.core.settings import EngineSettings
from emulation.lakeformation import models
from emulation.lakeformation.exceptions import InvalidInputException, LakeFormationError

if TYPE_CHECKING:
    from emulation.core.app import EngineApp


#: batch operation -> True for grants, False for revokes
_BATCH = {"/BatchGrantPermissions": True, "/BatchRevokePermissions": False}
_OPERATIONS = {"/RevokePermissions", "/ListPermissions", *_BATCH}


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
        operation = request.path.rstrip("/")
        if operation not in _OPERATIONS:
            return None
        assert self.engine is not None
        params = request.json()
        answer: dict[str, object] = {}
        try:
            if not isinstance(params, dict):
                raise InvalidInputException("The request body is not a JSON object.")
            with self.engine.state_lock.shared():
                if operation == "/RevokePermissions":
                    models.revoke_permissions(account_of(request), region_of(request), params)
                elif operation in _BATCH:
                    answer = models.batch_permissions(
                        account_of(request), region_of(request), params, grant=_BATCH[operation]
                    )
                else:
                    request.changes_state = False
                    answer = models.list_permissions(account_of(request), region_of(request), params)
        except LakeFormationError as error:
            request.changes_state = False
            return error_response(error)
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        return Response(json.dumps(answer), status=200, headers=headers, mimetype="application/json")


def create(settings: EngineSettings) -> Extension:
    """Factory named in :data:`emulation.extensions.REGISTRY`."""
    return LakeFormationExtension()
