#!/usr/bin/env bash
# Installs what the tests need and runs every tier: lint, types, unit, integration
# (real Postgres and NATS), hostile input (generated requests against the whole stack),
# end to end (the whole stack, the real openstack CLI) and Neutron conformance (Tempest's
# network API tests against the stack with a real Keystone).
#
# Postgres and NATS: with a Docker engine the tests start them with testcontainers;
# without one they use DATABASE_URL / NATS_URL (defaults: the local services).
# Where CI=true, a missing prerequisite is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the scenarios drive (the data-plane tools join this list as they arrive).
DEBIAN_PACKAGES=(python3-openstackclient iproute2 iputils-ping nftables conntrack iputils-arping dnsmasq-base radvd isc-dhcp-client ndisc6 bird2 bird2 curl cloud-init python3-keystone tempest keepalived frr)
COMMANDS=(openstack ip ping nft conntrack arping dnsmasq radvd dhclient rdisc6 bird birdc curl cloud-init keystone-manage tempest keepalived vtysh)

missing=()
for i in "${!COMMANDS[@]}"; do
  command -v "${COMMANDS[$i]}" >/dev/null 2>&1 || missing+=("${DEBIAN_PACKAGES[$i]}")
done
# The tests' Keystone keeps its data in the tests' Postgres (sqlite locks under concurrent writes).
/usr/bin/python3 -c 'import psycopg2' 2>/dev/null || missing+=(python3-psycopg2)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

echo "== npm ci"
npm ci --no-audit --no-fund

# One task per CPU: turbo's default (10 at once) on a 2-core machine put the load near 20, and
# vitest's forks then missed their 60 s start deadline ("Failed to start forks worker").
# NCP_TEST_CONCURRENCY overrides it (e.g. on a machine shared with other jobs).
CONCURRENCY="${NCP_TEST_CONCURRENCY:-$(nproc 2>/dev/null || echo 2)}"

# Each tier says how long it took: CI has 30 minutes for all of them.
TIER_STARTED=$(date +%s)
tier() {
  local now; now=$(date +%s)
  [ -n "${TIER_NAME:-}" ] && echo "== ${TIER_NAME}: $((now - TIER_STARTED)) s"
  TIER_NAME="$1"; TIER_STARTED=$now
  echo "== $1"
}
trap '[ -n "${TIER_NAME:-}" ] && echo "== ${TIER_NAME}: $(( $(date +%s) - TIER_STARTED )) s"' EXIT

# The cross-service scenarios vitest selects with the arguments after the tier (files, or a
# suffix), run from tests/ without turbo, each line marked with the tier as turbo marks the
# packages' lines; pipefail gives vitest's status. scenarios_except: those of a suffix but the
# files named.
scenarios() {
  local tier=$1
  shift
  (cd tests && npx vitest run "$@" 2>&1 | sed -u "s/^/@ncp\/tests:test:${tier}: /")
}
scenarios_except() {
  local tier=$1 suffix=$2 excludes=()
  shift 2
  for f in "$@"; do excludes+=(--exclude "**/${f}"); done
  scenarios "$tier" "$suffix" "${excludes[@]}"
}

tier "formatting (prettier; npm run format fixes it)"
npx prettier --check . >/dev/null || { npx prettier --list-different .; echo "files above are not formatted: npm run format" >&2; exit 1; }

# lint and typecheck are one task each at the root, over every package at once (one program).
tier "build, lint, types, unit tests (${CONCURRENCY} tasks at a time)"
npx turbo run build lint typecheck test:unit --concurrency="${CONCURRENCY}"

tier "docker-compose.yml"
bash scripts/check-compose.sh

