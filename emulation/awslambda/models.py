"""The Lambda runtime: Python zip functions stored by moto, run in warm worker processes.

moto keeps the functions (code bytes, handler, runtime, environment, timeout, role) and
answers every control-plane call. :class:`LambdaRuntime` adds what moto only does with
Docker, as plain processes:

* the code of each version is unzipped once into ``<state_dir>/lambda/<name>/<sha256>/``;
* each function has a pool of :class:`~emulation.awslambda.sandbox.Sandbox` processes
  (one per concurrent invocation, up to ``ReservedConcurrentExecutions`` or
  :data:`MAX_SANDBOXES_PER_FUNCTION`), reused while warm and recycled as soon as the code
  or the configuration changes, or the role credentials near their expiry;
* a sandbox runs with the function's environment, AWS's ``AWS_LAMBDA_*`` variables,
  ``AWS_ENDPOINT_URL`` pointing at the engine, and temporary credentials of the
  function's execution role issued by the engine's STS (so IAM enforcement applies to
  what the function does);
* the invocation's output plus ``START``/``END``/``REPORT`` lines go to the function's log
  group, one log stream per sandbox, as in AWS;
* a handler exception, an init failure, a crash or a timeout become AWS's
  ``FunctionError`` payloads.
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulation.awslambda.cloudwatch import now_ms, put_log_events
from emulation.awslambda.exceptions import (
    InvalidParameterValueException,
    ResourceNotFoundException,
    ServiceException,
    TooManyRequestsException,
)
from emulation.awslambda.invocation import (
    Invocation,
    InvocationResult,
    function_error_payload,
    report_line,
)
from emulation.awslambda.sandbox import (
    BOOTSTRAP,
    PhaseResult,
    Sandbox,
    SandboxDiedError,
    SandboxTimeoutError,
)

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

MAX_SANDBOXES_PER_FUNCTION = 10
QUEUE_WAIT_S = 10.0  # how long an invocation waits for a free sandbox before 429
IDLE_TTL_S = 600.0  # a sandbox idle this long is reclaimed (AWS: minutes to hours)
CREDENTIAL_SECONDS = 3600
CREDENTIAL_MARGIN_S = 300.0  # recycle a sandbox whose role credentials expire sooner
PYTHON_RUNTIME_PREFIX = "python3."


@dataclass(frozen=True)
class FunctionSnapshot:
    """One function version's configuration, copied out of moto under the state lock."""

    account_id: str
    region: str
    name: str
    version: str
    arn: str
    handler: str
    runtime: str
    package_type: str
    timeout: int
    memory_mb: int
    role: str
    env: tuple[tuple[str, str], ...]
    code_sha256: str
    log_group: str
    reserved_concurrency: int | None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.account_id, self.region, self.name, self.version)

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        """What a warm sandbox depends on: any change recycles it."""
        return (
            self.code_sha256,
            self.handler,
            self.runtime,
            self.timeout,
            self.memory_mb,
            self.role,
            self.env,
        )


def is_python_runtime(runtime: str | None) -> bool:
    return bool(runtime) and str(runtime).startswith(PYTHON_RUNTIME_PREFIX)


def unsupported_runtime_message(runtime: str | None) -> str:
    return (
        f"Runtime {runtime!r} is not supported by nexuskit's local Lambda runtime, which runs "
        "Python functions from .zip packages only: use a python3.x runtime (e.g. python3.12)"
    )


