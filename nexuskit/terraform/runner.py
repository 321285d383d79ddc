"""Running the terraform binary: its own CLI config, a data dir per stack, one-line errors.

:class:`TerraformRunner` runs ``terraform`` for one workspace folder (under the state dir)
holding a copy of the repository's ``terraform/`` tree (:mod:`nexuskit.terraform.workspace`).
Every process gets nexuskit's CLI configuration (``TF_CLI_CONFIG_FILE``, see
:mod:`nexuskit.terraform.cliconfig`), a data dir per stack (``TF_DATA_DIR``), no
checkpoint calls and no prompts. ``plan``, ``apply`` and ``destroy`` run with ``-json``:
each event's message is passed to ``on_line`` as terraform would print it, the
diagnostics and the change summary are kept, and a failure raises
:class:`~nexuskit.terraform.errors.TerraformError` whose message is terraform's first
``Error:`` (with the count of the others) and whose hint names the log file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexuskit.errors import ToolMissingError
from nexuskit.terraform.errors import TerraformError

log = logging.getLogger(__name__)

TERRAFORM_ENV_VAR = "NEXUSKIT_TERRAFORM"
#: variables of the user's environment that would change what terraform does; ours replace them
_OWN_VARIABLES = ("TF_CLI_CONFIG_FILE", "TF_DATA_DIR", "TF_PLUGIN_CACHE_DIR", "TF_WORKSPACE", "TF_CLI_ARGS")
_BOX = re.compile(r"^[\s│╷╵|]+")
_API = re.compile(r"operation error (?P<service>[A-Za-z0-9 .-]+?): (?P<operation>[A-Za-z0-9]+)")

Line = Callable[[str], None]


def terraform_binary() -> str:
    """The terraform command to run (``NEXUSKIT_TERRAFORM`` or ``terraform``)."""
    return os.environ.get(TERRAFORM_ENV_VAR) or "terraform"


def require_terraform() -> str:
    """The path of the terraform binary; one-line ToolMissingError when it is not on PATH."""
    name = terraform_binary()
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(
            f"terraform is not installed ({name!r} is not on PATH): install Terraform >= 1.11 "
            "or set NEXUSKIT_TERRAFORM to its path"
        )
    return path


def terraform_version(binary: str | None = None) -> str | None:
    """terraform's version (``1.11.4``), or None when it is not installed."""
    path = shutil.which(binary or terraform_binary())
    if path is None:
        return None
    env = {k: v for k, v in os.environ.items() if k not in _OWN_VARIABLES}
    env["CHECKPOINT_DISABLE"] = "1"
    try:
        proc = subprocess.run(
            [path, "version", "-json"], capture_output=True, text=True, env=env, timeout=30, check=False
        )
        return str(json.loads(proc.stdout)["terraform_version"])
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None


@dataclass(frozen=True)
class Diagnostic:
    """One error or warning terraform reported."""

    severity: str
    summary: str
    detail: str = ""
    address: str | None = None

    @property
    def api(self) -> str | None:
        """The AWS call that failed (``IAM:AttachRolePolicy``), when the message names one."""
        match = _API.search(f"{self.summary} {self.detail}")
        if not match:
            return None
        return f"{match['service'].strip()}:{match['operation']}"

    @property
    def line(self) -> str:
        """The summary, with the detail when the summary alone says little (a failed validation)."""
        where = f" [{self.address}]" if self.address else ""
        detail = f": {self.detail}" if self.detail and len(self.summary) < 60 else ""
        return f"{self.summary}{where}{detail}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "summary": self.summary,
            "detail": self.detail,
            "address": self.address,
            "api": self.api,
        }


