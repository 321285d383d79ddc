"""The Lambda extension: parses the Lambda API calls the runtime takes over from moto.

* ``Invoke`` (``POST /2015-03-31/functions/<name>/invocations``) runs the function in
  the local runtime (:mod:`emulation.awslambda.models`): ``RequestResponse`` waits for the
  result, ``Event`` answers 202 and runs in the background, ``DryRun`` answers 204;
  ``X-Amz-Log-Type: Tail`` returns the last 4 KB of the log in ``X-Amz-Log-Result``.
* ``CreateFunction`` and ``UpdateFunctionConfiguration`` are checked first (Python runtime,
  zip package, reserved environment variables, a readable zip) and then go on to moto.
* ``DeleteFunction`` goes to moto, then the function's warm sandboxes are stopped.
* ``LoggingConfig``, which moto neither keeps nor returns, is kept and answered by
  CreateFunction, UpdateFunctionConfiguration, GetFunction(Configuration), ListFunctions and
  PublishVersion (:mod:`emulation.awslambda.configuration`).

Every other Lambda call falls through to moto unchanged.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import tempfile
import threading
import zipfile
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from werkzeug.wrappers import Response

from emulation.awslambda import configuration
from emulation.awslambda.exceptions import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    LambdaError,
    RequestTooLargeException,
    ServiceException,
)
from emulation.core.exceptions import error_response
from emulation.core.extension import Extension, Worker
from emulation.core.request import AwsRequest
from emulation.core.settings import EngineSettings

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from emulation.awslambda.invocation import Invocation
    from emulation.awslambda.models import LambdaRuntime
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

API_VERSION = "/2015-03-31"
#: the runtime's figures (``LambdaRuntime.stats``) before it has run anything
IDLE_STATS = {"sandboxes": 0, "busy": 0, "functions": 0, "invocations": 0, "cold_starts": 0}
_FUNCTIONS = re.compile(r"^/2015-03-31/functions/?$")
_FUNCTION = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)(?P<rest>/[^?]*)?$")
LOG_TAIL_BYTES = 4096
RESERVED_ENV_PREFIXES = ("AWS_LAMBDA_",)
RESERVED_ENV = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
}


class LambdaRuntimeExtension(Extension):
    """Runs Python zip functions as warm worker processes (see the module docstring)."""

    name = "lambda"
    order = 60

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self.engine: EngineApp | None = None
        self._runtime: LambdaRuntime | None = None
        self._runtime_lock = threading.Lock()
        self._stopped = False
        self._reaper: Worker | None = None
        self._events: ThreadPoolExecutor | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, engine: EngineApp) -> None:
        self.engine = engine
        self._stopped = False

    @property
    def runtime(self) -> LambdaRuntime | None:
        """The local runtime (with its event pool and sandbox reaper), made when first needed:
        an engine that never runs a function imports none of it. None once stopped."""
        if self._runtime is None and self.engine is not None and not self._stopped:
            with self._runtime_lock:
                if self._runtime is None and not self._stopped:
                    self._runtime = self._start_runtime(self.engine)
        return self._runtime

    def _start_runtime(self, engine: EngineApp) -> LambdaRuntime:
        from concurrent.futures import ThreadPoolExecutor

        from emulation.awslambda.models import LambdaRuntime

        if self.settings.state_dir is not None:
            code_root = Path(self.settings.state_dir) / "lambda"
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="nexuskit-lambda-")
            code_root = Path(self._tmp.name)
        runtime = LambdaRuntime(engine, code_root, self.settings.endpoint)
        self._events = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lambda-event")
        self._reaper = Worker("lambda-reaper", runtime.reap).start()
        return runtime

    def stop(self) -> None:
        with self._runtime_lock:
            self._stopped = True
            runtime, self._runtime = self._runtime, None
        if self._reaper is not None:
            self._reaper.stop()
            self._reaper = None
        if runtime is not None:
            runtime.shutdown()
        if self._events is not None:
            self._events.shutdown(wait=True, cancel_futures=True)
            self._events = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def reset(self) -> None:
        runtime = self.runtime  # made if need be: the code a previous run unzipped goes too
        if runtime is not None:
            runtime.shutdown(wipe_code=True)

    def health(self) -> dict[str, Any]:
        if self._runtime is not None:
            return self._runtime.stats()
        return dict(IDLE_STATS) if self.engine is not None and not self._stopped else {}

    # -- dispatch -------------------------------------------------------------------------
    def handle(self, request: AwsRequest) -> Response | None:
        if not _is_lambda(request):
            return None
        try:
            return self._dispatch(request)
        except LambdaError as exc:
            return error_response(exc)
        except Exception as exc:  # a bug of ours: answer as AWS's ServiceException, log it
            log.exception("Lambda request %s %s failed", request.method, request.path)
            return error_response(ServiceException(f"the local Lambda runtime failed: {exc}"))

    def _dispatch(self, request: AwsRequest) -> Response | None:
        path = request.path
        if _FUNCTIONS.match(path):
            if request.method == "POST":
                body = _json_body(request)
                check_function_spec(body, creating=True)
                return self._configured(request, body.get("LoggingConfig"), "")
            if request.method == "GET":
                return self._configured(request, None, "Functions")
            return None
        match = _FUNCTION.match(path)
        if not match:
            return None
        name = unquote(match["name"])
        rest = (match["rest"] or "").rstrip("/")
        if rest == "/invocations" and request.method == "POST":
            return self._invoke(request, name)
        if rest == "/configuration" and request.method == "PUT":
            body = _json_body(request)
            check_function_spec(body, creating=False)
            return self._configured(request, body.get("LoggingConfig"), "")
        if request.method == "GET" and rest in {"", "/configuration"}:
            return self._configured(request, None, "Configuration" if rest == "" else "")
        if rest == "/versions" and request.method in {"GET", "POST"}:
            return self._configured(request, None, "Versions" if request.method == "GET" else "")
        if rest == "/code" and request.method == "PUT":
            body = _json_body(request)
            if "ZipFile" in body:
                check_zip(body["ZipFile"])
            return None
        if rest == "" and request.method == "DELETE" and self.engine is not None:
            response = self.engine.call_moto(request.environ)
            if response.status_code < 300 and self.runtime is not None:
                account, region = self._where(request)
                self.runtime.retire_function(account, region, function_name_of(name))
            return response
        return None

    # -- configuration moto lacks (LoggingConfig) -------------------------------------------
    def _configured(self, request: AwsRequest, logging_config: Any, member: str) -> Response | None:
        """moto answers; the function's LoggingConfig is applied (when given) and answered.

        ``member`` says where the configuration documents are in moto's answer: ``""`` the
        answer itself, ``"Configuration"`` (GetFunction), ``"Functions"`` (a list).
        """
        if self.engine is None:
            return None
        configuration.check_logging_config(logging_config)
        request.environ["wsgi.input"] = BytesIO(request.body)
        response = self.engine.call_moto(request.environ)
        if response.status_code >= 300:
            return response
        try:
            body = json.loads(response.get_data())
        except ValueError:
            return response
        account, region = self._where(request)
        documents = body.get(member) if member else body
        if isinstance(documents, dict):
            documents = [documents]
        if not isinstance(documents, list):
            return response
        with self.engine.state_lock.shared():
            if logging_config is not None and documents:
                fn = configuration.function(account, region, str(documents[0].get("FunctionName", "")))
                if fn is not None:
                    configuration.set_logging_config(fn, logging_config)
            for document in documents:
                if isinstance(document, dict):
                    configuration.complete(document, account, region)
        response.set_data(json.dumps(body))
        return response

    # -- Invoke ---------------------------------------------------------------------------
    def _invoke(self, request: AwsRequest, name: str) -> Response:
        from emulation.awslambda.invocation import MAX_ASYNC_PAYLOAD, MAX_SYNC_PAYLOAD, Invocation

        if self.runtime is None:
            raise ServiceException("the Lambda runtime is not running")
        invocation_type = request.headers.get("x-amz-invocation-type", "RequestResponse")
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(request.body) > limit:
            raise RequestTooLargeException(
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
            )
        payload_text = _payload_text(request.body)
        account, region = self._where(request)
        qualifier = request.query.get("Qualifier", [None])[0]
        invocation = Invocation(
            function=name,
            qualifier=qualifier,
            payload_text=payload_text,
            account_id=account,
            region=region,
            client_context=_client_context(request.headers.get("x-amz-client-context")),
        )
        runtime = self.runtime
        if invocation_type == "DryRun":
            snapshot, _ = runtime.resolve(name, qualifier, account, region)
            return Response(status=204, headers={"X-Amz-Executed-Version": snapshot.version})
        if invocation_type == "Event":
            runtime.resolve(name, qualifier, account, region)  # 404 now, not in the background
            if self._events is not None:
                self._events.submit(_invoke_quietly, runtime, invocation)
            return Response(b"", status=202, headers={"X-Amz-Executed-Version": "$LATEST"})
        result = runtime.invoke(invocation)
        headers = {
            "X-Amz-Executed-Version": result.executed_version,
            "x-amzn-RequestId": result.request_id,
        }
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if request.headers.get("x-amz-log-type", "None") == "Tail":
            tail = result.log_tail.encode("utf-8")[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode("ascii")
        return Response(result.payload, status=200, headers=headers, mimetype="application/json")

    def _where(self, request: AwsRequest) -> tuple[str, str]:
        """The caller's account and region (see :func:`caller_account_and_region`)."""
        from emulation.core.request import caller_account_and_region

        return caller_account_and_region(request, self.engine.state_lock if self.engine is not None else None)


