"""What every Nexus service shares: who may call it (ServiceAccount tokens and roles,
:mod:`.callers`), the HTTP front door (Host, Origin, bearer, body checks,
:mod:`.httpguard`), strict JSON (:mod:`.strictjson`), the pod's own token for calling
the others (:mod:`.servicetoken`), JWT verification (:mod:`.jwt`) and an MCP client that
sends a token (:mod:`.mcpclient`)."""
