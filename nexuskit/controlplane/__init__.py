"""The Nexus control plane (spec §2.4) on this machine: what the CLI and the TUI call.

The services' Kubernetes manifests (``services/**/k8s/templates/*.yaml``) are rendered
with the stack's names (:mod:`~nexuskit.controlplane.render`) into
``<state>/manifests/`` and run by a runtime (:mod:`~nexuskit.controlplane.lifecycle`
starts and stops it with the stack):

* ``process`` (default): ``emulation.runtime`` as a daemon
  (:class:`~nexuskit.controlplane.daemon.RuntimeDaemon`); each pod a local process, each
  Service a stable local port from engine port + 100 (``NEXUSKIT_SERVICE_PORT_BASE``);
* ``kind`` (``NEXUSKIT_K8S=kind``): a kind cluster (:mod:`~nexuskit.controlplane.kind`),
  where Docker, kind and kubectl exist.

Both are driven the same way, through the official ``kubernetes`` client against a
Kubernetes API (:mod:`~nexuskit.controlplane.kube`): the runtime's own (HTTPS on
127.0.0.1, ``<state>/kubeconfig``, context ``nexus-local``) or kind's. ``ps``,
``deployments``, ``scale``, ``restart``, ``events`` (:mod:`~nexuskit.controlplane.cluster`),
``logs`` (:mod:`~nexuskit.controlplane.podlogs`), re-applying manifests
(:mod:`~nexuskit.controlplane.apply`) and
:func:`~nexuskit.controlplane.tokens.service_token` (a TokenRequest) are what ``kubectl``
would do.

Every function takes the stack's :class:`~nexuskit.config.KitSettings` and returns plain
data; failures are :class:`~nexuskit.controlplane.client.ControlPlaneError` (or
``ConfigError`` for a bad manifest, ``ToolMissingError`` for a missing tool) with a
one-line message.
"""
