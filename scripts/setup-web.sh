#!/usr/bin/env bash
# Installs what the page and its tests need on a fresh machine: npm packages (from
# package-lock.json) and, with --browser, Debian's Chromium and chromedriver. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ "${1:-}" = "--browser" ] && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
  # Playwright's own browser download fails here; Debian's Chromium works (TOOLCHAIN.md).
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium chromium-driver
fi
