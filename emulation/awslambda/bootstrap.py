"""The process inside one Lambda execution environment (a "sandbox").

Run by the engine as ``python -I bootstrap.py CTL_IN CTL_OUT`` with the function's code
folder as working directory and ``LAMBDA_TASK_ROOT``/``_HANDLER`` in the environment. It
imports the handler once (the init phase), then serves invocations one at a time:

* requests arrive as JSON lines on file descriptor ``CTL_IN``:
  ``{"id", "event" (JSON text), "deadline_ms", "arn", "client_context"}``;
* answers go back as JSON lines on ``CTL_OUT``: ``{"type": "ready"|"init_error"|"result"|
  "error", ...}``;
* the handler's stdout and stderr (one pipe) are the function's log output; after each
  phase a sentinel (``SENTINEL`` + request id + ``SENTINEL_END``) is written to that pipe so
  the engine knows which output belongs to which invocation.

Log records of the ``logging`` module are formatted as AWS's Python runtime does
(``[LEVEL]\\t<time>\\t<request id>\\t<message>``) with newlines turned into ``\\r``, so a
traceback stays one CloudWatch event. This file imports nothing from nexuskit: it runs with
the engine's interpreter but must not put the engine's code on the handler's path.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback
from typing import Any, BinaryIO

SENTINEL = b"\x00\x1enexus-end "
SENTINEL_END = b"\x1e\x00"


class LambdaContext:
    """The ``context`` argument, with the attributes and method of AWS's Python runtime."""

    def __init__(self, request_id: str, deadline_ms: int, arn: str, client_context: Any) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = client_context
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r})"


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _RequestIdFilter.request_id
        return True


class _LambdaLogFormatter(logging.Formatter):
    def __init__(self, fmt: str, datefmt: str) -> None:
        super().__init__(fmt, datefmt)
        self.converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\r")


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _LambdaLogFormatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING").upper()
    root.setLevel(level if level in logging.getLevelNamesMapping() else "WARNING")


def _error_doc(exc: BaseException, error_type: str | None = None, skip_frames: int = 0) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }


def _log_error(doc: dict[str, Any], exc: BaseException | None, skip_frames: int = 0) -> None:
    """Write the error to the log as AWS does: one event with the traceback."""
    text = f"[ERROR] {doc['errorType']}: {doc['errorMessage']}"
    if exc is not None and exc.__traceback__ is not None:
        frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
        text += "\nTraceback (most recent call last):\n" + "".join(traceback.format_list(frames))
    sys.stderr.write(text.rstrip("\n").replace("\n", "\r") + "\n")


def _end_phase(request_id: str) -> None:
    """Flush the handler's output, then mark the end of this phase's output."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os.write(1, SENTINEL + request_id.encode("ascii", "replace") + SENTINEL_END)


def _send(out: BinaryIO, message: dict[str, Any]) -> None:
    out.write(json.dumps(message).encode("utf-8") + b"\n")
    out.flush()


def _max_rss_mb() -> int:
    """Peak resident memory of this process (VmHWM: ru_maxrss may carry the parent's peak)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _load_handler(spec: str) -> Any:
    """Import the handler as AWS's runtime does; raises (error_type, exception)."""
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as exc:
        raise _InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from exc
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise _InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        ) from exc
    except ImportError as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return handler


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _to_json(value: Any) -> str:
    def default(obj: Any) -> Any:
        if isinstance(obj, decimal.Decimal):
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    return json.dumps(value, default=default)


def _serve(handler: Any, ctl_in: BinaryIO, ctl_out: BinaryIO) -> None:
    while True:
        line = ctl_in.readline()
        if not line:
            return
        request = json.loads(line)
        request_id = str(request["id"])
        _RequestIdFilter.request_id = request_id
        started = time.perf_counter()
        message: dict[str, Any]
        try:
            event = json.loads(request["event"]) if request.get("event") else {}
            context = LambdaContext(
                request_id, int(request["deadline_ms"]), str(request["arn"]), request.get("client_context")
            )
            result = handler(event, context)
            try:
                payload = _to_json(result)
            except (TypeError, ValueError) as exc:
                doc = {
                    "errorMessage": f"Unable to marshal response: {exc}",
                    "errorType": "Runtime.MarshalError",
                    "requestId": request_id,
                    "stackTrace": [],
                }
                _log_error(doc, None)
                message = {"type": "error", "id": request_id, "error": doc}
            else:
                message = {"type": "result", "id": request_id, "payload": payload}
        except Exception as exc:
            doc = _error_doc(exc, skip_frames=1)
            doc["requestId"] = request_id
            _log_error(doc, exc, skip_frames=1)
            message = {"type": "error", "id": request_id, "error": doc}
        message["duration_ms"] = (time.perf_counter() - started) * 1000
        message["max_rss_mb"] = _max_rss_mb()
        _end_phase(request_id)
        _send(ctl_out, message)


def main(argv: list[str]) -> int:
    ctl_in = os.fdopen(int(argv[1]), "rb")
    ctl_out = os.fdopen(int(argv[2]), "wb")
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path.insert(0, task_root)
    _setup_logging()
    started = time.perf_counter()
    try:
        handler = _load_handler(os.environ.get("_HANDLER", ""))
    except _InitError as exc:
        doc = {"errorMessage": str(exc), "errorType": exc.error_type, "stackTrace": []}
        _log_error(doc, exc.__cause__, skip_frames=0)
        _end_phase("init")
        _send(
            ctl_out, {"type": "init_error", "error": doc, "init_ms": (time.perf_counter() - started) * 1000}
        )
        return 1
    except Exception as exc:
        doc = _error_doc(exc)
        _log_error(doc, exc)
        _end_phase("init")
        _send(
            ctl_out, {"type": "init_error", "error": doc, "init_ms": (time.perf_counter() - started) * 1000}
        )
        return 1
    _end_phase("init")
    _send(ctl_out, {"type": "ready", "init_ms": (time.perf_counter() - started) * 1000})
    _serve(handler, ctl_in, ctl_out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
