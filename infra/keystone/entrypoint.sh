#!/usr/bin/env bash
# Keystone for the compose dev stack: prepares everything, then runs the public API
# (keystone-wsgi-public, as tests/tempest/run.sh runs it) in the foreground.
#
# Every start, idempotently:
#   1. db_sync (creates the sqlite database, or upgrades it with a newer image);
#   2. fernet_setup and credential_setup, the first time only (keys in the volume);
#   3. bootstrap: the admin user and project, the roles admin > member > reader, the region
#      and the identity endpoints (also resets the admin password and the endpoint URLs to
#      the environment's);
#   4. seed.py: the service project, the neutron user (role service), the `network` catalog
#      entry and the demo tenants;
#   5. exec keystone-wsgi-public on KEYSTONE_LISTEN_HOST:KEYSTONE_LISTEN_PORT.
# So the public port opens only once everything is in place: the healthcheck needs no more.
#
# Environment (docker-compose.yml sets them, with dev defaults):
#   KEYSTONE_ADMIN_PASSWORD      the admin user's password (project admin)
#   KEYSTONE_NEUTRON_PASSWORD    the neutron service user's (the services' KEYSTONE_PASSWORD)
#   KEYSTONE_DEMO_PASSWORD, KEYSTONE_ALT_DEMO_PASSWORD
#                                users demo and alt_demo (member of projects of the same
#                                names); unset or empty: not created
#   KEYSTONE_PUBLIC_URL          the identity URL clients use (e.g. http://127.0.0.1:5000/v3)
#   KEYSTONE_INTERNAL_URL        the one other containers use (default: the public one)
#   NETWORK_PUBLIC_URL           the gateway as clients reach it (e.g. http://127.0.0.1:9696)
#   NETWORK_INTERNAL_URL         the gateway as containers reach it (optional)
#   KEYSTONE_REGION              default RegionOne
#   KEYSTONE_DATA_DIR            default /var/lib/keystone (must match keystone.conf)
#   KEYSTONE_CONFIG_FILE         default /etc/keystone/keystone.conf
#   KEYSTONE_LISTEN_HOST/PORT    default 0.0.0.0 / 5000
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
SEED="$HERE/seed.py"
CONF="${KEYSTONE_CONFIG_FILE:-/etc/keystone/keystone.conf}"
DATA="${KEYSTONE_DATA_DIR:-/var/lib/keystone}"
LISTEN_HOST="${KEYSTONE_LISTEN_HOST:-0.0.0.0}"
LISTEN_PORT="${KEYSTONE_LISTEN_PORT:-5000}"
REGION="${KEYSTONE_REGION:-RegionOne}"

log() { echo "keystone-entrypoint: $*" >&2; }
for name in KEYSTONE_ADMIN_PASSWORD KEYSTONE_NEUTRON_PASSWORD KEYSTONE_PUBLIC_URL NETWORK_PUBLIC_URL; do
  if [ -z "${!name:-}" ]; then
    log "$name is not set"
    exit 1
  fi
done
INTERNAL_URL="${KEYSTONE_INTERNAL_URL:-$KEYSTONE_PUBLIC_URL}"

# keystone-wsgi-public reads its configuration from here; keystone-manage from --config-file.
export OS_KEYSTONE_CONFIG_FILES="$CONF"
KS=(keystone-manage --config-file "$CONF")
OWNER=(--keystone-user "$(id -un)" --keystone-group "$(id -gn)")

mkdir -p "$DATA"
log "db_sync"
"${KS[@]}" db_sync
if [ ! -e "$DATA/fernet-keys/0" ]; then
  log "fernet_setup (first start)"
  "${KS[@]}" fernet_setup "${OWNER[@]}"
fi
if [ ! -e "$DATA/credential-keys/0" ]; then
  log "credential_setup (first start)"
  "${KS[@]}" credential_setup "${OWNER[@]}"
fi
log "bootstrap (admin, region $REGION, identity at $KEYSTONE_PUBLIC_URL)"
# The password through the environment, not argv (ps would show it).
OS_BOOTSTRAP_PASSWORD="$KEYSTONE_ADMIN_PASSWORD" "${KS[@]}" bootstrap \
  --bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
  --bootstrap-service-name keystone --bootstrap-region-id "$REGION" \
  --bootstrap-public-url "$KEYSTONE_PUBLIC_URL" --bootstrap-internal-url "$INTERNAL_URL" \
  --bootstrap-admin-url "$INTERNAL_URL"

log "seed (service project, neutron user, network endpoints, demo tenants)"
# Debian's Python, where Keystone lives (not whatever python3 comes first in PATH).
KEYSTONE_REGION="$REGION" /usr/bin/python3 "$SEED" --config-file "$CONF"

log "starting the API on $LISTEN_HOST:$LISTEN_PORT (clients: $KEYSTONE_PUBLIC_URL, region $REGION)"
exec keystone-wsgi-public --host "$LISTEN_HOST" --port "$LISTEN_PORT"
