"""The Kubernetes API of the process runtime: what kubectl 1.32, k9s and the official client drive.

HTTPS on 127.0.0.1 with the runtime's CA (:mod:`.tls`); bearer tokens (the admin token, or
ServiceAccount tokens under RBAC from the manifests) and impersonation (:mod:`.server`);
discovery and ``/version`` (:mod:`.resources`), OpenAPI v3 (:mod:`.openapi`); the object
store with resourceVersions and watches (:mod:`.store`), rendered from the runtime's state
(:mod:`.workloads`, :mod:`.objects`) and printed as Tables (:mod:`.tables`); reads, selectors
and pod logs (:mod:`.reads`, :mod:`.selectors`); writes, patches and server-side apply
(:mod:`.writes`, :mod:`.patch`, :mod:`.validation`); access reviews (:mod:`.reviews`);
Kubernetes ``Status`` errors (:mod:`.errors`); the few protobuf bodies kubectl sends
(:mod:`.protobuf`). See ``emulation/runtime/README.md``, "Kubernetes API".
"""
