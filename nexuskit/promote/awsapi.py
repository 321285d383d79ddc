"""boto3 for the promotion: real AWS through the default credential chain.

Promotion talks to AWS itself, so it uses boto3's default chain (environment, profile,
SSO, instance role) and no endpoint. ``endpoints`` exists for tests and AWS-compatible
endpoints: ``{"default": URL}`` or per service (``{"sts": URL, "kinesis": URL}``); the CLI
never sets it. An ``AWS_ENDPOINT_URL*`` variable in the environment that does not name an
AWS host is a gate failure, because terraform would follow it too (see
:func:`foreign_endpoint_variables`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config

_AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")


def is_aws_endpoint(url: str) -> bool:
    host = (urlparse(url if "://" in url else f"https://{url}").hostname or "").lower()
    return host.endswith(_AWS_HOST_SUFFIXES)


def foreign_endpoint_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables that are not AWS hosts."""
    return {
        name: value
        for name, value in sorted(environ.items())
        if (name == "AWS_ENDPOINT_URL" or name.startswith("AWS_ENDPOINT_URL_"))
        and value.strip()
        and not is_aws_endpoint(value.strip())
    }


class AwsAccess:
    """Sessions and clients for one region, optionally at non-default endpoints."""

    def __init__(self, region: str, endpoints: Mapping[str, str] | None = None) -> None:
        self.region = region
        self.endpoints = dict(endpoints or {})
        self._session: Any = None

    def session(self) -> Any:
        if self._session is None:
            self._session = boto3.session.Session(region_name=self.region)
        return self._session

    def endpoint_for(self, service: str) -> str | None:
        return self.endpoints.get(service) or self.endpoints.get("default")

    def service_url(self, service: str) -> str:
        """The HTTPS endpoint of ``service`` in this region (or its configured endpoint)."""
        return self.endpoint_for(service) or f"https://{service}.{self.region}.amazonaws.com"

    def client(self, service: str) -> Any:
        cfg = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=60)
        kwargs: dict[str, Any] = {"config": cfg}
        endpoint = self.endpoint_for(service)
        if endpoint:
            kwargs["endpoint_url"] = endpoint
        return self.session().client(service, **kwargs)

    def credentials_present(self) -> bool:
        return self.session().get_credentials() is not None

    def caller_identity(self) -> dict[str, str]:
        """STS GetCallerIdentity: ``Account``, ``Arn``, ``UserId``."""
        data = self.client("sts").get_caller_identity()
        return {key: str(data.get(key, "")) for key in ("Account", "Arn", "UserId")}
