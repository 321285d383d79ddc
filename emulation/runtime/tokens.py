"""Service-account token files in pods, written and rotated as the kubelet does.

A pod gets signed JWTs (:class:`~emulation.runtime.identity.TokenIssuer`) in three ways,
each a :class:`TokenFile` of its :class:`PodTokens`:

* a **projected volume** source ``serviceAccountToken {path, audience, expirationSeconds}``
  (audience default: the API's, ``https://kubernetes.default.svc``; seconds default 3600,
  at least 600 as Kubernetes validates unless the runtime was started with a lower
  ``--min-token-seconds``);
* the **automounted API token** (``automountServiceAccountToken``, default true; the pod
  spec overrides the ServiceAccount): ``token`` (API audience, 3607 s like the kubelet's
  ``kube-api-access`` volume) and ``namespace`` in a folder mounted at
  ``/var/run/secrets/kubernetes.io/serviceaccount`` (skipped when the container mounts
  something there itself);
* the **IRSA** web-identity token (audience ``sts.amazonaws.com``, see ``identity.py``).

Each file is ``0600`` in a ``0700`` folder, replaced atomically, and rewritten when 80 %
of its life has passed (and at every container start). Tokens are bound to the pod (its
name and uid in the ``kubernetes.io`` claim), so the API stops accepting them once the
pod is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from emulation.core.files import write_private as write_file
from emulation.runtime.identity import TokenIssuer

log = logging.getLogger(__name__)

API_AUDIENCE = "https://kubernetes.default.svc"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
AUTOMOUNT_VOLUME = "kube-api-access"
AUTOMOUNT_SECONDS = 3607  # what the kubelet asks for its kube-api-access volume
DEFAULT_SECONDS = 3600
MIN_SECONDS = 600  # Kubernetes refuses shorter projected tokens and TokenRequests
MAX_SECONDS = 2**32
REFRESH_FRACTION = 0.8


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with a file only its owner reads (0600) in a 0700 folder."""
    write_file(path, text, private_folder=True)


@dataclass
class TokenFile:
    path: Path
    audience: str
    seconds: int
    issued: float = 0.0
    expires: float = 0.0

    @property
    def due(self) -> float:
        """When the file must be rewritten (80 % of its life)."""
        return self.issued + REFRESH_FRACTION * (self.expires - self.issued)


class PodTokens:
    """The token files of one pod; :meth:`run` rewrites each at 80 % of its life."""

    def __init__(self, issuer: TokenIssuer, namespace: str, service_account: str, pod: str, uid: str) -> None:
        self.issuer = issuer
        self.namespace = namespace
        self.service_account = service_account
        self.pod = pod
        self.uid = uid
        self.files: dict[Path, TokenFile] = {}
        self._changed = asyncio.Event()

    def write(self, path: Path, audience: str, seconds: int) -> str:
        """Sign a token for ``audience`` and write it to ``path`` (kept fresh from now on)."""
        entry = self.files.get(path) or TokenFile(path, audience, seconds)
        entry.audience, entry.seconds = audience, seconds
        token = self._sign(entry)
        self.files[path] = entry
        self._changed.set()
        return token

    def _sign(self, entry: TokenFile) -> str:
        token, expires = self.issuer.token(
            self.namespace, self.service_account, self.pod, self.uid, entry.audience, entry.seconds
        )
        write_private(entry.path, token)
        entry.issued, entry.expires = time.time(), expires
        return token

    def refresh_due(self, now: float | None = None) -> list[Path]:
        """Rewrite every file past 80 % of its life; the paths rewritten."""
        now = time.time() if now is None else now
        done = []
        for entry in list(self.files.values()):
            if now >= entry.due:
                try:
                    self._sign(entry)
                except OSError as exc:  # the pod folder went away under us: the pod is going
                    log.warning("cannot rewrite token %s of pod %s: %s", entry.path, self.pod, exc)
                    continue
                done.append(entry.path)
        return done

    async def run(self) -> None:
        """Until cancelled: sleep until the next file is due, rewrite it."""
        while True:
            self._changed.clear()
            now = time.time()
            delay = max(0.0, min((e.due for e in self.files.values()), default=now + 3600.0) - now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay)
                continue  # a new file: compute the next due time again
            for path in self.refresh_due():
                log.debug("rotated service-account token %s of pod %s", path, self.pod)


def automount_enabled(pod_spec_value: bool | None, service_account_value: bool | None) -> bool:
    """Kubernetes' rule: the pod spec wins, then the ServiceAccount, else true."""
    if pod_spec_value is not None:
        return pod_spec_value
    if service_account_value is not None:
        return service_account_value
    return True
