"""Provisioning the Nexus stack of spec §2 on an engine (or AWS), one module per area.

:mod:`~nexuskit.provision.provisioner` provisions the whole stack and takes its inventory;
the areas it calls (observability, identity, storage, streaming, signing key, tables,
network, cluster) have a module each, and :mod:`~nexuskit.provision.resources` holds the
resource states they report. The edge (auth Lambda and HTTP API) is deployed and listed by
:mod:`nexuskit.edge.auth`.
"""
