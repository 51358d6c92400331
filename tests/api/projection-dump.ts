import { Client } from 'pg';

const IPAM_TABLES = [
  'address_scopes',
  'address_scope_claims',
  'subnet_pools',
  'subnet_pool_allocations',
  'segment_reservations',
  'default_subnet_pools',
  'networks',
  'subnets',
  'ports',
  'port_fixed_ips',
  'agents',
];

/** Every row of the IPAM projection, as text, in a stable order: for equality checks. */
export async function dumpIpamProjection(databaseUrl: string): Promise<Record<string, string[]>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const dump: Record<string, string[]> = {};
    for (const table of IPAM_TABLES) {
      const { rows } = await client.query<{ r: string }>(`SELECT row_to_json(t)::text AS r FROM ipam.${table} t ORDER BY 1`);
      dump[table] = rows.map((row) => row.r);
    }
    return dump;
  } finally {
    await client.end();
  }
}

/** Asks the running IPAM service to rebuild its projection from sequence 1. */
export async function rebuildIpamProjection(natsUrl: string, prefix: string): Promise<{ projections: { name: string; checkpoint: number }[] }> {
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: natsUrl.replace('nats://', '') });
  try {
    const reply = await nc.request(`${prefix}.admin.ipam.projection_rebuild`, '', { timeout: 120_000 });
    const body = JSON.parse(new TextDecoder().decode(reply.data)) as {
      result?: { projections: { name: string; checkpoint: number }[] };
      error?: { message: string };
    };
    if (!body.result) throw new Error(`rebuild failed: ${body.error?.message ?? 'no result'}`);
    return body.result;
  } finally {
    await nc.close();
  }
}
