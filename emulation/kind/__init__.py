"""The kind runtime adapter: the services' manifests on a kind cluster (see ``cluster``).

What this package exports is its public interface (``nexuskit.controlplane.kind`` uses it;
``nexuskit.localstack`` and ``nexuskit.doctor`` use its Docker engine probe).
"""

from emulation.kind.cluster import (
    IRSA_ANNOTATION,
    KindCluster,
    KindCommandError,
    KindToolMissingError,
    credential_secret,
    find_tools,
    patch_for_kind,
    read_documents,
    source_of,
)
from emulation.kind.docker_sdk import DockerEngineUnavailableError, docker_engine, docker_unavailable

__all__ = [
    "IRSA_ANNOTATION",
    "DockerEngineUnavailableError",
    "KindCluster",
    "KindCommandError",
    "KindToolMissingError",
    "credential_secret",
    "docker_engine",
    "docker_unavailable",
    "find_tools",
    "patch_for_kind",
    "read_documents",
    "source_of",
]
