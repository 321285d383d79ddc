"""Headless Chromium for nexus-ui: Debian's /usr/bin/chromium driven by playwright-core.

``make browser`` (a step of ``make test``) installs both (tests/ui/browser/setup.sh);
when it could not, it wrote why to ``node_modules/.unavailable`` and the browser tests
skip with that reason. :class:`Browser` runs ``drive.mjs`` once and sends it one command
per line, so every test of a module shares one browser and one signed-in page.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.processes import end_by_closing_stdin

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_DIR = Path(__file__).resolve().parent / "browser"
REPO = Path(__file__).resolve().parents[2]
#: where the browser tests leave one screenshot per view (git-ignored; CI keeps test-results/)
SCREENSHOTS = REPO / "test-results" / "ui-screenshots"


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run, or None when they can."""
    recorded = BROWSER_DIR / "node_modules" / ".unavailable"
    if recorded.exists():
        return recorded.read_text().strip() + " (see `make browser`)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed: run `make browser` (apt-get install chromium)"
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed: run `make browser` (npm ci in tests/ui/browser)"
    if shutil.which("node") is None:
        return "node is not installed"
    return None


class BrowserError(AssertionError):
    """A browser command failed (the message has playwright's call log)."""


class Browser:
    """One Chromium with named pages; ``page`` defaults to the first one, ``main``.

    The driver logs each command, and every 10 s of a wait what the page shows, to
    ``log`` (default ``test-results/ui-screenshots/driver.log``). A command interrupted
    (say by pytest's timeout) leaves the driver busy: the session is then closed and
    every later command fails at once, naming the interrupted one.
    """

    def __init__(self, log: Path = SCREENSHOTS / "driver.log") -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.broken: str | None = None
        log.write_text("")
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by close())
        self.proc = subprocess.Popen(
            ["node", str(BROWSER_DIR / "drive.mjs")],
            cwd=BROWSER_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "NEXUS_UI_DRIVER_LOG": str(log)},
        )

    def _log_tail(self) -> str:
        try:
            return "".join(self.log.read_text().splitlines(keepends=True)[-15:])
        except OSError:
            return ""

    def call(self, op: str, **args: Any) -> Any:
        if self.broken:
            raise BrowserError(f"the browser session was broken by an earlier command: {self.broken}")
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BaseException:
            self.broken = f"{op} {args} was interrupted; the page showed:\n{self._log_tail()}"
            self.proc.kill()
            raise
        if not line:
            self.proc.wait()
            self._stderr.seek(0)
            self.broken = f"the browser driver exited ({self.proc.returncode}): {self._stderr.read()[-2000:]}"
            raise BrowserError(self.broken)
        answer = json.loads(line)
        if not answer["ok"]:
            raise BrowserError(f"{op} {args}: {answer['error'][-3000:]}")
        return answer["value"]

    def close(self) -> None:
        end_by_closing_stdin(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    # -- what a user does -------------------------------------------------------------------
    def goto(self, url: str, page: str = "main") -> None:
        self.call("goto", url=url, page=page)

    def fill(self, selector: str, value: str | int, page: str = "main") -> None:
        self.call("fill", selector=selector, value=value, page=page)

    def click(self, selector: str, page: str = "main") -> None:
        self.call("click", selector=selector, page=page)

    def select(self, selector: str, value: str, page: str = "main") -> None:
        self.call("select", selector=selector, value=value, page=page)

    def wait(self, selector: str, state: str = "visible", page: str = "main") -> None:
        """Until ``selector`` reaches ``state`` (visible, hidden, attached, detached)."""
        self.call("wait", selector=selector, state=state, page=page)

    def wait_for(self, expression: str, arg: Any = None, page: str = "main") -> Any:
        """Until the JS function ``expression(arg)`` returns something truthy; that value."""
        return self.call("wait_for", expression=expression, arg=arg, page=page)

    def text(self, selector: str, page: str = "main") -> str:
        return str(self.call("text", selector=selector, page=page) or "")

    def texts(self, selector: str, page: str = "main") -> list[str]:
        return [str(t) for t in self.call("texts", selector=selector, page=page)]

    def visible(self, selector: str, page: str = "main") -> bool:
        return bool(self.call("visible", selector=selector, page=page))

    def eval(self, expression: str, arg: Any = None, page: str = "main") -> Any:
        """The value of the JS function ``expression`` called in the page with ``arg``."""
        return self.call("eval", expression=expression, arg=arg, page=page)

    def screenshot(self, path: Path, page: str = "main") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.call("screenshot", path=str(path), page=page)
        return path

    def errors(self, page: str = "main") -> list[str]:
        """Page errors and console errors since the last call."""
        return [str(e) for e in self.call("errors", page=page)]

    def measure(self, url: str) -> dict[str, Any]:
        """One cold load of ``url`` in a fresh context: paint timings and every response's bytes."""
        result: dict[str, Any] = self.call("measure", url=url)
        return result
