"""HTTP API v2: the data plane (``/_aws/execute-api/...``) and the stage calls moto lacks.

Layout as in moto: :mod:`.models` (the data plane), :mod:`.management` (stage updates),
:mod:`.extension` (the engine extension that parses requests), :mod:`.exceptions` (one
class per AWS error code), plus :mod:`.routing` (route selection), :mod:`.throttling`
(token buckets per stage and route), :mod:`.authorization` (``AWS_IAM`` routes),
:mod:`.stages` (views of moto's stages), :mod:`.events` (payload formats 1.0 and 2.0)
and :mod:`.accesslog` (``$context`` substitution).
"""

#: where the data plane answers on the engine's own host: ``<prefix><api-id>/<stage>/<path>``
EXECUTE_API_PREFIX = "/_aws/execute-api/"
