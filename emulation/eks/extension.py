"""The EKS extension of the engine (order 40): CreateCluster and CreateNodegroup go to
moto, then the fields AWS records and moto does not are put on moto's objects and into
the answer (see :mod:`emulation.eks.models`). Every other EKS call is moto's."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote

from werkzeug.wrappers import Response

from emulation.core.extension import Extension
from emulation.core.request import AwsRequest, account_of, region_of
from emulation.core.settings import EngineSettings
from emulation.eks import models

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

_CLUSTERS = re.compile(r"^/clusters/?$")
_NODEGROUPS = re.compile(r"^/clusters/(?P<cluster>[^/]+)/node-groups/?$")


class EksExtension(Extension):
    name = "eks"
    order = 40

    def __init__(self) -> None:
        self.engine: EngineApp | None = None

    def start(self, engine: EngineApp) -> None:
        self.engine = engine

    def handle(self, request: AwsRequest) -> Response | None:
        if request.signing_service != "eks" or request.method != "POST":
            return None
        params = request.json()
        if not isinstance(params, dict):
            return None
        if _CLUSTERS.match(request.path):
            name = str(params.get("name"))

            def cluster(account: str, region: str) -> models.Completion:
                return models.complete_cluster(account, region, name, params)

            return self._create(request, "cluster", cluster)
        match = _NODEGROUPS.match(request.path)
        if match:
            cluster_name, group = unquote(match["cluster"]), str(params.get("nodegroupName"))

            def nodegroup(account: str, region: str) -> models.Completion:
                return models.complete_nodegroup(account, region, cluster_name, group, params)

            return self._create(request, "nodegroup", nodegroup)
        return None

    def _create(
        self, request: AwsRequest, member: str, complete: Callable[[str, str], models.Completion]
    ) -> Response:
        """moto creates; then the object and the answer get what moto left out."""
        assert self.engine is not None
        request.environ["wsgi.input"] = io.BytesIO(request.body)
        answer = self.engine.call_moto(request.environ)
        if answer.status_code != 200:
            return answer
        with self.engine.state_lock.shared():
            added, removed = complete(account_of(request), region_of(request))
        try:
            body = json.loads(answer.get_data())
            body[member].update(added)
            for key in removed:
                body[member].pop(key, None)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("EKS %s answer not completed: unexpected body", member)
            return answer
        answer.set_data(json.dumps(body))
        return answer


def create(settings: EngineSettings) -> Extension:
    """Factory named in :data:`emulation.extensions.REGISTRY`."""
    return EksExtension()
