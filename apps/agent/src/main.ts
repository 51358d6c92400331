#!/usr/bin/env node
import { EventRegistry, Naming, agentEventDefinitions } from '@ncp/contracts';
import { HelperRunner } from '@ncp/dataplane';
import { JetStreamEventStore, connectNats } from '@ncp/eventstore';
import { createLogger, stopOnSignals } from '@ncp/nest-common';
import { HostAgent } from './agent';
import { parseAgentConfig } from './config';

async function main(): Promise<void> {
  const config = parseAgentConfig(process.argv.slice(2));
  const logger = createLogger('agent', config.logLevel).child({ row: config.row, host: config.host });
  const nc = await connectNats(config.natsUrl, `agent-${config.row}-${config.host}`, {
    user: config.natsUser ?? undefined,
    password: config.natsPassword ?? undefined,
  });
  const store = new JetStreamEventStore(nc, new Naming({ prefix: config.natsPrefix }), new EventRegistry(agentEventDefinitions), {
    domain: config.natsDomain ?? undefined,
  });
  // commands start from a small helper process: a fork of the agent costs more the more it holds
  const agent = new HostAgent(config, nc, store, new HelperRunner(), logger);
  await agent.start();
  logger.info({ agentId: agent.agentId, netns: config.hostNetns ?? '(root)' }, 'agent started');
  // The data plane stays as it is: workloads keep forwarding while the agent is away.
  stopOnSignals(
    logger,
    () => agent.stop(),
    () => nc.drain(),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
