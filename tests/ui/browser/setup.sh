#!/bin/sh
# Installs what the browser tests need (`make browser`, run by `make test`):
#   1. Debian's chromium at /usr/bin/chromium (apt-get, when we are root and have it);
#   2. playwright-core, pinned in package.json/package-lock.json, into node_modules.
# Prints one line and exits 0 when it cannot install: the browser tests then skip with
# the reason written to node_modules/.unavailable. On success it touches STAMP ($1).
set -u
cd "$(dirname "$0")" || exit 1
STAMP=${1:-node_modules/.installed}
CHROMIUM=/usr/bin/chromium

unavailable() {
    mkdir -p node_modules
    printf '%s\n' "$1" > node_modules/.unavailable
    echo "browser tests will skip: $1"
    exit 0
}

if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" != 0 ]; then
        unavailable "$CHROMIUM is missing and installing it needs root (apt-get install chromium)"
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        unavailable "$CHROMIUM is missing and there is no apt-get to install Debian's chromium"
    fi
    echo "installing Debian's chromium (apt-get) for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    apt_install() {
        apt-get install -y -qq --no-install-recommends chromium >/tmp/nexus-chromium-apt.log 2>&1
    }
    if ! apt_install; then
        apt-get update -qq >>/tmp/nexus-chromium-apt.log 2>&1
        apt_install || unavailable "apt-get install chromium failed (see /tmp/nexus-chromium-apt.log)"
    fi
    [ -x "$CHROMIUM" ] || unavailable "apt-get installed chromium but $CHROMIUM is missing"
fi

if ! command -v npm >/dev/null 2>&1; then
    unavailable "npm is missing: install Node.js and npm to drive chromium with playwright-core"
fi
if ! npm ci --no-audit --no-fund --loglevel=error >/tmp/nexus-playwright-npm.log 2>&1; then
    unavailable "npm ci of playwright-core failed (see /tmp/nexus-playwright-npm.log)"
fi
rm -f node_modules/.unavailable
touch "$STAMP"
echo "browser tests ready: $("$CHROMIUM" --version 2>/dev/null | head -n 1), playwright-core $(node -p 'require("playwright-core/package.json").version')"
