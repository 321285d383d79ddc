"""The process runtime: Kubernetes manifests run as local processes.

Reads the Namespaces, ConfigMaps, Secrets, ServiceAccounts, Services and Deployments of a
manifests folder (``**/k8s/*.yaml``, the folder the Terraform workloads stack applies) and
runs every Deployment's pods as supervised processes on this machine: replicas, env and
mounted files from ConfigMaps, IRSA credentials per ServiceAccount, readiness/liveness/
startup probes, restarts with backoff, per-pod logs, a stable local port per Service that
balances over ready pods, dependency order, rolling updates through ReplicaSets, and a
Kubernetes API (HTTPS on 127.0.0.1) that ``kubectl``, k9s and the official client drive.

Modules: :mod:`~emulation.runtime.schema` (fields) and :mod:`~emulation.runtime.manifests`
(typed objects, validation); :mod:`~emulation.runtime.controller` (Deployments, Services,
scheduling); :mod:`~emulation.runtime.pods` (one supervised process) with
:mod:`~emulation.runtime.podenv` (environment, volumes, DNS),
:mod:`~emulation.runtime.projected` (projected volumes) and
:mod:`~emulation.runtime.probes`; :mod:`~emulation.runtime.identity` (the service-account
issuer, STS) and :mod:`~emulation.runtime.tokens` (token files in pods, rotation);
:mod:`~emulation.runtime.proxy` (Service ports); :mod:`~emulation.runtime.rollout`
(ReplicaSets, revisions); :mod:`emulation.runtime.kube` (the Kubernetes API: server,
discovery, OpenAPI, object store and watches, reads, writes and patches, reviews, TLS)
with :mod:`~emulation.runtime.auth` (who may call it), :mod:`~emulation.runtime.rbac`
(RBAC from the manifests) and :mod:`~emulation.runtime.tokenrequest`;
:mod:`~emulation.runtime.api` (the internal channel: health, the issuer's keys);
:mod:`~emulation.runtime.daemon` (process).

It knows nothing of Nexus: names, nodes, the OIDC issuer and the engine endpoint come in
as arguments (``nexuskit.controlplane`` passes them).

Its public interface (what ``nexuskit`` may use in-process; everything else it reaches by
starting ``python -m emulation.runtime`` and calling its Kubernetes API) is what this
package exports below: the service-account issuer with STS's web-identity exchange, and
where a state dir keeps the signing key.
"""

from emulation.runtime.identity import StsError, TokenIssuer, assume_role_with_web_identity
from emulation.runtime.settings import signing_key_file

__all__ = ["StsError", "TokenIssuer", "assume_role_with_web_identity", "signing_key_file"]
