"""Import and invoke the packaged auth Lambda in a clean interpreter, as Lambda would.

The zip is extracted into a task folder (Lambda's ``/var/task``); a second folder holds
what the Lambda Python runtime itself provides, boto3 and its dependencies (``/var/runtime``,
built by :func:`nexuskit.edge.package.runtime_sdk_dir`). Then an interpreter of the
function's Python version runs with ``-I -S`` (no user site, no site-packages, no
``PYTHON*`` variables: the kit's virtualenv is out of reach) and only those two folders
added to the standard library's path. It imports the handler and calls it with an event;
the answer, and where every imported module came from, come back as JSON.

A dependency missing from the zip (``cryptography``, say) fails the import exactly as it
would in AWS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexuskit.edge.package import runtime_sdk_dir
from nexuskit.errors import PromotionError, ToolMissingError

_DRIVER = r"""
import importlib, json, sys, sysconfig, traceback
task, runtime, handler_name = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:0] = [task, runtime]
events = json.loads(sys.stdin.read())

class Context:
    aws_request_id = "nexuskit-clean-check"
    function_name = "clean-check"
    memory_limit_in_mb = 256
    def get_remaining_time_in_millis(self):
        return 10000

out = {"responses": [], "error": None}
try:
    module_name, function_name = handler_name.rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), function_name)
    for event in events:
        out["responses"].append(handler(event, Context()))
except BaseException:
    out["error"] = traceback.format_exc(limit=6)
stdlib = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
files = {}
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None)
    if path:
        files[name] = path
out["modules"] = files
out["path"] = sys.path
out["stdlib"] = sorted(stdlib)
print(json.dumps(out, default=str))
"""


@dataclass
class CleanInvocation:
    """What the handler answered in the clean interpreter, and where its modules came from."""

    python: str
    responses: list[dict[str, Any]]
    error: str | None
    modules_from_task: list[str] = field(default_factory=list)
    modules_from_runtime: list[str] = field(default_factory=list)
    modules_elsewhere: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.modules_elsewhere

    def module_origin(self, name: str) -> str | None:
        """``task``, ``runtime`` or ``elsewhere`` for a top-level module that was imported."""
        for origin, names in (
            ("task", self.modules_from_task),
            ("runtime", self.modules_from_runtime),
            ("elsewhere", self.modules_elsewhere),
        ):
            if name in names:
                return origin
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "responses": self.responses,
            "error": self.error,
            "modules_from_task": self.modules_from_task,
            "modules_from_runtime": self.modules_from_runtime,
            "modules_elsewhere": self.modules_elsewhere,
            "seconds": round(self.seconds, 3),
        }


def interpreter_for(runtime: str) -> str:
    """A Python of the runtime's version (``python3.11``): this one, or one on PATH."""
    version = runtime.removeprefix("python")
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        raise ToolMissingError(
            f"no python{version} on PATH: the auth Lambda runs {runtime}, and its package can only "
            "be imported by that version"
        )
    return found


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def invoke_clean(
    package: Path,
    events: list[dict[str, Any]],
    *,
    runtime: str,
    handler: str = "handler.handler",
    environment: Mapping[str, str] | None = None,
    workdir: Path | None = None,
) -> CleanInvocation:
    """Extract ``package``, import ``handler`` in a clean ``runtime`` interpreter, call it per event."""
    python = interpreter_for(runtime)
    with tempfile.TemporaryDirectory(prefix="nexuskit-lambda-", dir=workdir) as tmp:
        task = Path(tmp) / "task"
        with zipfile.ZipFile(package) as archive:
            archive.extractall(task)
        runtime_dir = runtime_sdk_dir(Path(tmp) / "runtime")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "LAMBDA_TASK_ROOT": str(task),
            "AWS_LAMBDA_FUNCTION_NAME": "clean-check",
            **dict(environment or {}),
        }
        started = time.perf_counter()
        proc = subprocess.run(
            [python, "-I", "-S", "-c", _DRIVER, str(task), str(runtime_dir), handler],
            input=json.dumps(events),
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
            check=False,
        )
        seconds = time.perf_counter() - started
        try:
            out = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            raise PromotionError(f"the clean interpreter did not answer: {tail[0]}") from None
        result = CleanInvocation(python, out["responses"], out["error"], seconds=seconds)
        stdlib = tuple(out["stdlib"])
        for name, path in sorted(out["modules"].items()):
            if "." in name:
                continue
            if path.startswith(str(task)):
                result.modules_from_task.append(name)
            elif path.startswith(str(runtime_dir)):
                result.modules_from_runtime.append(name)
            elif not path.startswith(stdlib):
                result.modules_elsewhere.append(f"{name} ({path})")
        return result


def check_auth_package(
    package: Path,
    *,
    runtime: str,
    environment: Mapping[str, str],
    handler: str = "handler.handler",
) -> CleanInvocation:
    """The rehearsal's check: JWKS answers 200 with keys, a bad token request answers 400.

    ``environment`` is the function's configuration (its variables, the region, and
    credentials and endpoint that reach its signing secret). Raises PromotionError in one
    line when the package does not import, answers otherwise, or imports from outside.
    """
    events = [
        {"version": "2.0", "routeKey": "GET /.well-known/jwks.json", "rawPath": "/.well-known/jwks.json"},
        {"version": "2.0", "routeKey": "POST /auth", "rawPath": "/auth", "body": "{not json"},
    ]
    result = invoke_clean(package, events, runtime=runtime, handler=handler, environment=environment)
    if result.error:
        last = result.error.strip().splitlines()[-1]
        raise PromotionError(f"the packaged auth Lambda fails in a clean {runtime} interpreter: {last}")
    if result.modules_elsewhere:
        raise PromotionError(
            f"the packaged auth Lambda imported {result.modules_elsewhere[0]} from outside its zip"
        )
    jwks, bad = result.responses
    keys = json.loads(jwks.get("body") or "{}").get("keys") if jwks.get("statusCode") == 200 else None
    if not keys:
        raise PromotionError(
            f"the packaged auth Lambda answered JWKS with {jwks.get('statusCode')}: {jwks.get('body')}"
        )
    if bad.get("statusCode") != 400:
        raise PromotionError(
            f"the packaged auth Lambda answered a bad request with {bad.get('statusCode')}, not 400"
        )
    return result
