"""k8s-mcp (spec §2.4): pods and deployments as MCP tools - list, scale, troubleshoot.

``python -m services.mcp.k8s_mcp [--allow-write]`` (``K8S_MCP_BACKEND``: auto, control-api, kubernetes).
Read tools: ``list_namespaces``, ``list_pods``, ``list_deployments``, ``troubleshoot_pod``;
write tool (``--allow-write``): ``scale_deployment``. Only the namespaces in
``WATCH_NAMESPACES`` are visible. Locally it talks to the process runtime's control API
(``NEXUSKIT_RUNTIME_API``, injected into every pod); in a cluster to the Kubernetes API
with the ``kubernetes`` client (optional, imported only then). See :mod:`.backends`.
"""
