#!/usr/bin/env bash
# Install the Debian packages the integration tests use: PostgreSQL (checkpoints) and Chromium
# (the HTML run report). Needs root; does nothing when they are already installed.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: run as root to install ${need[*]} (tests that need them are skipped otherwise)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# the Debian package starts a cluster on install in some images; tests run their own
service postgresql stop >/dev/null 2>&1 || true
echo "installed: ${need[*]}"
