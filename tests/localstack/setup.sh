#!/bin/sh
# Installs LocalStack's own command-line tools for tests/localstack (`make localstack-tools`,
# run by `make test`) into their own virtualenv, .localstack-tools-venv at the repository
# root: awscli-local (`awslocal`, over the AWS CLI v1) and terraform-local (`tflocal`).
#
# Not in .venv: the AWS CLI v1 is built against one exact botocore release, which would
# replace the project's boto3/botocore (and change moto's behaviour with them).
#
# Prints one line and exits 0 when it cannot install: the tests then skip with the reason
# written to $VENV/.unavailable. On success it touches STAMP ($1, default $VENV/.installed).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
VENV=${LOCALSTACK_TOOLS_VENV:-$root/.localstack-tools-venv}
STAMP=${1:-$VENV/.installed}
PYTHON=${PYTHON:-python3}
LOG=/tmp/nexus-localstack-tools-pip.log
# Pinned together: the AWS CLI v1 with the botocore it runs on, and LocalStack's wrappers.
SPECS="awscli==1.46.3 botocore==1.44.8 boto3==1.44.8 awscli-local==0.23.0 terraform-local==0.27.0"

unavailable() {
    mkdir -p "$VENV"
    printf '%s\n' "$1" > "$VENV/.unavailable"
    echo "localstack tool tests will skip: $1"
    exit 0
}

command -v "$PYTHON" >/dev/null 2>&1 || unavailable "$PYTHON is missing: it is needed to create $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV" >"$LOG" 2>&1 || unavailable "$PYTHON -m venv $VENV failed (see $LOG)"
fi
# uv (UV: its path; `make` passes the one in .venv) installs in seconds; else pip
# shellcheck disable=SC2086  # SPECS is a list of words
if [ -n "${UV:-}" ] && [ -x "$UV" ] && "$UV" pip install --quiet --python "$VENV/bin/python" $SPECS >>"$LOG" 2>&1; then
    :
elif ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --retries 2 --timeout 30 $SPECS >>"$LOG" 2>&1; then
    unavailable "pip install $SPECS failed, PyPI unreachable? (see $LOG)"
fi
for tool in awslocal tflocal aws; do
    [ -x "$VENV/bin/$tool" ] || unavailable "pip installed $SPECS but $VENV/bin/$tool is missing"
done
rm -f "$VENV/.unavailable"
touch "$STAMP"
echo "localstack tools ready in $VENV: $SPECS"
