"""A scripted stand-in for the docker CLI (tests only).

Every call appends ``{"argv": [...], "stdin_bytes": N, "token_set": bool}`` to
``$FAKE_DOCKER_LOG`` (never the stdin itself: it carries the registry password).
``FAKE_DOCKER_INFO_EXIT`` sets the exit status of ``docker info`` (default 0).
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    entry = {
        "argv": argv,
        "stdin_bytes": len(stdin),
        "token_set": bool(os.environ.get("LOCALSTACK_AUTH_TOKEN")),
    }
    path = os.environ.get("FAKE_DOCKER_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
    if argv[:1] == ["info"]:
        code = int(os.environ.get("FAKE_DOCKER_INFO_EXIT", "0"))
        print("28.2.2" if code == 0 else "", end="\n" if code == 0 else "")
        if code:
            print("Cannot connect to the Docker daemon", file=sys.stderr)
        return code
    if argv[:2] == ["compose", "version"]:
        print("Docker Compose version v2.36.0 (fake)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