@dataclass
class TerraformRun:
    """What one terraform command did."""

    argv: list[str]
    stack: str
    exit_code: int
    seconds: float
    stdout: str = ""
    stderr: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: ``change_summary`` of ``-json`` runs: add, change, remove, import
    changes: dict[str, int] = field(default_factory=dict)
    #: resources whose create/update/delete completed, and those that errored (``-json`` runs)
    completed: list[str] = field(default_factory=list)
    errored: list[str] = field(default_factory=list)

    @property
    def command(self) -> str:
        return next((a for a in self.argv[1:] if not a.startswith("-")), "")

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def error_line(self) -> str:
        """The first error (and how many others), else the last line of output."""
        errors = self.errors
        if errors:
            more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
            return errors[0].line + more
        lines = [_BOX.sub("", ln).strip() for ln in (self.stdout + "\n" + self.stderr).splitlines()]
        lines = [ln for ln in lines if ln]
        for ln in lines:
            if ln.startswith("Error:"):
                return ln
        return lines[-1] if lines else f"exit status {self.exit_code}"

    def errors_by_api(self) -> dict[str, int]:
        """How many errors each AWS call caused (``other`` when the message names none)."""
        return dict(Counter(d.api or "other" for d in self.errors))

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "stack": self.stack,
            "argv": shlex.join(self.argv),
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "changes": self.changes,
            "completed": len(self.completed),
            "errored": sorted(set(self.errored)),
            "diagnostics": [d.as_dict() for d in self.diagnostics],
        }


def _diagnostic(doc: Mapping[str, Any]) -> Diagnostic:
    return Diagnostic(
        severity=str(doc.get("severity", "error")),
        summary=str(doc.get("summary", "")).strip(),
        detail=str(doc.get("detail", "")).strip(),
        address=doc.get("address"),
    )


def _absorb(run: TerraformRun, event: Mapping[str, Any]) -> None:
    kind = event.get("type")
    if kind == "diagnostic" and isinstance(event.get("diagnostic"), dict):
        run.diagnostics.append(_diagnostic(event["diagnostic"]))
    elif kind == "change_summary" and isinstance(event.get("changes"), dict):
        run.changes = {k: int(v) for k, v in event["changes"].items() if isinstance(v, int)}
    elif kind in {"apply_complete", "apply_errored"}:
        hook = event.get("hook") or {}
        if hook.get("action") == "read":
            return
        address = str((hook.get("resource") or {}).get("addr", ""))
        (run.completed if kind == "apply_complete" else run.errored).append(address)


