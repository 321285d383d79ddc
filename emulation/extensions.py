"""The registry of nexuskit's engine extensions (import path per name).

Each entry is ``name -> "module:factory"``; the factory takes the :class:`EngineSettings`
and returns an :class:`Extension`, or None when its switch is off.
"""

from __future__ import annotations

import importlib
import logging

from emulation.core.extension import Extension
from emulation.core.settings import EngineSettings

log = logging.getLogger(__name__)

REGISTRY: dict[str, str] = {
    "lambda": "emulation.awslambda.extension:create",
    "apigatewayv2": "emulation.apigatewayv2.extension:create",
    "kinesis": "emulation.kinesis.extension:create",
    "firehose": "emulation.firehose.extension:create",
    "bedrock": "emulation.bedrock.extension:create",
    "glue": "emulation.glue.extension:create",
    "iam": "emulation.iam:create",
    "iam-policies": "emulation.iam.managed_policies:create",
    "eks": "emulation.eks.extension:create",
    "s3": "emulation.s3.extension:create",
    "lakeformation": "emulation.lakeformation.extension:create",
    "kinesisvideo": "emulation.kinesisvideo.extension:create",
    "s3-objects": "emulation.s3.objects:create",
}


def load_extensions(settings: EngineSettings) -> list[Extension]:
    """Instantiate every registered extension (or those named in ``settings.extensions``)."""
    names = settings.extensions or tuple(REGISTRY)
    loaded: list[Extension] = []
    for name in names:
        module_name, _, factory_name = REGISTRY[name].partition(":")
        factory = getattr(importlib.import_module(module_name), factory_name)
        ext = factory(settings)
        if ext is not None:
            loaded.append(ext)
    return loaded
