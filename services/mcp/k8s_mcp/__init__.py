"""k8s-mcp (spec §2.4): pods and deployments as MCP tools - list, scale, troubleshoot.

``python -m services.mcp.k8s_mcp [--allow-write]``.
Read tools: ``list_namespaces``, ``list_pods``, ``list_deployments``, ``troubleshoot_pod``;
write tool (``--allow-write``): ``scale_deployment``. Only the namespaces in
``WATCH_NAMESPACES`` are visible. It talks to the Kubernetes API with the official
``kubernetes`` client, the same code on the laptop (the process runtime's API, with the
pod's automounted ServiceAccount token) and on EKS. See :mod:`.backends`.
"""
