#!/usr/bin/env bash
# Run checkov over terraform/ with the repository's .checkov.yaml, offline.
#
# checkov lives in its own virtualenv (.checkov-venv at the repository root): it pins a
# fork of the hcl2 parser that clashes with python-hcl2 8, which the project's tests use.
# The virtualenv is created on first use (~20 s, ~290 MB from PyPI).
#
# Usage: terraform/scripts/checkov.sh [extra checkov arguments]
#        terraform/scripts/checkov.sh --install-only   (create the virtualenv; `make test` does)
# Exit status: checkov's (0 when every check passes or is skipped in .checkov.yaml).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${CHECKOV_VENV:-$root/.checkov-venv}"
python="${PYTHON:-python3}"
spec='checkov>=3.3,<4'

if [[ ! -x "$venv/bin/checkov" ]]; then
  echo "checkov.sh: creating $venv with $spec" >&2
  "$python" -m venv "$venv"
  # uv (UV: its path; `make` passes the one in .venv) installs in seconds; else pip
  if ! { [[ -x "${UV:-}" ]] && "$UV" pip install --quiet --python "$venv/bin/python" "$spec" >&2; }; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >&2
  fi
fi
if [[ "${1:-}" == "--install-only" ]]; then
  exit 0
fi

cd "$root"
# No telemetry, no calls to Prisma Cloud: the scan must run on machines without network.
export BC_SKIP_MAPPING=TRUE
export CHECKOV_EXPERIMENTAL_IMAGE_REFERENCING=False
exec "$venv/bin/checkov" -d terraform --config-file .checkov.yaml --compact --quiet "$@"
