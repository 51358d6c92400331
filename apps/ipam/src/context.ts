import {
  SG_PORT_GROUPS,
  agentEventDefinitions,
  ipamEventDefinitions,
  quotaEventDefinitions,
  usageEventDefinitions,
  type SgPortGroupsReply,
  usageDecider,
} from '@ncp/contracts';
import { CommandClient, QuotaUsage, SqlSnapshotStore } from '@ncp/eventstore';
import { AGENT_NOT_FOUND, pathIdsOf } from '@ncp/nest-common';
import { defineService, quotaDefaults, type ServiceOf } from '@ncp/service-kit';
import { z } from 'zod';
import { addressScopeDecider } from './domain/address-scope.decider';
import { bulkCreateDecider } from './domain/bulk-create.decider';
import { networkDecider } from './domain/network.decider';
import { registryDecider } from './domain/registry.decider';
import { quotaDecider } from './domain/quota.decider';
import { subnetPoolDecider } from './domain/subnet-pool.decider';
import { AddressScopeCommands } from './application/address-scope.commands';
import { BulkCreateCommands } from './application/bulk-create.commands';
import { FollowUps } from './application/follow-ups';
import { AggregateLookups } from './application/lookups';
import { NetworkCommands } from './application/network.commands';
import { RbacPolicyCommands } from './application/rbac-policy.commands';
import { OrphanSweeper } from './application/orphan-sweeper';
import { PortCommands, type SecurityGroupsResolver } from './application/port.commands';
import { SubnetCommands } from './application/subnet.commands';
import { SubnetPoolCommands } from './application/subnet-pool.commands';
import { QuotaCommands } from './application/quotas';
import { ipamUsageChanges } from './application/usage-changes';
import { IpamWriteModel } from './application/write-model';
import { QuotasController } from './api/quotas.controller';
import { QuotaProjection } from './projection/quota.projection';
import { AGENTS_READER, AgentsController, agentsReader } from './api/agents';
import { REQUEST_SCHEMAS, createNetworkInput, createPortInput, createSubnetInput, updatePortInput } from './api/bodies';
import { IPAM_EXTENSIONS } from './api/extensions';
import {
  AddressScopesController,
  NetworksController,
  PortsController,
  RbacPoliciesController,
  SubnetPoolsController,
  SubnetsController,
} from './api/ipam.controllers';
import { addressScopes, networks, ports, rbacPolicies, subnetPools, subnets } from './api/resources';
import { serviceOwnedBody } from './api/service-owned';
import { ipamConfig } from './config';
import { createPrisma, IPAM_SCHEMA } from './infrastructure/prisma';
import { IpamProjection } from './projection/ipam.projection';
import { AgentsProjection } from './projection/agents.projection';
import { AgentLiveness } from './desired-state/agent-liveness';
import { DesiredStatePublisher } from './desired-state/publisher';
import { portStatusFromAgentReports } from './desired-state/port-status.reaction';

