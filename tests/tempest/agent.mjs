// A bus-only agent for the Tempest harness: it registers (network and compute roles) and
// heartbeats exactly as ncp-agent does, through the same event store and KV bucket, but
// applies no desired state (no namespaces, bridges or daemons on this machine). Tempest's
// network API tests need an agent for DHCP scheduling, not a data plane (the e2e tier tests
// that).   node agent.mjs <nats url> <nats prefix>
import { Kvm } from '@nats-io/kv';
import { AGENT_AGGREGATE, AGENT_CONTEXT, AGENT_HEARTBEAT_BUCKET, EventRegistry, Naming, agentEventDefinitions, agentIdOf } from '@ncp/contracts';
import { AggregateRepository, JetStreamEventStore, connectNats } from '@ncp/eventstore';

const [natsUrl, prefix] = process.argv.slice(2);
if (!natsUrl || !prefix) {
  console.error('usage: agent.mjs <nats url> <nats prefix>');
  process.exit(2);
}
const row = 'row-t';
const host = 'tempest-net';
const agentId = agentIdOf(row, host);

const nc = await connectNats(natsUrl, `tempest-agent-${prefix}`);
const naming = new Naming({ prefix });
const store = new JetStreamEventStore(nc, naming, new EventRegistry(agentEventDefinitions));
const repo = new AggregateRepository(store, {
  context: AGENT_CONTEXT,
  aggregate: AGENT_AGGREGATE,
  initialState: () => null,
  evolve: (s) => s,
  decide: (c) => [c.event],
});
const meta = () => ({
  now: new Date().toISOString(),
  correlationId: `tempest-agent-${Date.now()}`,
  causationId: null,
  projectId: '',
  actor: `agent:${row}/${host}`,
  isAdmin: true,
});
await repo.execute(
  agentId,
  {
    type: 'Record',
    event: {
      type: 'AgentRegistered',
      data: {
        row,
        host,
        roles: ['network', 'compute'],
        tunnelIp: '192.0.2.10',
        physnets: {},
        version: 'tempest-bus-only',
        startedAt: new Date().toISOString(),
      },
    },
  },
  meta(),
);
const kv = await new Kvm(nc).create(naming.bucket(AGENT_HEARTBEAT_BUCKET), { history: 1 });
const beat = () => kv.put(`${row}.${host}`, JSON.stringify({ agentId, at: new Date().toISOString() }));
await beat();
const timer = setInterval(() => beat().catch((e) => console.error('heartbeat failed', e)), 5000);
console.log(`agent ${agentId} (${row}/${host}) registered; heartbeating`);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    clearInterval(timer);
    void nc.close().then(() => process.exit(0));
  });
}
