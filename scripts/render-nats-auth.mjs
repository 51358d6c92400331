#!/usr/bin/env node
// @ts-check
// Prints the nats-server `authorization` block for a deployment: one user per service, one per
// host agent and one per row's leaf node, each limited to its subjects
// (packages/eventstore/src/nats-permissions.ts; its build in dist is what runs here).
// infra/nats/auth.conf is this for docker-compose.yml (prefix '', agents row-a/net-a1 and
// row-b/cmp-b1). With --leaf <row>, the block of that row's leaf node instead: its agents' users
// (infra/nats/leaf-row-a.auth.conf).
//
//   node scripts/render-nats-auth.mjs --agent row-a/net-a1 --agent row-b/cmp-b1 > auth.conf
//   node scripts/render-nats-auth.mjs --prefix dev2 --agent row-a/net-a1 > auth.conf
//   node scripts/render-nats-auth.mjs --agent row-a/net-a1 --leaf row-a > leaf-row-a.auth.conf
//
// nats-server reads it with `include ./auth.conf` and every password from its environment
// (NATS_<USER>_PASSWORD, the names are in the file): restart it with those set
// (infra/nats/README.md).

import { parseArgs } from 'node:util';
import { renderLeafNodeAuthorization, renderNatsAuthorization } from '@ncp/eventstore';

const { values } = parseArgs({
  options: {
    prefix: { type: 'string', default: '' },
    agent: { type: 'string', multiple: true, default: [] },
    leaf: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write('usage: render-nats-auth.mjs [--prefix <NATS_PREFIX>] [--agent <row>/<host>]... [--leaf <row>]\n');
  process.exit(0);
}

const agents = values.agent.map((a) => {
  const [row, host, ...rest] = a.split('/');
  if (!row || !host || rest.length > 0) {
    process.stderr.write(`--agent expects <row>/<host>, got ${a}\n`);
    process.exit(2);
  }
  return { row, host };
});

try {
  const opts = { prefix: values.prefix, agents };
  process.stdout.write(values.leaf === undefined ? renderNatsAuthorization(opts) : renderLeafNodeAuthorization(opts, values.leaf));
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