/** The IPAM service, declared on the service kit. */
export const IpamContext = defineService({
  name: 'ipam',
  config: ipamConfig,
  database: { schema: IPAM_SCHEMA, connect: createPrisma },
  // the usage events of L3 and the security groups service too: the quota projection counts them
  events: [...ipamEventDefinitions, ...quotaEventDefinitions, ...usageEventDefinitions, ...agentEventDefinitions],
  histories: [networkDecider, subnetPoolDecider, addressScopeDecider, registryDecider, bulkCreateDecider, quotaDecider, usageDecider('ipam')],
  parts: (kit, deps: { securityGroups?: SecurityGroupsResolver }) => {
    const { config, logger, naming, nc, prisma, store, project, react, reactToAgentReports, watch, publish, commands, every } = kit;
    const model = new IpamWriteModel(
      store,
      new SqlSnapshotStore(prisma),
      {
        segments: {
          tenantNetworkType: config.TENANT_NETWORK_TYPE,
          vxlanRange: config.VXLAN_VNI_RANGE,
          vlanRanges: config.VLAN_RANGES,
          physicalNetworks: config.PHYSICAL_NETWORKS.split(',')
            .map((p) => p.trim())
            .filter((p) => p !== ''),
        },
        mtu: { physicalMtu: config.PHYSICAL_MTU, vxlanOverhead: 50 },
        macPrefix: config.MAC_PREFIX.toLowerCase(),
      },
      (subject, err) => logger.warn({ err, subject }, 'snapshot not saved'),
    );
    const projection = project(() => new IpamProjection(naming));
    const agentsProjection = project(() => new AgentsProjection(naming.eventsOfContext('agent')));
    const quotaProjection = project(() => new QuotaProjection(naming));
    const quotas = new QuotaCommands(store, prisma, quotaDefaults(config), () => quotaProjection.catchUp());
    const quota = new QuotaUsage(store, 'ipam', {
      limitOf: quotas.limitOf,
      items: prisma.quotaUsageItem,
      reservationSeconds: config.QUOTA_RESERVATION_SECONDS,
      onError: (err, msg) => logger.warn({ err }, msg),
    });
    const usageReaction = react(quota.reaction('ipam_quota_usage', naming.eventsOfContext('ipam'), ipamUsageChanges));
    every({ name: 'quota reservation sweep', seconds: Math.max(1, Math.floor(config.QUOTA_RESERVATION_SECONDS / 2)), run: () => quota.sweep(new Date()) });
    const lookups = new AggregateLookups(prisma);
    const followUps = new FollowUps(model, logger);
    const l3 = new CommandClient(nc, naming, 'l3', 'L3');
    const sg = new CommandClient(nc, naming, 'sg', 'Security groups');
    const portCommands = new PortCommands(
      model,
      lookups,
      deps.securityGroups ?? { portGroups: (input, meta) => sg.request<SgPortGroupsReply>(SG_PORT_GROUPS, input, meta) },
    );
    const networkCommands = new NetworkCommands(model, followUps, {
      deleteUnassociatedOn: (networkId, meta) => l3.request('delete_unassociated_floatingips', { network_id: networkId }, meta),
    });
    const subnetCommands = new SubnetCommands(model, lookups, followUps);
    const bulkCreates = new BulkCreateCommands(model, networkCommands, subnetCommands, portCommands, (s) => projection.waitFor(s), logger, quota);
    const liveness = watch(new AgentLiveness(nc, naming, prisma, model, config.AGENT_DOWN_SECONDS, logger));
    reactToAgentReports('ipam_port_status', portStatusFromAgentReports(model));
    // The desired state's fold of the stream (from its snapshot) runs in the background: the API never waits for it.
    const publisher = publish(new DesiredStatePublisher(store, naming, new SqlSnapshotStore(prisma), logger));
    commands({
      // The port commands other services need (L3's router ports), with the API's own
      // body parsing, so both paths accept exactly the same input.
      create_port: async (input, meta) => {
        // an HA router's HA port, like its network, is of no project
        const { body, noProject } = serviceOwnedBody(input, meta);
        const i = createPortInput({ port: body }, meta);
        const written = await portCommands.create(i.networkId, noProject ? '' : i.projectId, i.request, meta);
        return kit.api.show(ports, written, meta);
      },
      update_port: async (input, meta) => {
        const { id, ...changes } = input as { id: string };
        return kit.api.show(ports, await portCommands.update(id, updatePortInput({ port: changes }), undefined, meta), meta);
      },
      delete_port: async (input, meta) => {
        const { id, force } = input as { id: string; force?: boolean };
        await kit.api.settled(await portCommands.delete(id, meta, force === true));
        return { id };
      },
      // The networks and subnets L3 makes for HA routers ("HA network tenant <project>"),
      // parsed as the API's; `project_id: ''` (no project: only admins see them, as Neutron's)
      // is for a service alone (see serviceOwnedBody).
      create_network: async (input, meta) => {
        const { body, noProject } = serviceOwnedBody(input, meta);
        const i = createNetworkInput({ network: body }, meta);
        const written = await networkCommands.create(noProject ? { ...i, projectId: '' } : i, meta);
        return kit.api.show(networks, written, meta);
      },
      delete_network: async (input, meta) => {
        const { id } = z.object({ id: z.string().min(1) }).parse(input);
        await kit.api.settled(await networkCommands.delete(id, meta));
        return { id };
      },
      create_subnet: async (input, meta) => {
        const { body, noProject } = serviceOwnedBody(input, meta);
        const i = createSubnetInput({ subnet: body }, meta);
        const written = await subnetCommands.create(noProject ? { ...i, projectId: '' } : i, meta);
        return kit.api.show(subnets, written, meta);
      },
      delete_subnet: async (input, meta) => {
        const { id } = z.object({ id: z.string().min(1) }).parse(input);
        await kit.api.settled(await subnetCommands.delete(id, meta));
        return { id };
      },
    });
    const sweeper = new OrphanSweeper(prisma, model, followUps, config.ORPHAN_GRACE_SECONDS, logger, bulkCreates);
    every({ name: 'orphan sweep', seconds: Math.max(5, Math.floor(config.ORPHAN_GRACE_SECONDS / 2)), run: () => sweeper.sweep(new Date()) });
    return {
      model,
      projection,
      agentsProjection,
      networks: networkCommands,
      subnets: subnetCommands,
      ports: portCommands,
      subnetPools: new SubnetPoolCommands(model, followUps),
      addressScopes: new AddressScopeCommands(model),
      rbacPolicies: new RbacPolicyCommands(model, prisma),
      bulkCreates,
      sweeper,
      publisher,
      liveness,
      quotas,
      quota,
      quotaProjection,
      usageReaction,
    };
  },
  http: {
    extensions: IPAM_EXTENSIONS,
    controllers: [
      AgentsController,
      NetworksController,
      SubnetsController,
      PortsController,
      SubnetPoolsController,
      AddressScopesController,
      RbacPoliciesController,
      QuotasController,
    ],
    provide: (s) => [
      [AGENTS_READER, agentsReader(s.liveness)],
      [NetworkCommands, s.networks],
      [SubnetCommands, s.subnets],
      [PortCommands, s.ports],
      [SubnetPoolCommands, s.subnetPools],
      [AddressScopeCommands, s.addressScopes],
      [RbacPolicyCommands, s.rbacPolicies],
      [BulkCreateCommands, s.bulkCreates],
      [QuotaCommands, s.quotas],
      [QuotaUsage, s.quota],
    ],
    pathIds: pathIdsOf([networks, subnets, ports, subnetPools, addressScopes, rbacPolicies], { agents: AGENT_NOT_FOUND }),
    openapi: {
      title: 'ncp IPAM',
      description: 'Neutron v2.0 networks, subnets, ports, subnet pools, address scopes and the RBAC policies that share them.',
      requests: {
        networks: ['network', REQUEST_SCHEMAS.network],
        subnets: ['subnet', REQUEST_SCHEMAS.subnet],
        ports: ['port', REQUEST_SCHEMAS.port],
        subnetpools: ['subnetpool', REQUEST_SCHEMAS.subnetpool],
        'address-scopes': ['address_scope', REQUEST_SCHEMAS.address_scope],
        'rbac-policies': ['rbac_policy', REQUEST_SCHEMAS.rbac_policy],
      },
    },
    // After a restart the API answers as soon as it can: a write waits for its own event in the projection either way.
    serveWhileStarting: true,
  },
});
export type IpamContext = ServiceOf<typeof IpamContext>;