class TerraformRunner:
    """Runs terraform in the stacks of one workspace with nexuskit's environment."""

    def __init__(
        self,
        stacks_dir: Path,
        data_dir: Path,
        cli_config: Path,
        *,
        binary: str | None = None,
        env: Mapping[str, str] | None = None,
        log_file: Path | None = None,
    ) -> None:
        self.stacks_dir = stacks_dir
        self.data_dir = data_dir
        self.cli_config = cli_config
        self.binary = binary or require_terraform()
        self.base_env = dict(os.environ if env is None else env)
        self.log_file = log_file
        self.runs: list[TerraformRun] = []

    def environment(self, stack: str) -> dict[str, str]:
        env = {k: v for k, v in self.base_env.items() if k not in _OWN_VARIABLES}
        env.update(
            {
                "TF_CLI_CONFIG_FILE": str(self.cli_config),
                "TF_DATA_DIR": str(self.data_dir / stack),
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "CHECKPOINT_DISABLE": "1",
            }
        )
        return env

    def stack_dir(self, stack: str) -> Path:
        return self.stacks_dir / stack

    def run(
        self,
        stack: str,
        args: Sequence[str],
        *,
        ok: tuple[int, ...] = (0,),
        on_line: Line | None = None,
        what: str | None = None,
    ) -> TerraformRun:
        """``terraform -chdir=<stack> ARGS``; raises TerraformError unless the exit code is in ``ok``.

        With ``-json`` among ``args`` each event's message goes to ``on_line`` and the
        diagnostics are parsed; otherwise every output line goes to ``on_line``.
        """
        argv = [self.binary, f"-chdir={self.stack_dir(stack)}", *args]
        json_events = "-json" in args
        started = time.perf_counter()
        log.info("running %s", shlex.join(argv))
        run = TerraformRun(argv, stack, -1, 0.0)
        out: list[str] = []
        try:
            proc = subprocess.Popen(
                argv,
                env=self.environment(stack),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
        except FileNotFoundError:
            raise ToolMissingError(f"terraform is not installed ({self.binary} not found)") from None
        assert proc.stdout is not None and proc.stderr is not None
        for raw in proc.stdout:
            out.append(raw)
            text = raw.rstrip("\n")
            if json_events:
                try:
                    event = json.loads(text)
                except ValueError:
                    event = None
                if isinstance(event, dict):
                    _absorb(run, event)
                    text = str(event.get("@message", ""))
            if on_line is not None and text:
                on_line(text)
        stderr = proc.stderr.read()
        run.exit_code = proc.wait()
        run.seconds = time.perf_counter() - started
        run.stdout, run.stderr = "".join(out), stderr
        if not run.diagnostics:
            run.diagnostics = _text_diagnostics(run.stdout + "\n" + stderr)
        self.runs.append(run)
        self._log(run)
        if run.exit_code not in ok:
            label = what or f"terraform {run.command} ({stack})"
            hint = f"full output in {self.log_file}" if self.log_file else None
            raise TerraformError(f"{label} failed: {run.error_line()}", hint)
        return run

    def console(self, folder: Path, expression: str, args: Sequence[str] = ()) -> str:
        """``terraform console`` in ``folder`` (a module needing no provider): the expression's value."""
        argv = [self.binary, f"-chdir={folder}", "console", "-no-color", *args]
        started = time.perf_counter()
        proc = subprocess.run(
            argv,
            env=self.environment(folder.name),
            input=expression + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        run = TerraformRun(
            argv, folder.name, proc.returncode, time.perf_counter() - started, proc.stdout, proc.stderr
        )
        run.diagnostics = _text_diagnostics(proc.stdout + "\n" + proc.stderr)
        self.runs.append(run)
        self._log(run)
        if proc.returncode != 0:
            raise TerraformError(f"terraform console ({folder.name}) failed: {run.error_line()}")
        return proc.stdout.strip()

    def _log(self, run: TerraformRun) -> None:
        if self.log_file is None:
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "a", encoding="utf-8") as fh:
            fh.write(f"$ {shlex.join(run.argv)}\n")
            if "-json" in run.argv:
                for line in run.stdout.splitlines():
                    try:
                        message = json.loads(line).get("@message", line)
                    except (ValueError, AttributeError):
                        message = line
                    fh.write(f"{message}\n")
                for diag in run.diagnostics:
                    if diag.detail:
                        fh.write(f"  {diag.severity}: {diag.summary}\n    {diag.detail}\n")
            elif run.stdout:
                fh.write(run.stdout if run.stdout.endswith("\n") else run.stdout + "\n")
            if run.stderr:
                fh.write(run.stderr if run.stderr.endswith("\n") else run.stderr + "\n")
            fh.write(f"# exit status {run.exit_code} after {run.seconds:.1f} s\n\n")


def _text_diagnostics(output: str) -> list[Diagnostic]:
    """``Error:``/``Warning:`` blocks of terraform's human output; the detail is the block's
    first paragraph of prose (not the source snippet, not "This was checked by ...")."""
    found = []
    lines = [_BOX.sub("", ln).rstrip() for ln in output.splitlines()]
    starts = [i for i, ln in enumerate(lines) if ln.startswith(("Error: ", "Warning: "))]
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        severity, _, summary = lines[start].partition(": ")
        paragraphs: list[list[str]] = [[]]
        for line in lines[start + 1 : end]:
            if line.strip():
                paragraphs[-1].append(line.strip())
            elif paragraphs[-1]:
                paragraphs.append([])
        prose = [
            " ".join(p)
            for p in paragraphs
            if p
            and not p[0].startswith(("on ", "with ", "This was checked by"))
            and not any(ch in " ".join(p) for ch in "├│")
            and not p[0][:1].isdigit()
        ]
        found.append(Diagnostic(severity.lower(), summary.strip(), prose[0] if prose else ""))
    return found
