"""The Docker engine, through the ``docker`` SDK (no ``docker`` command line needed).

:func:`docker_engine` connects the way the ``docker`` CLI and ``testcontainers`` do
(``DOCKER_HOST`` with its TLS settings, else the current docker context's endpoint, else the
local socket) and pings the engine; when nothing answers it raises
:class:`DockerEngineUnavailableError` whose message is one line saying why.
"""

from __future__ import annotations

import os

import docker
import requests
from docker.context import ContextAPI
from docker.errors import DockerException


class DockerEngineUnavailableError(Exception):
    """No Docker engine answers the SDK (the message is one line: why)."""


def docker_host() -> str:
    """Where the engine is looked for, as the ``docker`` CLI does: ``DOCKER_HOST``, else the
    current docker context's endpoint (Docker Desktop, colima...), else the local socket."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    try:
        context = ContextAPI.get_current_context()
    except (DockerException, OSError, ValueError):
        context = None
    host = context.Host if context is not None else None
    return str(host or "unix:///var/run/docker.sock")


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    for marker, said in (
        ("FileNotFoundError", "no such socket"),
        ("No such file or directory", "no such socket"),
        ("Connection refused", "connection refused"),
        ("Permission denied", "permission denied"),
        ("timed out", "timed out"),
    ):
        if marker in text:
            return f"{docker_host()}: {said}"
    return f"{docker_host()}: {text[:160]}"


def docker_engine(timeout: float = 10.0) -> docker.DockerClient:
    """A client of the Docker engine that answered a ping; DockerEngineUnavailableError otherwise.

    The error's message is one line: where the SDK looked and what happened.
    """
    try:
        if os.environ.get("DOCKER_HOST"):
            client = docker.from_env(timeout=int(max(1, timeout)))
        else:
            client = docker.DockerClient(base_url=docker_host(), timeout=int(max(1, timeout)))
        if not client.ping():
            raise DockerEngineUnavailableError(f"{docker_host()}: the engine did not answer its ping")
    except (DockerException, requests.RequestException, OSError) as exc:
        raise DockerEngineUnavailableError(_reason(exc)) from None
    return client


def docker_unavailable(timeout: float = 5.0) -> str | None:
    """Why no Docker engine answers (None when one does)."""
    try:
        docker_engine(timeout).close()
    except DockerEngineUnavailableError as exc:
        return str(exc)
    return None
