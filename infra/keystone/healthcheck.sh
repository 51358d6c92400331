#!/usr/bin/env bash
# Healthy = Keystone answers GET /v3 with 200 on the given port (default 5000). Plain bash
# (/dev/tcp), so a probe starts no Python. The port opens only once the entrypoint has
# bootstrapped and seeded everything, so an answer is all it takes.
#
#   keystone-healthcheck [port]
set -euo pipefail
port="${1:-5000}"
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET /v3 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
IFS= read -r -t 5 status <&3
[[ "$status" == HTTP/1.?" 200 "* ]]
