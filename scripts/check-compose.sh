#!/usr/bin/env bash
# Validates docker-compose.yml without building or running anything (for CI):
# `docker compose config -q`. Needs no Docker engine, only a Compose implementation:
# the docker CLI's compose plugin (v2), else the standalone docker-compose (1.29 from
# Debian validates the same file). Where neither is there, as root with apt-get it installs
# Debian's docker-compose (without the recommended docker.io engine); otherwise a missing
# Compose is a failure, never a skip.
#
#   npm run compose:check
set -euo pipefail
cd "$(dirname "$0")/.."

find_compose() {
  if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
  else
    return 1
  fi
}

if ! find_compose; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "compose:check: installing docker-compose (Debian) to validate the file"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
  fi
  if ! find_compose; then
    echo "compose:check: no Compose found: neither the docker CLI's compose plugin nor docker-compose" >&2
    echo "  Debian/Ubuntu: apt-get install --no-install-recommends docker-compose" >&2
    exit 1
  fi
fi

version="$("${compose[@]}" version 2>/dev/null || true)"
echo "${version%%$'\n'*}"
"${compose[@]}" -f docker-compose.yml config -q
echo "docker-compose.yml is valid (${compose[*]} config -q)"
"${compose[@]}" -f docker-compose.yml -f docker-compose.ha.yml config -q
echo "docker-compose.yml with docker-compose.ha.yml (the clustered stack) is valid"
