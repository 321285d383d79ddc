"""Starts a local Glue job script, and ends it if the engine that started it dies.

``python nexuskit_glue_launcher.py SCRIPT ARGS...`` runs SCRIPT as ``__main__`` with
``sys.argv == [SCRIPT, ARGS...]``, as Glue does. A daemon thread watches the parent
process: when the engine is gone (even killed with SIGKILL, when it cannot clean up), the
job's process group is killed, so no job outlives its engine.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading
import time


def _watch(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os.killpg(os.getpgrp(), signal.SIGKILL)


def main() -> None:
    threading.Thread(target=_watch, args=(os.getppid(),), name="engine-watch", daemon=True).start()
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
