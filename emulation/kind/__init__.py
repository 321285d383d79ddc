"""The kind runtime adapter: the services' manifests on a kind cluster (see ``cluster``).

What this package exports is its public interface (``nexuskit.controlplane.kind`` uses it).
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

__all__ = [
    "IRSA_ANNOTATION",
    "KindCluster",
    "KindCommandError",
    "KindToolMissingError",
    "credential_secret",
    "find_tools",
    "patch_for_kind",
    "read_documents",
    "source_of",
]
