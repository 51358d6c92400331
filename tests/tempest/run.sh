#!/usr/bin/env bash
# Neutron conformance: runs Tempest 33's network API tests (tempest.api.network) against a
# stack of its own, the way neutron-server's gate runs them, and tears everything down.
#
#   tests/tempest/run.sh [--concurrency N] [--regex R] [--no-build] [--keep]
#
# What it starts, each with names of its own so it runs beside other stacks and tests:
#   - a real Keystone (Debian's python3-keystone: a database of its own on the same Postgres,
#     fernet tokens, on 127.0.0.1 only), bootstrapped with an admin, a `neutron` service user
#     (role `service`) and a catalog entry `network` -> the stack's gateway. Tempest makes a
#     project and users per test class in it (dynamic credentials);
#   - the stack (`npm run stack`) on free ports, with a fresh NATS prefix and database, with
#     authentication on: every service validates the Tempest users' tokens against Keystone;
#   - a bus-only agent (register + heartbeat, no data plane; tests/tempest/agent.mjs) with
#     the network role, so DHCP scheduling has an agent as in the gate. This suite tests
#     the API; the e2e tier tests the data plane;
#   - Tempest with tempest.conf rendered from tempest.conf.in: api_extensions is exactly
#     what GET /v2.0/extensions advertises, absent services are disabled.
# Then it prints the pass/fail/skip counts and every failure and skip with its reason, and
# exits non-zero when a failure is not listed in expected-failures.txt (or a listed one
# passes now). Prerequisites: Postgres and NATS as for `npm run stack` (DATABASE_URL is the
# server; this script picks the database name), and Debian's `tempest` and
# `python3-keystone` (installed here when missing and running as root).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tests/tempest"
PY=/usr/bin/python3   # Debian's Python, where tempest and keystone live

CONCURRENCY=2
REGEX='^tempest\.api\.network\.'
BUILD_ARGS=()
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --regex) REGEX="$2"; shift 2 ;;
    --no-build) BUILD_ARGS=(--no-build); shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

