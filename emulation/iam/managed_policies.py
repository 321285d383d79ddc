"""AWS managed policies (``arn:aws:iam::aws:policy/...``), there when a caller names one.

In AWS every account sees the ~1,600 AWS managed policies. moto ships their documents but
loads them only when ``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set, and then into every IAM
backend it creates (about 0.6 s and 4 MB more in each IAM snapshot). Without them,
``AttachRolePolicy`` of ``AmazonEKSClusterPolicy`` answers ``NoSuchEntity``, which is not
what AWS answers.

So the engine loads them on demand: before a request that names an AWS managed policy
(``PolicyArn``, ``PermissionsBoundary``, STS session ``PolicyArns``) reaches moto, that
one policy is put into the caller's IAM backend; ``ListPolicies`` with scope ``AWS`` or
``All`` (the default) loads all of them, as AWS lists them all. The extension runs before
IAM enforcement (which forwards IAM writes to moto itself), and only adds AWS's public
policy documents: the request itself is still authenticated and authorized afterwards.

This module is the one place that touches moto's IAM backend internals for this
(``managed_policies``, ``aws_managed_policies``, ``AWSManagedPolicy.from_data``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from functools import cache
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.core.extension import Extension
from emulation.core.request import AwsRequest, account_of
from emulation.core.settings import EngineSettings
from emulation.iam.actions import form_params

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

#: ``arn:<partition>:iam::aws:policy<path><name>``
AWS_POLICY_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):iam::aws:policy(?P<path>/(?:[^/]+/)*)(?P<name>[^/]+)$"
)
#: request parameters that may name a managed policy (Query protocol, IAM and STS)
_POLICY_PARAMS = re.compile(r"^(PolicyArn|PermissionsBoundary|PolicyArns\.member\.\d+\.arn)$")


@cache
def _catalog() -> dict[str, tuple[str, dict[str, Any]]]:
    """``path + name`` -> (name, moto's data for it), parsed once, on first use (about 0.4 s:
    not at start-up, where most engines never need it)."""
    data: dict[str, dict[str, Any]] = json.loads(_documents())
    return {f"{entry.get('Path', '/')}{name}": (name, entry) for name, entry in data.items()}


_DECODER = json.JSONDecoder()


def _documents() -> str:
    """moto's text of every AWS managed policy (its module is deferred: read on first use)."""
    from emulation.core.moto_compat.deferred import loaded

    text: str = loaded("moto.iam.aws_managed_policies").aws_managed_policies_data
    return text


def _lookup(path: str, name: str) -> tuple[str, dict[str, Any]] | None:
    """(name, moto's data) of the AWS managed policy ``path + name``, or None.

    A request names one policy: its entry is decoded on its own from moto's text (each
    top-level entry starts a line with one space of indentation; a string in JSON holds no
    line break, so that is never inside a document), not the whole catalogue (~30 ms).
    When the text is laid out otherwise, or once the catalogue is parsed, the catalogue
    answers."""
    if _catalog.cache_info().currsize:
        return _catalog().get(f"{path}{name}")
    text = _documents()
    if not text[:16].lstrip().startswith('{\n "'):
        return _catalog().get(f"{path}{name}")  # laid out otherwise
    marker = f'\n "{name}":'
    at = text.find(marker)
    if at < 0:
        return None  # AWS has no such policy
    if text.find(marker, at + len(marker)) >= 0:
        return _catalog().get(f"{path}{name}")
    start = at + len(marker)
    while text[start] in " \t\r\n":
        start += 1
    try:
        entry, _end = _DECODER.raw_decode(text, start)
    except ValueError:
        return _catalog().get(f"{path}{name}")
    if not isinstance(entry, dict) or "Document" not in entry:
        return _catalog().get(f"{path}{name}")
    return (name, entry) if entry.get("Path", "/") == path else None


def is_aws_managed(arn: str) -> bool:
    return AWS_POLICY_ARN.match(arn) is not None


class AwsManagedPolicies:
    """Puts AWS managed policies into moto's IAM backends when they are first named."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @staticmethod
    def _backend(account_id: str, partition: str) -> Any:
        from moto.backends import get_backend

        return get_backend("iam")[account_id][partition]  # type: ignore[call-overload]

    def ensure(self, account_id: str, arn: str) -> bool:
        """Make the AWS managed policy ``arn`` exist in ``account_id`` (nothing happens when
        AWS has no such policy: moto then answers NoSuchEntity, as AWS does); True when it
        was added now."""
        match = AWS_POLICY_ARN.match(arn)
        found = _lookup(match["path"], match["name"]) if match else None
        if match is None or found is None:
            return False
        backend = self._backend(account_id, match["partition"])
        if arn in backend.managed_policies:
            return False
        with self._lock:
            if arn in backend.managed_policies:
                return False
            self._add(backend, *found)
        return True

    def ensure_all(self, account_id: str, partition: str = "aws") -> int:
        """Load every AWS managed policy into ``account_id`` (ListPolicies); how many were added."""
        backend = self._backend(account_id, partition)
        added = 0
        with self._lock:
            for key, (name, entry) in _catalog().items():
                if f"arn:{partition}:iam::aws:policy{key}" not in backend.managed_policies:
                    self._add(backend, name, entry)
                    added += 1
        return added

    @staticmethod
    def _add(backend: Any, name: str, entry: dict[str, Any]) -> None:
        from moto.iam.models import AWSManagedPolicy

        policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, entry)
        backend.aws_managed_policies.append(policy)
        backend.managed_policies[policy.arn] = policy


class AwsManagedPoliciesExtension(Extension):
    """Loads the AWS managed policies a request names before it goes on (order 5)."""

    name = "iam-policies"
    order = 5  # before IAM enforcement (10), which forwards IAM writes to moto itself

    def __init__(self) -> None:
        self.policies = AwsManagedPolicies()
        self.engine: EngineApp | None = None
        self._loaded = 0

    def start(self, engine: EngineApp) -> None:
        self.engine = engine

    def health(self) -> dict[str, Any]:
        return {"loaded": self._loaded}

    def handle(self, request: AwsRequest) -> Response | None:
        service = request.signing_service
        if service not in {"iam", "sts"} or request.method != "POST":
            return None
        params = form_params(request)
        operation = params.get("Action", "")
        named = [v for k, v in params.items() if _POLICY_PARAMS.match(k) and is_aws_managed(v)]
        listing = service == "iam" and operation == "ListPolicies" and params.get("Scope", "All") != "Local"
        if not named and not listing:
            return None
        assert self.engine is not None
        account = account_of(request)
        with self.engine.state_lock.shared():
            self._loaded += sum(self.policies.ensure(account, arn) for arn in named)
            if listing:
                self._loaded += self.policies.ensure_all(account)
        return None


def create(settings: EngineSettings) -> Extension:
    return AwsManagedPoliciesExtension()
