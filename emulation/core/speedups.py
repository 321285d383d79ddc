"""Start-up and per-request speed-ups for moto inside the engine process.

Measured on the reference machine, each of these cost the first ``up`` a second or more:

* moto's service modules ask boto3 for the regions of a service while their classes are
  being defined (EC2 alone asks eleven times at import). Each call builds a fresh botocore
  session whose loader parses botocore's ``endpoints.json`` and the service's model again
  (about 0.1 s apiece, 1.3 s for EC2). The answer only depends on the installed botocore,
  so every such call is answered from one shared session and memoized; that session reads
  models through moto's loader, so each model is parsed once, not twice.
* moto builds a new model loader for every service model it loads, and each new loader
  lists botocore's whole data directory again (thousands of ``stat`` calls). One shared
  loader lists it once, and parses each model once for moto, botocore and the IAM layer.
* moto's EKS asks a new boto3 session for the partitions (parsing ``endpoints.json``)
  for every role ARN it validates.
* moto's request router lists its own package directory (and stats every entry) twice per
  request to recognise service names. The package does not change while the engine runs.

None of these changes what moto answers; they only stop it from recomputing constants.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_installed = False
_lock = threading.RLock()


def install() -> None:
    """Apply every speed-up (idempotent); call before moto's services are imported.

    They lean on moto's module layout: should a moto release move something, that speed-up
    is skipped with a warning and the engine runs as plain moto would (only slower).
    """
    global _installed
    with _lock:
        if _installed:
            return
        loader = _apply("one model loader", _share_model_loader)
        _apply("region lookups", lambda: _cache_region_lookups(loader))
        _apply("module list", _cache_module_list)
        _installed = True


def _apply(what: str, speed_up: Callable[[], Any]) -> Any:
    try:
        return speed_up()
    except (AttributeError, ImportError, TypeError) as exc:
        log.warning("engine start-up speed-up %r not applied (moto changed?): %s", what, exc)
        return None


def _cache_region_lookups(loader: Any) -> None:
    from botocore.session import Session

    original = Session.get_available_regions
    original_partitions = Session.get_available_partitions
    shared = Session()
    if loader is not None:
        # botocore reads the service's whole model to learn its endpoint prefix: let it use
        # moto's loader, which has (or will have) parsed that model anyway.
        shared.register_component("data_loader", loader)
    partitions: list[str] = []

    def get_available_partitions(self: Any) -> list[str]:
        # moto's EKS asks a new session for every role ARN it validates
        with _lock:
            if not partitions:
                partitions.extend(original_partitions(shared))
        return list(partitions)

    cache: dict[tuple[str, str, bool], list[str]] = {}

    def get_available_regions(
        self: Any, service_name: str, partition_name: str = "aws", allow_non_regional: bool = False
    ) -> list[str]:
        key = (service_name, partition_name, allow_non_regional)
        with _lock:
            regions = cache.get(key)
            if regions is None:
                regions = list(original(shared, service_name, partition_name, allow_non_regional))
                cache[key] = regions
        return list(regions)

    Session.get_available_regions = get_available_regions  # type: ignore[method-assign]
    Session.get_available_partitions = get_available_partitions  # type: ignore[method-assign]


def _share_model_loader() -> Any:
    import moto.core.utils as moto_utils
    from moto.core.loaders import create_loader

    shared = create_loader()
    original = shared.load_service_model

    def load_service_model(service_name: str, type_name: str, api_version: str | None = None) -> Any:
        # The loader caches by the exact call: botocore passes keywords, moto positions;
        # one spelling means one cache entry, so each model is parsed once.
        return original(service_name, type_name, api_version)

    shared.load_service_model = load_service_model  # type: ignore[method-assign]
    moto_utils.create_loader = lambda: shared  # type: ignore[attr-defined]
    return shared


def service_model(name: str) -> Any:
    """moto's (cached) copy of botocore's model of ``name``, from the shared loader."""
    from moto.core.utils import get_service_model

    return get_service_model(name)


def _cache_module_list() -> None:
    import moto.backends as moto_backends

    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