def function_name_of(name_or_arn: str) -> str:
    """``name`` from a function name, ``name:qualifier`` or a (partial) function ARN."""
    if ":function:" in name_or_arn:
        return name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
    return name_or_arn.split(":", 1)[0]


def _invoke_quietly(runtime: LambdaRuntime, invocation: Invocation) -> None:
    try:
        runtime.invoke(invocation)
    except Exception:  # an async invocation has nobody to answer to
        log.exception("asynchronous invocation of %s failed", invocation.function)


def _is_lambda(request: AwsRequest) -> bool:
    if not request.path.startswith(API_VERSION):
        return False
    if request.signing_service:
        return request.signing_service == "lambda"
    return request.headers.get("host", "").startswith("lambda.")


def _json_body(request: AwsRequest) -> dict[str, Any]:
    body = request.json()
    return body if isinstance(body, dict) else {}


def _payload_text(body: bytes) -> str:
    if not body.strip():
        return "{}"
    try:
        text = body.decode("utf-8")
        json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidRequestContentException(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None
    return text


def _client_context(header: str | None) -> Any:
    if not header:
        return None
    try:
        return json.loads(base64.b64decode(header))
    except (ValueError, TypeError):
        return None


def check_function_spec(body: dict[str, Any], creating: bool) -> None:
    """Refuse what the local runtime cannot run, with AWS's error code and a clear message."""
    from emulation.awslambda.models import is_python_runtime, unsupported_runtime_message

    package_type = body.get("PackageType", "Zip")
    if package_type == "Image" or "ImageUri" in body.get("Code", {}):
        raise InvalidParameterValueException(
            "PackageType 'Image' is not supported by nexuskit's local Lambda runtime, which runs "
            "Python functions from .zip packages only"
        )
    runtime = body.get("Runtime")
    if creating and (not runtime or not body.get("Handler")):
        raise InvalidParameterValueException(
            "Runtime and Handler are mandatory parameters for functions created with deployment packages."
        )
    if (creating or "Runtime" in body) and not is_python_runtime(runtime):
        raise InvalidParameterValueException(unsupported_runtime_message(runtime))
    variables = (body.get("Environment") or {}).get("Variables") or {}
    reserved = sorted(
        key for key in variables if key in RESERVED_ENV or key.startswith(RESERVED_ENV_PREFIXES)
    )
    if reserved:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    if creating and "ZipFile" in body.get("Code", {}):
        check_zip(body["Code"]["ZipFile"])


def check_zip(encoded: Any) -> None:
    try:
        data = base64.b64decode(encoded)
        with zipfile.ZipFile(BytesIO(data)) as archive:
            archive.infolist()
    except (ValueError, TypeError, zipfile.BadZipFile):
        raise InvalidParameterValueException(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None


def create(settings: EngineSettings) -> LambdaRuntimeExtension:
    """Registry factory (``emulation.extensions``).

    moto's Lambda is taught to pickle when it is first imported (a request, the warm-up or
    the restore of a snapshot that holds Lambda state), not at engine start.
    """
    from emulation.core.imports import when_imported
    from emulation.core.moto_compat import install_lambda_pickling

    when_imported("moto.awslambda.models", lambda _module: install_lambda_pickling())
    return LambdaRuntimeExtension(settings)
