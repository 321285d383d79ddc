"""boto3 clients pointed at an engine (or at AWS) with the standard configuration.

Every :class:`AwsTarget` of a process shares one botocore data loader (:func:`shared_loader`):
the service models (the JSON that describes each AWS API, up to 4 MB for EC2) are read
and parsed once per process, not once per target. Parsing them is most of what a client costs
to make, so the loader reads them through the engine's model cache on disk
(:mod:`emulation.modelcache`, shared with the engine; ``NEXUSKIT_MODEL_CACHE=0`` turns it off).

boto3 and botocore are imported when the first session is made, not with this module:
``nexuskit up`` starts the engine before it imports them (about 0.15 s of CPU), so the
engine's start and that import run side by side.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field, replace
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT_ID = "123456789012"
_LOADER_LOCK = threading.Lock()
_LOADER: list[Any] = []


def shared_loader() -> Any:
    """The process's botocore data loader (models loaded once, and cached on disk)."""
    with _LOADER_LOCK:
        if not _LOADER:
            import botocore.loaders

            from emulation.modelcache import use_model_cache

            loader = botocore.loaders.create_loader(os.environ.get("AWS_DATA_PATH"))
            _LOADER.append(use_model_cache(loader))
        return _LOADER[0]


@dataclass(frozen=True)
class AwsTarget:
    """Where and as whom boto3 calls go: an endpoint (None for real AWS), region, keys."""

    region: str
    access_key_id: str
    secret_access_key: str
    endpoint_url: str | None = None
    session_token: str | None = None
    account_id: str = DEFAULT_ACCOUNT_ID
    _session: Any = field(default=None, compare=False, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _lock: Any = field(default_factory=threading.RLock, compare=False, repr=False)

    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                import boto3.session
                import botocore.session

                core = botocore.session.get_session()
                loader = shared_loader()
                core.register_component("data_loader", loader)
                session = boto3.session.Session(
                    botocore_session=core,
                    aws_access_key_id=self.access_key_id,
                    aws_secret_access_key=self.secret_access_key,
                    aws_session_token=self.session_token,
                    region_name=self.region,
                )
                with _LOADER_LOCK:  # each boto3 session appends its data folder again
                    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
                object.__setattr__(self, "_session", session)
            return self._session

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client for ``service`` (retries in standard mode, short timeouts).

        Clients with the default configuration are made once per target and shared
        (boto3 clients are thread-safe; making one costs 10-30 ms).
        """
        if config:
            return self._new_client(service, **config)
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self._clients[service] = self._new_client(service)
        return client

    def _new_client(self, service: str, **config: Any) -> Any:
        from botocore.config import Config

        cfg = Config(
            retries={"mode": "standard", "max_attempts": config.pop("max_attempts", 3)},
            connect_timeout=config.pop("connect_timeout", 5),
            read_timeout=config.pop("read_timeout", 60),
            **config,
        )
        kwargs: dict[str, Any] = {"config": cfg}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        return self.session().client(service, **kwargs)

    def with_credentials(
        self, access_key_id: str, secret_access_key: str, session_token: str | None = None
    ) -> AwsTarget:
        """The same endpoint and region as another identity."""
        return replace(
            self,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            session_token=session_token,
            _session=None,
            _clients={},
            _lock=threading.RLock(),
        )

    def env(self) -> dict[str, str]:
        """Environment variables that point awscli/boto3/terraform at this target."""
        env = {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env

    @classmethod
    def from_environment(cls, default_region: str = "us-west-2") -> AwsTarget:
        """The target the standard AWS environment variables describe."""
        return cls(
            region=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", default_region)),
            access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", ""),
            secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
            session_token=os.environ.get("AWS_SESSION_TOKEN"),
            endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
        )
