#!/usr/bin/env bash
# Installs what the client and dashboard tests (tests/clients.rs) need, idempotently:
# - Debian's chromium (the dashboard test drives it headless), when /usr/bin/chromium is missing;
# - the pinned Node packages of scripts/clients/package-lock.json (npm ci: TypeScript,
#   playwright-core, @types/node), then compiles the TypeScript client and bot to scripts/clients/dist.
set -euo pipefail
cd "$(dirname "$0")/clients"
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y --no-install-recommends chromium >/tmp/chromium-install.log 2>&1; then
    $sudo apt-get update >/dev/null
    $sudo apt-get install -y --no-install-recommends chromium >/tmp/chromium-install.log 2>&1 \
      || { cat /tmp/chromium-install.log >&2; echo "clients-setup: cannot install chromium" >&2; exit 1; }
  fi
fi
npm ci --no-audit --no-fund --loglevel=error
npx --no-install tsc -p .
echo "clients-setup: chromium $(${CHROMIUM:-/usr/bin/chromium} --version 2>/dev/null | awk '{print $2}'), node $(node --version), clients built"