class CodeCache:
    """Unzipped code per function and code hash, extracted once, atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def ensure(self, name: str, sha256: str, code: bytes) -> Path:
        target = self.root / name / sha256
        if target.is_dir():
            return target
        with self._lock:
            if target.is_dir():
                return target
            tmp = self.root / name / f".tmp-{uuid.uuid4().hex}"
            tmp.mkdir(parents=True)
            try:
                extract_zip(code, tmp)
                tmp.rename(target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return target

    def wipe(self) -> None:
        with self._lock:
            shutil.rmtree(self.root, ignore_errors=True)


def extract_zip(code: bytes, target: Path) -> None:
    """Unzip ``code`` into ``target``, refusing members that would land outside it."""
    root = target.resolve()
    try:
        archive = zipfile.ZipFile(BytesIO(code))
    except zipfile.BadZipFile:
        raise InvalidParameterValueException(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None
    with archive:
        for member in archive.infolist():
            destination = (root / member.filename).resolve()
            if destination != root and root not in destination.parents:
                raise InvalidParameterValueException(
                    f"Could not unzip uploaded file: member {member.filename!r} points outside the package"
                )
            archive.extract(member, root)


def log_stream_name(version: str) -> str:
    today = datetime.now(UTC)
    return f"{today:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


class LambdaRuntime:
    """Runs invocations of the functions moto stores (see the module docstring)."""

    def __init__(self, engine: EngineApp, code_root: Path, endpoint: str) -> None:
        self.engine = engine
        self.code = CodeCache(code_root)
        self.endpoint = endpoint
        self._pools: dict[tuple[str, str, str, str], list[Sandbox]] = {}
        self._cond = threading.Condition()
        self.invocations = 0
        self.cold_starts = 0

    # -- functions ------------------------------------------------------------------------
    def resolve(
        self, name_or_arn: str, qualifier: str | None, account_id: str, region: str
    ) -> tuple[FunctionSnapshot, bytes]:
        """The function version to run and its zip bytes (ResourceNotFoundException if none)."""
        with self.engine.state_lock.shared():
            backend = self.engine.backend("lambda", region, account_id)
            try:
                fn = backend.get_function(name_or_arn, qualifier)
            except Exception as exc:  # moto's UnknownFunctionException and friends
                message = getattr(exc, "message", None) or f"Function not found: {name_or_arn}"
                raise ResourceNotFoundException(str(message)) from None
            version = str(fn.version)
            base_arn = str(fn.function_arn).split(":function:")[0] + f":function:{fn.function_name}"
            used_qualifier = qualifier or _qualifier_in(name_or_arn)
            arn = f"{base_arn}:{used_qualifier}" if used_qualifier else base_arn
            snapshot = FunctionSnapshot(
                account_id=account_id,
                region=region,
                name=fn.function_name,
                version=version,
                arn=arn,
                handler=str(fn.handler or ""),
                runtime=str(fn.run_time or ""),
                package_type=str(fn.package_type or "Zip"),
                timeout=int(fn.timeout or 3),
                memory_mb=int(fn.memory_size or 128),
                role=str(fn.role),
                env=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
                code_sha256=str(getattr(fn, "code_digest", "") or ""),
                log_group=str(getattr(fn, "logs_group_name", f"/aws/lambda/{fn.function_name}")),
                reserved_concurrency=(
                    int(fn.reserved_concurrency) if fn.reserved_concurrency is not None else None
                ),
            )
            code = bytes(getattr(fn, "code_bytes", b"") or b"")
        if snapshot.package_type != "Zip" or not is_python_runtime(snapshot.runtime):
            raise InvalidParameterValueException(unsupported_runtime_message(snapshot.runtime or None))
        if not snapshot.code_sha256 or not code:
            raise InvalidParameterValueException(
                f"Function {snapshot.name} has no code package the local runtime can read"
            )
        return snapshot, code

    def apigateway_may_invoke(self, snapshot: FunctionSnapshot, source_arn: str) -> bool:
        """Whether the function's resource policy lets API Gateway invoke it from ``source_arn``."""
        from fnmatch import fnmatchcase

        with self.engine.state_lock.shared():
            backend = self.engine.backend("lambda", snapshot.region, snapshot.account_id)
            try:
                fn = backend.get_function(snapshot.name, None)
            except Exception:
                return False
            statements = list(fn.policy.statements)
        for statement in statements:
            if statement.get("Effect", "Allow") != "Allow":
                continue
            principal = statement.get("Principal", {})
            service = principal.get("Service") if isinstance(principal, dict) else principal
            if service not in ("apigateway.amazonaws.com", "*"):
                continue
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else list(actions)
            if not any(a in ("lambda:InvokeFunction", "lambda:*", "*") for a in actions):
                continue
            condition = statement.get("Condition", {})
            patterns: list[str] = []
            for operator in ("ArnLike", "ArnEquals", "StringLike", "StringEquals"):
                value = condition.get(operator, {}).get("AWS:SourceArn")
                if value:
                    patterns += [value] if isinstance(value, str) else list(value)
            if not patterns or any(fnmatchcase(source_arn, p) for p in patterns):
                return True
        return False

    # -- invocation -----------------------------------------------------------------------
    def invoke(self, invocation: Invocation) -> InvocationResult:
        """Run one invocation to its end (result, function error or timeout)."""
        snapshot, code = self.resolve(
            invocation.function, invocation.qualifier, invocation.account_id, invocation.region
        )
        code_dir = self.code.ensure(snapshot.name, snapshot.code_sha256, code)
        request_id = invocation.request_id or str(uuid.uuid4())
        self.invocations += 1
        sandbox, init = self._acquire(snapshot, code_dir)
        lines: list[str] = []
        if init is not None:
            self.cold_starts += 1
            lines.append(
                f"INIT_START Runtime Version: {snapshot.runtime} (local: Python "
                f"{sys.version_info.major}.{sys.version_info.minor}, nexuskit)"
            )
            lines += split_output(init.output)
            if init.message.get("type") != "ready":
                return self._init_failed(snapshot, sandbox, init, request_id, lines)
        lines.append(f"START RequestId: {request_id} Version: {snapshot.version}")
        deadline_s = time.monotonic() + snapshot.timeout
        request = {
            "id": request_id,
            "event": invocation.payload_text,
            "deadline_ms": int(time.time() * 1000 + snapshot.timeout * 1000),
            "arn": snapshot.arn,
            "client_context": invocation.client_context,
        }
        dead = False
        started = time.perf_counter()
        try:
            phase = sandbox.invoke(request, deadline_s)
        except SandboxTimeoutError:
            dead = True
            lines += split_output(sandbox.kill())
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            message = f"{stamp} {request_id} Task timed out after {snapshot.timeout:.2f} seconds"
            lines.append(message)
            payload = function_error_payload({"errorMessage": message})
            result = InvocationResult(request_id, payload, "Unhandled", snapshot.version)
            status = "Status: timeout"
        except SandboxDiedError as exc:
            dead = True
            lines += split_output(sandbox.kill())
            code_text = f"exit status {exc.exit_code}" if exc.exit_code is not None else str(exc)
            doc = {
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {code_text}",
                "errorType": "Runtime.ExitError",
            }
            lines.append(f"RequestId: {request_id} Error: Runtime exited with error: {code_text}")
            result = InvocationResult(request_id, function_error_payload(doc), "Unhandled", snapshot.version)
            status = "Status: error\tError Type: Runtime.ExitError"
        else:
            lines += split_output(phase.output)
            result = self._result_of(phase, request_id, snapshot)
            status = ""
        finally:
            self._release(snapshot, sandbox, dead)
        duration = (time.perf_counter() - started) * 1000
        result.duration_ms = duration
        lines.append(f"END RequestId: {request_id}")
        lines.append(
            report_line(
                request_id,
                duration,
                snapshot.memory_mb,
                result.max_rss_mb,
                init.duration_ms if init else None,
                status,
            )
        )
        result.log_tail = "\n".join(lines) + "\n"
        self._write_logs(snapshot, sandbox.log_stream, lines)
        return result

    def _result_of(self, phase: PhaseResult, request_id: str, snapshot: FunctionSnapshot) -> InvocationResult:
        message = phase.message
        if message.get("type") == "result":
            payload = str(message.get("payload", "null")).encode("utf-8")
            error = None
            if len(payload) > 6 * 1024 * 1024:
                payload = function_error_payload(
                    {
                        "errorMessage": "Response payload size exceeded maximum allowed payload size "
                        "(6291556 bytes).",
                        "errorType": "Function.ResponseSizeTooLarge",
                    }
                )
                error = "Unhandled"
        else:
            payload = function_error_payload(dict(message.get("error") or {}))
            error = "Unhandled"
        return InvocationResult(
            request_id,
            payload,
            error,
            snapshot.version,
            duration_ms=phase.duration_ms,
            max_rss_mb=int(message.get("max_rss_mb", 0) or 0),
        )

    def _init_failed(
        self,
        snapshot: FunctionSnapshot,
        sandbox: Sandbox,
        init: PhaseResult,
        request_id: str,
        lines: list[str],
    ) -> InvocationResult:
        """AWS answers an init failure as the invocation's Unhandled error (and retries init next time)."""
        self._release(snapshot, sandbox, dead=True)
        error = dict(init.message.get("error") or {})
        error_type = str(error.get("errorType", "Runtime.Unknown"))
        lines.append(f"START RequestId: {request_id} Version: {snapshot.version}")
        lines.append(f"END RequestId: {request_id}")
        lines.append(
            report_line(
                request_id,
                0.0,
                snapshot.memory_mb,
                0,
                init.duration_ms,
                f"Status: error\tError Type: {error_type}",
            )
        )
        self._write_logs(snapshot, sandbox.log_stream, lines)
        result = InvocationResult(request_id, function_error_payload(error), "Unhandled", snapshot.version)
        result.log_tail = "\n".join(lines) + "\n"
        return result

    # -- sandboxes ------------------------------------------------------------------------
    def _acquire(self, snapshot: FunctionSnapshot, code_dir: Path) -> tuple[Sandbox, PhaseResult | None]:
        """A warm sandbox for the snapshot, or a new one (started here, with its init phase)."""
        limit = (
            snapshot.reserved_concurrency
            if snapshot.reserved_concurrency is not None
            else MAX_SANDBOXES_PER_FUNCTION
        )
        if limit <= 0:
            raise TooManyRequestsException("Rate Exceeded.")
        deadline = time.monotonic() + QUEUE_WAIT_S
        stale: list[Sandbox] = []
        fresh: Sandbox | None = None
        with self._cond:
            while fresh is None:
                pool = self._pools.setdefault(snapshot.key, [])
                stale += self._retire_stale(pool, snapshot)
                for sandbox in pool:
                    if not sandbox.busy and not sandbox.retired:
                        sandbox.busy = True
                        self._kill_all(stale)
                        return sandbox, None
                if len(pool) < limit:
                    fresh = Sandbox(
                        fingerprint=snapshot.fingerprint,
                        env={},
                        code_dir=code_dir,
                        log_stream=log_stream_name(snapshot.version),
                        credentials_expire_at=0.0,
                        busy=True,
                    )
                    pool.append(fresh)
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._kill_all(stale)
                    raise TooManyRequestsException("Rate Exceeded.")
                self._cond.wait(remaining)
        self._kill_all(stale)
        try:
            fresh.env, fresh.credentials_expire_at = self._sandbox_env(snapshot, code_dir, fresh.log_stream)
            init = fresh.start()
        except SandboxTimeoutError:
            output = fresh.kill()
            self._release(snapshot, fresh, dead=True)
            init = PhaseResult(
                {
                    "type": "init_error",
                    "error": {
                        "errorMessage": "Init phase did not finish within 10 seconds",
                        "errorType": "Runtime.InitTimeout",
                    },
                },
                output,
                10_000.0,
            )
            return fresh, init
        except (SandboxDiedError, OSError) as exc:
            output = fresh.kill()
            self._release(snapshot, fresh, dead=True)
            log.error("lambda sandbox for %s failed to start: %s %s", snapshot.name, exc, output[-500:])
            raise ServiceException(f"The local runtime could not start {snapshot.name}: {exc}") from None
        except Exception:
            fresh.kill()
            self._release(snapshot, fresh, dead=True)
            raise
        return fresh, init

    def _retire_stale(self, pool: list[Sandbox], snapshot: FunctionSnapshot) -> list[Sandbox]:
        """Mark sandboxes of an older configuration retired; returns the idle ones to kill."""
        now = time.time()
        stale = []
        for sandbox in list(pool):
            outdated = sandbox.fingerprint != snapshot.fingerprint
            expiring = (
                sandbox.credentials_expire_at and sandbox.credentials_expire_at - now < CREDENTIAL_MARGIN_S
            )
            if outdated or expiring or (sandbox.proc is not None and not sandbox.alive()):
                sandbox.retired = True
            if sandbox.retired and not sandbox.busy:
                pool.remove(sandbox)
                stale.append(sandbox)
        return stale

    def _release(self, snapshot: FunctionSnapshot, sandbox: Sandbox, dead: bool) -> None:
        kill = False
        with self._cond:
            sandbox.busy = False
            if dead or sandbox.retired or not sandbox.alive():
                pool = self._pools.get(snapshot.key, [])
                if sandbox in pool:
                    pool.remove(sandbox)
                kill = True
            self._cond.notify_all()
        if kill:
            sandbox.kill()

    @staticmethod
    def _kill_all(sandboxes: list[Sandbox]) -> None:
        for sandbox in sandboxes:
            sandbox.kill()
        sandboxes.clear()

    def _sandbox_env(
        self, snapshot: FunctionSnapshot, code_dir: Path, stream: str
    ) -> tuple[dict[str, str], float]:
        credentials, expires_at = self._role_credentials(snapshot)
        no_config = str(self.code.root / ".no-aws-config")
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
            "_HANDLER": snapshot.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{snapshot.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": snapshot.name,
            "AWS_LAMBDA_FUNCTION_VERSION": snapshot.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(snapshot.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": snapshot.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": snapshot.region,
            "AWS_DEFAULT_REGION": snapshot.region,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_CONFIG_FILE": no_config,
            "AWS_SHARED_CREDENTIALS_FILE": no_config,
            **credentials,
        }
        env.update(dict(snapshot.env))
        return env, expires_at

    def _role_credentials(self, snapshot: FunctionSnapshot) -> tuple[dict[str, str], float]:
        """Temporary credentials of the execution role, issued by the engine's STS."""
        partition = snapshot.role.split(":")[1] if snapshot.role.count(":") >= 2 else "aws"
        with self.engine.state_lock.shared():
            sts = self.engine.backend("sts", partition, snapshot.account_id)
            role = sts.assume_role(
                region_name=snapshot.region,
                role_session_name=snapshot.name[:64],
                role_arn=snapshot.role,
                policy=None,
                duration=CREDENTIAL_SECONDS,
                external_id=None,
            )
        self.engine.mark_dirty("sts", "iam")
        creds = {
            "AWS_ACCESS_KEY_ID": str(role.access_key_id),
            "AWS_SECRET_ACCESS_KEY": str(role.secret_access_key),
            "AWS_SESSION_TOKEN": str(role.session_token),
        }
        return creds, time.time() + CREDENTIAL_SECONDS

    def _write_logs(self, snapshot: FunctionSnapshot, stream: str, lines: list[str]) -> None:
        stamp = now_ms()
        try:
            put_log_events(
                self.engine,
                snapshot.account_id,
                snapshot.region,
                snapshot.log_group,
                stream,
                [(stamp, line) for line in lines],
                create_group=True,
            )
        except Exception:  # logging must never fail an invocation
            log.exception("could not write the logs of %s", snapshot.name)

    # -- housekeeping ---------------------------------------------------------------------
    def reap(self) -> float:
        """Reclaim idle, dead and outdated sandboxes; returns seconds until the next pass."""
        now = time.monotonic()
        doomed: list[Sandbox] = []
        with self._cond:
            for pool in self._pools.values():
                for sandbox in list(pool):
                    if sandbox.busy:
                        continue
                    expiring = sandbox.credentials_expire_at - time.time() < CREDENTIAL_MARGIN_S
                    if now - sandbox.last_used > IDLE_TTL_S or expiring or not sandbox.alive():
                        pool.remove(sandbox)
                        doomed.append(sandbox)
        self._kill_all(doomed)
        return 5.0

    def retire_function(self, account_id: str, region: str, name: str) -> None:
        """The function was deleted: stop its sandboxes (busy ones when they finish)."""
        doomed: list[Sandbox] = []
        with self._cond:
            for key, pool in self._pools.items():
                if key[:3] != (account_id, region, name):
                    continue
                for sandbox in list(pool):
                    sandbox.retired = True
                    if not sandbox.busy:
                        pool.remove(sandbox)
                        doomed.append(sandbox)
        self._kill_all(doomed)

    def shutdown(self, wipe_code: bool = False) -> None:
        """Kill every sandbox (busy ones too); with ``wipe_code`` drop the unzipped code."""
        with self._cond:
            doomed = [sandbox for pool in self._pools.values() for sandbox in pool]
            for sandbox in doomed:
                sandbox.retired = True
            self._pools.clear()
            self._cond.notify_all()
        self._kill_all(doomed)
        if wipe_code:
            self.code.wipe()

    def stats(self) -> dict[str, Any]:
        with self._cond:
            sandboxes = [s for pool in self._pools.values() for s in pool]
        return {
            "sandboxes": len(sandboxes),
            "busy": sum(1 for s in sandboxes if s.busy),
            "functions": len({key[:3] for key, pool in self._pools.items() if pool}),
            "invocations": self.invocations,
            "cold_starts": self.cold_starts,
        }

    def sandbox_pids(self, account_id: str, region: str, name: str) -> list[int]:
        with self._cond:
            return [
                s.pid
                for key, pool in self._pools.items()
                if key[:3] == (account_id, region, name)
                for s in pool
                if s.pid is not None
            ]


def _qualifier_in(name_or_arn: str) -> str | None:
    """The qualifier inside ``name:qualifier`` or ``arn:...:function:name:qualifier``."""
    tail = name_or_arn.split(":function:", 1)[1] if ":function:" in name_or_arn else name_or_arn
    if name_or_arn.startswith("arn:") and ":function:" not in name_or_arn:
        return None
    return tail.split(":", 1)[1] if ":" in tail else None


def split_output(text: str) -> list[str]:
    """Function output as log events: one per line; ``\\r`` joins lines of one record."""
    if not text:
        return []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.replace("\r", "\n") for line in lines]