if ! command -v tempest >/dev/null || [ ! -x /usr/bin/keystone-wsgi-public ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "== installing tempest python3-keystone"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tempest python3-keystone
  else
    echo "missing Debian packages (run as root, or: sudo apt-get install tempest python3-keystone)" >&2
    exit 1
  fi
fi

SERVER_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
SERVER_URL="${SERVER_URL%/*}"
NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
RUN_ID="$(date +%s)$$"
PREFIX="tempest${RUN_ID}"
DATABASE="ncp_tempest_${RUN_ID}"
KEYSTONE_DATABASE="ncp_tempest_keystone_${RUN_ID}"
WORKDIR=$(mktemp -d /tmp/ncp-tempest.XXXXXX)
ADMIN_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

# Eleven free ports in a row for the stack (gateway at the base, services up to base + 10:
# security groups), then one for Keystone.
read -r PORT_BASE KEYSTONE_PORT < <("$PY" - <<'EOF'
import random, socket
def free(p):
    with socket.socket() as s:
        try:
            s.bind(('127.0.0.1', p)); return True
        except OSError:
            return False
while True:
    base = random.randrange(20000, 30000, 20)
    if all(free(base + i) for i in range(11)) and free(base + 11):
        print(base, base + 11); break
EOF
)
API="http://127.0.0.1:${PORT_BASE}"
KEYSTONE="http://127.0.0.1:${KEYSTONE_PORT}"

STACK_PID=""; KEYSTONE_PID=""; AGENT_PID=""
stop() {
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  stop "$AGENT_PID"; stop "$KEYSTONE_PID"; stop "$STACK_PID"
  (cd "$ROOT" && node "$HERE/drop-stack-data.mjs" "$SERVER_URL/postgres" "$DATABASE,$KEYSTONE_DATABASE" "$NATS_URL" "$PREFIX") ||
    echo "could not drop databases $DATABASE, $KEYSTONE_DATABASE / NATS prefix $PREFIX" >&2
  if [ "$KEEP" -eq 1 ]; then echo "kept $WORKDIR"; else rm -rf "$WORKDIR"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

render() { # template -> stdout, ${NAME} from the environment
  "$PY" -c 'import os, string, sys; sys.stdout.write(string.Template(open(sys.argv[1]).read()).substitute(os.environ))' "$1"
}
wait_for() { # url, seconds, pid that must stay alive, log
  for _ in $(seq 1 "$2"); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$3" 2>/dev/null || { echo "exited before $1 answered:" >&2; tail -30 "$4" >&2; return 1; }
    sleep 1
  done
  echo "$1 did not answer within $2 s" >&2; tail -30 "$4" >&2; return 1
}
json() { "$PY" -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

echo "== keystone on $KEYSTONE"
mkdir -p "$WORKDIR/keystone/fernet-keys" "$WORKDIR/keystone/fernet-receipts" "$WORKDIR/keystone/credential-keys"
(cd "$ROOT" && node "$HERE/drop-stack-data.mjs" --create "$SERVER_URL/postgres" "$KEYSTONE_DATABASE")
KEYSTONE_DATABASE_URL="$SERVER_URL/$KEYSTONE_DATABASE"
export WORKDIR KEYSTONE_DATABASE_URL
render "$HERE/keystone.conf.in" >"$WORKDIR/keystone/keystone.conf"
KS=(keystone-manage --config-file "$WORKDIR/keystone/keystone.conf")
{
  "${KS[@]}" db_sync
  "${KS[@]}" fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
  "${KS[@]}" credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
  "${KS[@]}" bootstrap --bootstrap-password "$ADMIN_PASSWORD" --bootstrap-region-id RegionOne \
    --bootstrap-admin-url "$KEYSTONE/v3" --bootstrap-public-url "$KEYSTONE/v3" --bootstrap-internal-url "$KEYSTONE/v3"
} >"$WORKDIR/keystone/manage.log" 2>&1
(OS_KEYSTONE_CONFIG_FILES="$WORKDIR/keystone/keystone.conf" exec setsid "$PY" "$ROOT/packages/testing/keystone_server.py" 127.0.0.1 "$KEYSTONE_PORT") \
  >"$WORKDIR/keystone/keystone.log" 2>&1 &
KEYSTONE_PID=$!
wait_for "$KEYSTONE/v3" 120 "$KEYSTONE_PID" "$WORKDIR/keystone/keystone.log"

STARTED=$(date +%s)
# The service user the stack validates tokens with (role `service`, as keystonemiddleware's user).
auth='{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": "'"$ADMIN_PASSWORD"'"}}},
  "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}'
TOKEN=$(curl -sf -D - -o /dev/null -H 'Content-Type: application/json' -d "$auth" "$KEYSTONE/v3/auth/tokens" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-subject-token" {print $2}')
ks() { curl -sf -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' "$@"; }
SERVICE_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
SERVICE_PROJECT_ID=$(ks -d '{"project": {"name": "service", "domain_id": "default"}}' "$KEYSTONE/v3/projects" | json "d['project']['id']")
SERVICE_ROLE_ID=$(ks -d '{"role": {"name": "service"}}' "$KEYSTONE/v3/roles" | json "d['role']['id']")
NEUTRON_USER_ID=$(ks -d '{"user": {"name": "neutron", "password": "'"$SERVICE_PASSWORD"'", "domain_id": "default"}}' "$KEYSTONE/v3/users" | json "d['user']['id']")
ks -X PUT "$KEYSTONE/v3/projects/$SERVICE_PROJECT_ID/users/$NEUTRON_USER_ID/roles/$SERVICE_ROLE_ID"

echo "== stack on $API (NATS prefix $PREFIX, database $DATABASE, Keystone tokens); logs in $WORKDIR"
(cd "$ROOT" && AUTH_STRATEGY=keystone KEYSTONE_URL="$KEYSTONE/v3" KEYSTONE_USERNAME=neutron KEYSTONE_PASSWORD="$SERVICE_PASSWORD" \
  KEYSTONE_PROJECT_NAME=service exec setsid node scripts/stack.mjs "${BUILD_ARGS[@]}" --port-base "$PORT_BASE" --nats-prefix "$PREFIX" \
  --nats-url "$NATS_URL" --database-url "$SERVER_URL/$DATABASE") >"$WORKDIR/stack.log" 2>&1 &
STACK_PID=$!
# /v2.0/extensions needs a token now; the gateway's health says whether every service answers
wait_for "$API/healthz" 900 "$STACK_PID" "$WORKDIR/stack.log"

# The catalog entry Tempest looks up: service type `network` at the gateway.
SERVICE_ID=$(curl -sf -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' -d '{"service": {"type": "network", "name": "neutron"}}' "$KEYSTONE/v3/services" | json "d['service']['id']")
curl -sf -o /dev/null -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
  -d '{"endpoint": {"service_id": "'"$SERVICE_ID"'", "interface": "public", "region_id": "RegionOne", "url": "'"$API"'"}}' "$KEYSTONE/v3/endpoints"

echo "== agent, public network, tempest.conf"
(cd "$ROOT" && exec setsid node "$HERE/agent.mjs" "$NATS_URL" "$PREFIX") >"$WORKDIR/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 1 60); do
  [ "$(curl -sf -H "X-Auth-Token: $TOKEN" "$API/v2.0/agents?agent_type=DHCP%20agent" | json "len([a for a in d['agents'] if a['alive']])")" -gt 0 ] && break
  kill -0 "$AGENT_PID" 2>/dev/null || { cat "$WORKDIR/agent.log" >&2; exit 1; }
  sleep 1
done
post() { curl -sf -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' -d "$2" "$API/v2.0/$1"; }
PUBLIC_NETWORK_ID=$(post networks '{"network": {"name": "public", "router:external": true}}' | json "d['network']['id']")
post subnets '{"subnet": {"name": "public-subnet", "network_id": "'"$PUBLIC_NETWORK_ID"'", "cidr": "172.24.4.0/24", "ip_version": 4, "enable_dhcp": false}}' >/dev/null
API_EXTENSIONS=$(curl -sf -H "X-Auth-Token: $TOKEN" "$API/v2.0/extensions" | json "','.join(sorted(e['alias'] for e in d['extensions']))")
export ADMIN_PASSWORD KEYSTONE_PORT PUBLIC_NETWORK_ID API_EXTENSIONS
mkdir -p "$WORKDIR/tempest"
(cd "$WORKDIR" && tempest init --workspace-path "$WORKDIR/workspace.yaml" "$WORKDIR/tempest" >/dev/null)
render "$HERE/tempest.conf.in" >"$WORKDIR/tempest/etc/tempest.conf"
READY=$(date +%s)

echo "== tempest run --regex '$REGEX' --concurrency $CONCURRENCY"
# upstream/ holds a sitecustomize that undoes a Debian-only 10 s sleep in delete_subnet.
(cd "$WORKDIR/tempest" && PYTHON="$PY" PYTHONPATH="$HERE/upstream" tempest run --regex "$REGEX" --concurrency "$CONCURRENCY") \
  >"$WORKDIR/tempest-run.log" 2>&1 || true
FINISHED=$(date +%s)
grep -E '^(Ran:| - (Passed|Skipped|Failed))' "$WORKDIR/tempest-run.log" || tail -20 "$WORKDIR/tempest-run.log"

echo "== results (set-up $((READY - STARTED)) s, tempest $((FINISHED - READY)) s)"
set +e
(cd "$WORKDIR/tempest" && stestr last --subunit) | "$PY" "$HERE/summary.py" "$HERE/expected-failures.txt"
status=$?
set -e
exit "$status"
