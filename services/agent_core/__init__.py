"""agent-core (spec §2.4, §3.3): runs workflows over the four MCP services and Bedrock.

``python -m services.agent_core`` serves, on ``PORT``:

``POST /workflow/execute``   run a workflow (synchronously with a timeout, or ``async``)
``GET /workflow/runs/{id}``  a run: status, every step with its call, duration, result, error
``GET /workflow/runs``       this replica's recent runs
``GET /workflows``           the catalogue (``GET /workflows/{name}`` one definition)
``GET /health``              readiness, the status only (anyone; ``/health/live`` liveness)
``GET /health/checks``       every check: AWS (run and checkpoint tables), the MCP services, the consumer
``GET /metrics``             Prometheus metrics

(each but ``/health`` to callers with a ServiceAccount token and the role the route takes,
see :mod:`.auth`: ``read`` to read, ``write`` to run, ``curate`` to run a workflow that
curates), and consumes the primary stream (``${prefix}-intake``) with per-shard leases and
checkpoints in DynamoDB, starting the workflow each event type maps to.

Modules: :mod:`.settings` (``settings.yaml`` of the ``agent-core-config`` ConfigMap plus
the environment), :mod:`.app` (``create_app(settings)``), :mod:`.auth`, :mod:`.routers`,
:mod:`.workflow` (definitions, expressions, the engine, the run store), :mod:`.clients`
(MCP sessions, Bedrock), :mod:`.consumer` (leases, checkpoints, the shard loops),
:mod:`.metrics`. Workflows are YAML files under ``workflows/``.
"""
