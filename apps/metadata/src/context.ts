import { createHmac } from 'node:crypto';
import { DESIRED_KINDS, dhcpEventDefinitions, ipamEventDefinitions, l3EventDefinitions, metaEventDefinitions } from '@ncp/contracts';
import { DesiredStatePublisher } from '@ncp/eventstore';
import { pathIdsOf } from '@ncp/nest-common';
import { defineService, type ServiceOf } from '@ncp/service-kit';
import { instanceDecider } from './domain/instance.decider';
import { REQUEST_SCHEMAS } from './api/bodies';
import { METADATA_EXTENSIONS } from './api/extensions';
import { DEFAULT_ZONE, InstancesController } from './api/instances.controller';
import { METADATA_LOGGER, METADATA_PRISMA, METADATA_SETTINGS, MetadataController, type MetadataSettings } from './api/metadata.controller';
import { instances } from './api/resources';
import { InstanceCommands } from './application/instances';
import { metadataConfig } from './config';
import { metadataProxyIntents, proxiesMayChange } from './desired-state/intents';
import { METADATA_SCHEMA, createPrisma } from './infrastructure/prisma';
import { MetadataProjection } from './projection/metadata.projection';

/** The metadata service, declared on the service kit. */
export const MetadataContext = defineService({
  name: 'metadata',
  context: 'meta',
  config: metadataConfig,
  database: { schema: METADATA_SCHEMA, connect: createPrisma },
  events: [...metaEventDefinitions, ...ipamEventDefinitions, ...l3EventDefinitions, ...dhcpEventDefinitions],
  histories: [instanceDecider],
  parts: ({ config, logger, naming, nc, prisma, store, project, publish }) => {
    const publisher = publish(new DesiredStatePublisher(nc, naming, [DESIRED_KINDS.metadata], () => metadataProxyIntents(prisma), logger));
    const projection = project(() => new MetadataProjection(naming), {
      // without the batch's events (another replica folded part of it), anything may have changed
      onAdvance: (_sequence, folded) => {
        if (folded === undefined || proxiesMayChange(naming, folded)) publisher.schedule();
      },
    });
    const settings: MetadataSettings = {
      sharedSecret: config.METADATA_PROXY_SHARED_SECRET,
      // a key of its own for tokens, derived: a token is never a valid proxy signature
      tokenKey: createHmac('sha256', config.METADATA_PROXY_SHARED_SECRET).update('imdsv2-session-token').digest('hex'),
      requireToken: config.METADATA_REQUIRE_TOKEN,
    };
    return { projection, instances: new InstanceCommands(store), publisher, settings };
  },
  http: {
    extensions: METADATA_EXTENSIONS,
    controllers: [InstancesController, MetadataController],
    provide: (s) => [
      [InstanceCommands, s.instances],
      [DEFAULT_ZONE, s.config.DEFAULT_AVAILABILITY_ZONE],
      [METADATA_PRISMA, s.prisma],
      [METADATA_SETTINGS, s.settings],
      [METADATA_LOGGER, s.logger],
    ],
    pathIds: pathIdsOf([instances]),
    // Instances carry no Keystone token: the metadata paths check the proxy's signature instead.
    publicPath: /^\/(openstack|latest|1\.0|\d{4}-\d{2}-\d{2})(\/|$)/,
    openapi: {
      title: 'ncp metadata',
      description:
        'Instances (beyond Neutron: the compute layer registers what runs behind a port, by device_id) and the instance metadata they read through the proxies in router and DHCP namespaces: /openstack/<version>/{meta_data.json,network_data.json,user_data,vendor_data.json,vendor_data2.json}, /latest/meta-data/..., /latest/user-data, PUT /latest/api/token (IMDSv2). Metadata requests must carry the instance id signed by a proxy (X-Instance-ID, X-Instance-ID-Signature: HMAC-SHA256 with METADATA_PROXY_SHARED_SECRET).',
      requests: { instances: ['instance', REQUEST_SCHEMAS.instance] },
    },
  },
});
export type MetadataContext = ServiceOf<typeof MetadataContext>;
