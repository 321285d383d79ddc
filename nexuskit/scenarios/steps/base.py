"""What every step implementation gets (:class:`StepContext`) and returns (:class:`StepReturn`).

An implementation is a function ``(ctx, step) -> StepReturn`` registered for its step type
in :data:`nexuskit.scenarios.steps.EXECUTORS`. It raises
:class:`~nexuskit.scenarios.results.StepFailedError` when the step did not do what the
scenario says, and :class:`~nexuskit.scenarios.results.CallError` when a call it makes
fails with an error code (which ``expect_denied`` may be waiting for).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from nexuskit.aws import AwsTarget
from nexuskit.scenarios.loader import LoadedScenario
from nexuskit.scenarios.results import StepFailedError
from nexuskit.scenarios.snapshots import SnapshotFile
from nexuskit.scenarios.stacks import StackHandle

T = TypeVar("T")
ADMIN = "admin"
_CREDENTIAL_KEYS = ("AccessKeyId", "SecretAccessKey")


@dataclass
class StepReturn:
    """A step's result (kept as ``steps.<id>``) and the one-line summary shown live."""

    value: Any
    summary: str = ""


@dataclass
class StepContext:
    """The run of one scenario as its steps see it."""

    stack: StackHandle
    loaded: LoadedScenario
    run_id: str
    snapshots: SnapshotFile
    record: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    known: dict[str, str] = field(default_factory=dict)
    index: int = 0
    step_id: str | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    _targets: dict[str, AwsTarget] = field(default_factory=dict)
    _clients: dict[tuple[str, str, str | None, str | None], Any] = field(default_factory=dict)

    @property
    def steps(self) -> dict[str, Any]:
        steps: dict[str, Any] = self.values.setdefault("steps", {})
        return steps

    @property
    def step_key(self) -> str:
        return self.step_id or f"step{self.index}"

    def remember(self, value: Any, label: str) -> None:
        """A volatile value snapshots should show as ``<label>``."""
        if isinstance(value, str) and len(value) >= 4:
            self.known[value] = label

    def forget_connections(self) -> None:
        """Drop cached clients and assumed identities (after an engine restart)."""
        self._clients.clear()
        self._targets.clear()

    # -- identities ----------------------------------------------------------------------
    def identity(self, who: str | dict[str, Any] | None) -> tuple[str, AwsTarget]:
        """(name, target) for an ``as`` value: admin, a token step id, role:<key>, or credentials."""
        admin = self.stack.target
        if who is None or who == ADMIN:
            return ADMIN, admin
        if isinstance(who, dict):
            return "credentials", _with_credentials(admin, who, "the 'as' mapping")
        if who.startswith("role:"):
            return who, self._assume(who.removeprefix("role:"))
        result = self.steps.get(who)
        if result is None:
            known = ", ".join(sorted(self.steps)) or "none yet"
            raise StepFailedError(
                f"'as: {who}' names no earlier step (step ids so far: {known})",
                hint="use admin, role:<key>, the id of a token step, or a credentials mapping",
            )
        credentials = result.get("credentials") if isinstance(result, dict) else None
        if not isinstance(credentials, dict):
            raise StepFailedError(
                f"'as: {who}': step {who!r} has no credentials in its result (is it a token step?)"
            )
        return who, _with_credentials(admin, credentials, f"steps.{who}.credentials")

    def _assume(self, key: str) -> AwsTarget:
        if key in self._targets:
            return self._targets[key]
        roles = self.stack.spec.roles
        if key not in roles:
            raise StepFailedError(
                f"'as: role:{key}': the stack has no role {key!r}", hint=f"roles: {', '.join(roles)}"
            )
        admin = self.stack.target
        arn = f"arn:aws:iam::{admin.account_id}:role/{roles[key]}"
        from botocore.exceptions import ClientError

        try:
            creds = admin.client("sts").assume_role(RoleArn=arn, RoleSessionName=f"scenario-{self.run_id}")
        except ClientError as exc:
            raise StepFailedError(f"cannot assume {arn}: {exc}") from None
        c = creds["Credentials"]
        target = admin.with_credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
        self._targets[key] = target
        return target

    def client(
        self,
        service: str,
        who: str | dict[str, Any] | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> Any:
        """A boto3 client as ``who`` (cached per service, identity, region and endpoint)."""
        name, target = self.identity(who)
        identity_key = name if not isinstance(who, dict) else repr(sorted(who.items()))
        cache_key = (service, identity_key, region, endpoint_url)
        if cache_key not in self._clients:
            if region or endpoint_url:
                target = replace(
                    target,
                    region=region or target.region,
                    endpoint_url=endpoint_url or target.endpoint_url,
                    _session=None,
                )
            self._clients[cache_key] = target.client(service, max_attempts=2)
        return self._clients[cache_key]


def _with_credentials(admin: AwsTarget, creds: dict[str, Any], where: str) -> AwsTarget:
    missing = [k for k in _CREDENTIAL_KEYS if not creds.get(k)]
    if missing:
        raise StepFailedError(f"{where} lacks {', '.join(missing)}")
    token = creds.get("SessionToken")
    return admin.with_credentials(
        str(creds["AccessKeyId"]), str(creds["SecretAccessKey"]), str(token) if token else None
    )


# -- results as data ------------------------------------------------------------------------
def body_to_data(raw: bytes) -> Any:
    """Bytes from AWS as data: GZIP is opened, UTF-8 text becomes str, the rest base64."""
    if raw[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError):
            raw = gzip.decompress(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"$base64": base64.b64encode(raw).decode("ascii")}


def to_data(value: Any) -> Any:
    """A boto3 response as plain JSON-able data (no ResponseMetadata, bodies read)."""
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [to_data(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray):
        return body_to_data(bytes(value))
    if hasattr(value, "read") and callable(value.read):
        return body_to_data(value.read())
    if value is not None and not isinstance(value, str | int | float | bool) and hasattr(value, "__iter__"):
        return [to_data(v) for v in value]  # event streams
    return value


def poll(timeout: float, interval: float, probe: Callable[[], tuple[bool, T]]) -> tuple[bool, T, float]:
    """Call ``probe`` until it says done or ``timeout`` passes: (done, last value, seconds)."""
    started = time.monotonic()
    while True:
        done, value = probe()
        waited = time.monotonic() - started
        if done or waited >= timeout:
            return done, value, waited
        time.sleep(min(interval, max(0.0, timeout - waited)))


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def tail(path: Path, lines: int = 20, since: int = 0, max_bytes: int = 65536) -> list[str]:
    """The last ``lines`` lines of a (possibly large) text file written after byte ``since``."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            if size < since:  # the file was replaced: read it all
                since = 0
            start = max(since, size - max_bytes)
            fh.seek(start)
            data = fh.read()
    except OSError:
        return []
    text = data.decode("utf-8", "replace").splitlines()
    if start > since and text:
        text = text[1:]  # a partial first line
    return text[-lines:]
