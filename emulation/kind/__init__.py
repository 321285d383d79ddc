"""The kind runtime adapter: the services' manifests on a kind cluster (see ``cluster``)."""

from emulation.kind.cluster import KindCluster, KindCommandError, KindToolMissingError, find_tools

__all__ = ["KindCluster", "KindCommandError", "KindToolMissingError", "find_tools"]