# Two lanes: the cross-service scenarios (the longest task by far, which turbo would start
# last) from the start; beside them every package's own integration tests, then the scenarios
# in SCENARIOS_BESIDE (taken off the first lane to even the two out), then the hostile tier.
# Everything is built by now: --only keeps turbo from restoring build outputs under processes
# that run from them.
SCENARIOS_BESIDE=(cli/netctl.int.spec.ts api/authentication.int.spec.ts api/crash-safety.int.spec.ts)
tier "integration tests (Postgres, NATS, the services as processes) and hostile input (generated requests against the whole stack; HOSTILE_SEED replays a run)"
scenarios_except int .int.spec.ts "${SCENARIOS_BESIDE[@]}" &
SCENARIOS_PID=$!
trap 'kill -TERM "$SCENARIOS_PID" 2>/dev/null || true' INT TERM
# The lane's output is kept: when it fails, what failed is printed again at the very end, after
# the scenarios' output (a CI report that keeps only the end of the output still shows it).
LANE_LOG=$(mktemp /tmp/ncp-lane-log.XXXXXX)
lane_status=0
if ! {
  npx turbo run test:int --filter='!@ncp/tests' --only --concurrency=1 &&
    scenarios int "${SCENARIOS_BESIDE[@]}" &&
    npx turbo run test:hostile --only --concurrency=1
} 2>&1 | tee "$LANE_LOG"; then
  lane_status=1
fi
scenarios_status=0
wait "$SCENARIOS_PID" || scenarios_status=$?
if [ "$lane_status" -ne 0 ]; then
  echo "== what failed in the packages' integration tests, the scenarios beside them and the hostile tier:"
  grep -a -E ' FAIL |×|AssertionError|Error:|hostile seed|ERR!|Failed:' "$LANE_LOG" | tail -n 60 || true
fi
rm -f "$LANE_LOG"
if [ "$lane_status" -ne 0 ] || [ "$scenarios_status" -ne 0 ]; then
  echo "integration tests of the scenarios exited ${scenarios_status}; of the packages, then the other scenarios and hostile input, ${lane_status}" >&2
  exit 1
fi

# Two lanes again. Tempest drives the API only (its agent has no data plane), so it runs beside
# the data-plane scenarios, which mostly wait on the kernel and their daemons; once it is done,
# its lane runs the scenarios in E2E_AFTER_TEMPEST (taken off the first lane to even the two
# out: measured on two machines of this kind, Tempest with its set-up 160 to 380 s, the
# scenarios 500 to 1,040 s one after another, these four 130 to 320 s of them). The second
# lane's output follows the first's. --only, as above: a build turbo ran or restored here would
# rewrite dist/ under the stack Tempest is starting from it (seen: L3 exiting on a half-written
# module); the scenarios run vitest directly for the same reason.
E2E_AFTER_TEMPEST=(dataplane/l3-nat.e2e.spec.ts dataplane/l2-rows.e2e.spec.ts dataplane/bgp-learn.e2e.spec.ts dataplane/ha-failover.e2e.spec.ts)
tier "end-to-end tests (the whole stack and the openstack CLI), beside Neutron conformance (Tempest's network API tests; a real Keystone, dynamic credentials)"
SECOND_LANE_LOG=$(mktemp /tmp/ncp-e2e-lane-log.XXXXXX)
(
  tempest=0
  bash tests/tempest/run.sh --no-build || tempest=$?
  echo "== Tempest exited ${tempest}; the scenarios after it:"
  after_tempest=0
  scenarios e2e "${E2E_AFTER_TEMPEST[@]}" || after_tempest=$?
  echo "== the scenarios after Tempest exited ${after_tempest}"
  [ "$tempest" -eq 0 ] && [ "$after_tempest" -eq 0 ]
) >"$SECOND_LANE_LOG" 2>&1 &
SECOND_LANE_PID=$!
trap 'kill -TERM "$SECOND_LANE_PID" 2>/dev/null || true' INT TERM
e2e_status=0
scenarios_except e2e .e2e.spec.ts "${E2E_AFTER_TEMPEST[@]}" || e2e_status=$?
second_lane_status=0
wait "$SECOND_LANE_PID" || second_lane_status=$?
echo "== Tempest, then the scenarios after it (exit ${second_lane_status}):"
cat "$SECOND_LANE_LOG"
rm -f "$SECOND_LANE_LOG"
if [ "$e2e_status" -ne 0 ] || [ "$second_lane_status" -ne 0 ]; then
  echo "end-to-end tests exited ${e2e_status}; Tempest and the scenarios after it ${second_lane_status}" >&2
  exit 1
fi
