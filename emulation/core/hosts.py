"""Which ``Host`` names the engine answers (a defence against DNS rebinding).

A web page can make a name it controls resolve to 127.0.0.1 and then talk to the engine
as if it were its own origin; the only trace is the ``Host`` header, which then carries
the attacker's name. The engine answers only names that are its own:

* loopback: ``127.0.0.1``, ``localhost``, ``[::1]`` (any port), and ``*.localhost``
  (S3 virtual-host addressing: ``bucket.localhost:4566``);
* LocalStack's names, which its tooling (tflocal, awslocal) puts in URLs:
  ``localhost.localstack.cloud`` and its subdomains (``bucket.s3.…``, ``api.execute-api.…``);
* AWS's own names (``*.amazonaws.com``: SDKs configured with a service endpoint name,
  virtual-host S3 and execute-api hosts) and ``host.docker.internal`` (containers);
* IP literals: a rebinding attack needs a *name*; a page can only send an IP as ``Host``
  when its own origin is that IP. (The kind runtime's relay reaches the engine by the
  Docker gateway's address.)
* whatever ``--allowed-hosts`` / ``NEXUSKIT_ALLOWED_HOSTS`` add (comma-separated; an
  entry ``*.example.test`` accepts every subdomain of ``example.test``).

LocalStack's names also address what they address there: ``s3.localhost.localstack.cloud``
(and ``s3.<region>.…``) is path-style S3 (:func:`is_localstack_s3_path_host`),
``<bucket>.s3.localhost.localstack.cloud`` virtual-host S3, and
``<api-id>.execute-api.localhost.localstack.cloud`` an HTTP API
(:func:`localstack_execute_api`).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable

ALLOWED_HOSTS_ENV = "NEXUSKIT_ALLOWED_HOSTS"
LOCALSTACK_DOMAIN = "localhost.localstack.cloud"
#: LocalStack's path-style S3 names: ``s3.localhost.localstack.cloud`` and
#: ``s3.<region>.localhost.localstack.cloud`` (the bucket is the first path segment)
_LOCALSTACK_S3_PATH = re.compile(r"^s3(\.[a-z]{2}(-[a-z]+)+-\d+)?\.localhost\.localstack\.cloud$")
#: LocalStack's execute-api names: ``<api-id>.execute-api.localhost.localstack.cloud``
_LOCALSTACK_EXECUTE_API = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.localhost\.localstack\.cloud$")
_EXACT = frozenset({"localhost", "localhost.localstack.cloud", "host.docker.internal"})
_SUFFIXES = (".localhost", ".localhost.localstack.cloud", ".amazonaws.com")


@functools.lru_cache(maxsize=256)  # a handful of names, asked several times a request
def host_name(host_header: str) -> str:
    """The name of a ``Host`` header: lower case, without port, brackets or trailing dot."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        host = name
    return host.rstrip(".")


@functools.lru_cache(maxsize=256)
def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """Decides whether a ``Host`` header names this engine."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        exact: set[str] = set()
        suffixes: list[str] = []
        for entry in extra:
            name = entry.strip().lower().rstrip(".")
            if not name:
                continue
            if name.startswith("*."):
                suffixes.append(name[1:])
            else:
                exact.add(host_name(name))
        self.exact = _EXACT | exact
        self.suffixes = _SUFFIXES + tuple(suffixes)

    @classmethod
    def parse(cls, raw: str | None) -> tuple[str, ...]:
        """The entries of a comma-separated list (``--allowed-hosts`` or the env variable)."""
        return tuple(part.strip() for part in (raw or "").split(",") if part.strip())

    def allows(self, host_header: str | None) -> bool:
        if not host_header:
            return True  # HTTP/1.0 clients send none; browsers always do
        name = host_name(host_header)
        return name in self.exact or name.endswith(self.suffixes) or _is_ip(name)

    def refusal(self, host_header: str) -> str:
        return (
            f"the engine does not answer the host name {host_name(host_header)!r} (requests for "
            "names other than 127.0.0.1, localhost, *.localhost, localhost.localstack.cloud and "
            "*.amazonaws.com are refused, against DNS rebinding); to allow it, start the engine "
            f"with --allowed-hosts NAME or set {ALLOWED_HOSTS_ENV}=NAME[,NAME...]"
        )


def is_localstack_s3_path_host(host_header: str) -> bool:
    """Whether ``Host`` is one of LocalStack's path-style S3 names (``s3.localhost.localstack.cloud``).

    moto would read such a name as virtual-host addressing of a bucket named ``s3``.
    """
    return _LOCALSTACK_S3_PATH.match(host_name(host_header)) is not None


def path_style_host(host_header: str) -> str:
    """The name moto reads as path-style addressing for a LocalStack path-style S3 name
    (``localhost.localstack.cloud``, port kept)."""
    host = host_header.strip()
    name, sep, port = host.rpartition(":")
    suffix = f":{port}" if sep and port.isdigit() and ":" not in name else ""
    return LOCALSTACK_DOMAIN + suffix


def localstack_execute_api(host_header: str | None) -> str | None:
    """The API id of a LocalStack execute-api name (``<api-id>.execute-api.localhost.localstack.cloud``)."""
    if not host_header:
        return None
    match = _LOCALSTACK_EXECUTE_API.match(host_name(host_header))
    return match["api"] if match else None
