"""Running external commands for the promotion: one trail of every command, one log file.

Every command goes through :class:`CommandRunner`, which keeps the ``trail`` (argv lists,
in order; the pipeline slices it per step) and appends the command and its output to a
log file. Output is captured, never streamed: the step result quotes the one line that
matters (a terraform ``Error:`` line, the last line otherwise) and points at the log.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nexuskit.errors import PromotionError, ToolMissingError

log = logging.getLogger(__name__)

_BOX = re.compile(r"^[\s│╷╵|]+")


@dataclass(frozen=True)
class CommandResult:
    """What one command did."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def display(self) -> str:
        return shlex.join(self.argv)

    def error_line(self, prefer_error: bool = True) -> str:
        """The line that explains the outcome: terraform's first ``Error:``, else the last line."""
        lines = [_BOX.sub("", line).strip() for line in (self.stdout + "\n" + self.stderr).splitlines()]
        lines = [line for line in lines if line]
        for line in lines if prefer_error else ():
            if line.startswith("Error:"):
                return line
        return lines[-1] if lines else f"exit status {self.returncode}"


class CommandRunner:
    """Runs commands in the repository root with a shared environment and log."""

    def __init__(
        self, root: Path, env: Mapping[str, str] | None = None, log_file: Path | None = None
    ) -> None:
        self.root = root
        self.env = dict(os.environ if env is None else env)
        self.log_file = log_file
        self.trail: list[list[str]] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        input_text: str | None = None,
        timeout: float | None = None,
        secret_input: bool = False,
        log_stdout: bool = True,
    ) -> CommandResult:
        """Run ``argv`` (looked up on PATH) and return its result; never raises on exit status.

        A command that is not installed raises :class:`ToolMissingError` in one line.
        """
        argv = [str(a) for a in argv]
        self.trail.append(argv)
        log.info("running %s", shlex.join(argv))
        try:
            proc = subprocess.run(
                argv,
                cwd=self.root,
                env=self.env,
                input=input_text,
                stdin=None if input_text is not None else subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise ToolMissingError(f"{argv[0]} is not installed (not on PATH)") from None
        except subprocess.TimeoutExpired:
            raise PromotionError(f"{shlex.join(argv)} did not finish within {timeout:.0f} s") from None
        result = CommandResult(tuple(argv), proc.returncode, proc.stdout or "", proc.stderr or "")
        self._log(result, "<secret>" if secret_input and input_text else None, log_stdout)
        return result

    def _log(self, result: CommandResult, note: str | None, log_stdout: bool) -> None:
        if self.log_file is None:
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "a", encoding="utf-8") as fh:
            fh.write(f"$ {result.display}{'  # stdin: ' + note if note else ''}\n")
            if result.stdout and not log_stdout:
                fh.write(f"({len(result.stdout)} characters of output, not logged)\n")
            elif result.stdout:
                fh.write(result.stdout if result.stdout.endswith("\n") else result.stdout + "\n")
            if result.stderr:
                fh.write(result.stderr if result.stderr.endswith("\n") else result.stderr + "\n")
            fh.write(f"# exit status {result.returncode}\n\n")
