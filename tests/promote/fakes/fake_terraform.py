"""A scripted stand-in for the terraform binary (tests only; never a real terraform).

Every call appends one JSON line ``{"argv": [...], "cwd": ..., "plan_sha256": ...}`` to
``$FAKE_TF_LOG``. Behaviour comes from environment variables:

FAKE_TF_INIT_EXIT       exit status of ``init`` with a backend (default 0)
FAKE_TF_VALIDATE_INIT_EXIT  exit status of ``init -backend=false`` (default 0)
FAKE_TF_DRIFT_EXIT      exit status of ``plan -refresh-only -detailed-exitcode`` (default 0)
FAKE_TF_POSTPLAN_EXIT   exit status of ``plan -detailed-exitcode`` without -out (default 0)
FAKE_TF_APPLY_EXIT      exit status of ``apply`` (default 0)
FAKE_TF_PLAN_CONTENT    bytes of the plan file ``plan -out`` writes (default: random, like
                        terraform, whose plan files differ on every run)
FAKE_TF_PLAN_JSON       file printed by ``show -json`` for the platform stack
FAKE_TF_PLAN_JSON_WORKLOADS  the same for the workloads stack (default: an empty plan)
FAKE_TF_OUTPUTS         file printed by ``output -json`` (default ``{}``)
FAKE_TF_VALIDATE_ERROR  ``validate -json`` reports this error (default: valid)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

EMPTY_PLAN = {"format_version": "1.2", "terraform_version": "1.11.4", "resource_changes": []}


def log(entry: dict[str, object]) -> None:
    path = os.environ.get("FAKE_TF_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")


def fail(code: int, message: str) -> int:
    if code:
        sys.stderr.write(f"\n│ Error: {message}\n│\n")
    return code


def main(argv: list[str]) -> int:
    entry: dict[str, object] = {"argv": argv, "cwd": os.getcwd()}
    args = list(argv)
    stack = ""
    if args and args[0].startswith("-chdir="):
        stack = Path(args.pop(0).removeprefix("-chdir=")).name
    command = args[0] if args else ""
    flags = set(args[1:])
    code = 0
    if command == "version":
        print("Terraform v1.11.4 (fake)")
    elif command == "init":
        variable = "FAKE_TF_VALIDATE_INIT_EXIT" if "-backend=false" in flags else "FAKE_TF_INIT_EXIT"
        code = fail(int(os.environ.get(variable, "0")), "fake init failure")
        if not code:
            print("Terraform has been successfully initialized!")
    elif command == "plan" and "-refresh-only" in flags:
        code = int(os.environ.get("FAKE_TF_DRIFT_EXIT", "0"))
        print("Objects have changed outside of Terraform" if code == 2 else "No changes.")
        code = fail(code, "fake drift check failure") if code not in (0, 2) else code
    elif command == "plan":
        out = next((a.removeprefix("-out=") for a in args if a.startswith("-out=")), None)
        if out:
            content = os.environ.get("FAKE_TF_PLAN_CONTENT")
            data = content.encode() if content is not None else os.urandom(64)
            Path(out).write_bytes(data)
            entry["plan_sha256"] = hashlib.sha256(data).hexdigest()
            print(f"Saved the plan to: {out}")
        else:
            code = int(os.environ.get("FAKE_TF_POSTPLAN_EXIT", "0"))
            print("No changes." if code == 0 else "Plan: 0 to add, 1 to change, 0 to destroy.")
    elif command == "show":
        plan_file = args[-1]
        entry["plan_sha256"] = hashlib.sha256(Path(plan_file).read_bytes()).hexdigest()
        source = os.environ.get(f"FAKE_TF_PLAN_JSON_{stack.upper()}") if stack == "workloads" else None
        source = source or (os.environ.get("FAKE_TF_PLAN_JSON") if stack != "workloads" else None)
        print(Path(source).read_text() if source else json.dumps(EMPTY_PLAN))
    elif command == "apply":
        plan_file = args[-1] if len(args) > 1 and not args[-1].startswith("-") else None
        if plan_file:
            entry["plan_sha256"] = hashlib.sha256(Path(plan_file).read_bytes()).hexdigest()
        code = fail(int(os.environ.get("FAKE_TF_APPLY_EXIT", "0")), "fake apply failure")
        if not code:
            print("Apply complete! Resources: 0 added, 0 changed, 0 destroyed.")
    elif command == "validate":
        error = os.environ.get("FAKE_TF_VALIDATE_ERROR")
        diagnostics = [{"severity": "error", "summary": error, "detail": ""}] if error else []
        print(json.dumps({"valid": not error, "error_count": len(diagnostics), "diagnostics": diagnostics}))
        code = 1 if error else 0
    elif command == "output":
        source = os.environ.get("FAKE_TF_OUTPUTS")
        print(Path(source).read_text() if source else "{}")
    else:
        code = fail(1, f"fake terraform does not know {command!r}")
    entry["stack"] = stack
    entry["exit"] = code
    log(entry)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
