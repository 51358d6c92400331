import {
  RBAC_WILDCARD,
  legacyAttributeEntryId,
  type AgentEvent,
  type FixedIp,
  type IpamEventOf,
  type L3Event,
  type NetworkEvent,
  type RbacAction,
  type RecordedEvent,
} from '@ncp/contracts';

/**
 * The facts other services copy from IPAM (networks, subnets, ports), from the agents and
 * from L3 (routers, their interfaces, floating IPs), folded into rows by one pure reducer.
 *
 * Order independence. A mirror row is not the last event applied to it but a merge of
 * everything known about it, in a state kept per row (a join: merging the same events in any
 * order, any number of times, in any batches, gives the same state):
 * - every field carries the stream sequence of the event that set it, and a later sequence
 *   wins (last writer wins); an event merged twice sets the same value at the same sequence;
 * - a row is born at the sequence of its latest creation and dies at its latest deletion: it
 *   exists while it was born after it last died. A deletion is a tombstone, so a creation
 *   merged after a later deletion (reversed order) stays dead, and a row created again (a
 *   port re-attached to a router) lives again. Fields from before the latest birth are from
 *   an earlier life and are not shown;
 * - a port's fixed IPs are the list its creation or latest update set, plus the addresses a
 *   later subnet gave it automatically (SubnetCreated's autoAddresses): not a read-modify-write
 *   of the stored list, which would depend on the order.
 * Deleting a network deletes the subnets and ports its event names. A router is deleted only
 * without interfaces (L3 refuses RouterInUse), so its deletion names nothing else.
 */

export type MirrorTable = 'network' | 'subnet' | 'port' | 'networkRbac' | 'agent' | 'router' | 'routerInterface' | 'floatingIp';

export interface NetworkRow {
  id: string;
  projectId: string;
  name: string;
  mtu: number;
  external: boolean;
  shared: boolean;
  networkType: string;
  physicalNetwork: string | null;
}
export interface SubnetRow {
  id: string;
  networkId: string;
  projectId: string;
  ipVersion: number;
  cidr: string;
  gatewayIp: string | null;
  enableDhcp: boolean;
  ipv6RaMode: string | null;
  ipv6AddressMode: string | null;
  dnsNameservers: string[];
  hostRoutes: { destination: string; nexthop: string }[];
  addressScopeId: string | null;
}
export interface PortRow {
  id: string;
  networkId: string;
  projectId: string;
  macAddress: string;
  adminStateUp: boolean;
  deviceOwner: string;
  deviceId: string;
  bindingHostId: string;
  bindingProfile: Record<string, unknown>;
  fixedIps: FixedIp[];
  extraDhcpOpts: unknown[];
  /** false: the port is neither filtered nor checked for spoofing */
  portSecurityEnabled: boolean;
  /** the security groups that filter the port */
  securityGroups: string[];
  /** what the port may send from besides its own MAC and fixed IPs (an address or a CIDR, with a MAC) */
  allowedAddressPairs: { ipAddress: string; macAddress: string }[];
  /** The actor that created the port (L3 tells its own ports by it). */
  createdBy: string;
  /** When the port was created (ISO 8601). */
  createdAt: string;
}
/** An RBAC entry of a network (access_as_shared, access_as_external), to a project or `*`. */
export interface NetworkRbacRow {
  id: string;
  networkId: string;
  action: string;
  targetProject: string;
}
/** Keyed by host: an agent registered again on its host under another row replaces the old one. */
export interface AgentRow {
  id: string;
  row: string;
  host: string;
  roles: string[];
  tunnelIp: string;
  physnets: Record<string, string>;
}
export interface RouterRow {
  id: string;
  gatewayNetworkId: string | null;
  gatewayFixedIps: FixedIp[];
  host: string | null;
  row: string | null;
}
export interface RouterInterfaceRow {
  portId: string;
  routerId: string;
  networkId: string;
  fixedIps: FixedIp[];
}
export interface FloatingIpRow {
  id: string;
  floatingNetworkId: string;
  floatingIpAddress: string;
  portId: string | null;
  fixedIpAddress: string | null;
  routerId: string | null;
}

export interface MirrorRows {
  network: NetworkRow;
  subnet: SubnetRow;
  port: PortRow;
  networkRbac: NetworkRbacRow;
  agent: AgentRow;
  router: RouterRow;
  routerInterface: RouterInterfaceRow;
  floatingIp: FloatingIpRow;
}

/**
 * A row of one table, or that the row is not there: `id` is the row's key in its table (the
 * port of a router interface, the host of an agent).
 */
export type MirrorOp = { [T in MirrorTable]: { table: T; op: 'upsert'; row: MirrorRows[T] } | { table: T; op: 'delete'; id: string } }[MirrorTable];

interface Stamped {
  value: unknown;
  seq: number;
}
interface AppendedIp extends FixedIp {
  seq: number;
}
/** All that is known of one row; stored as JSON between batches. */
export interface RowState {
  born: number | null;
  died: number | null;
  fields: Record<string, Stamped>;
  /** Ports only: addresses subnets created later gave the port. */
  appended: AppendedIp[];
}

type Change =
  | { kind: 'create'; fields: Record<string, unknown> }
  | { kind: 'set'; fields: Record<string, unknown> }
  | { kind: 'delete' }
  | { kind: 'appendFixedIp'; fixedIp: FixedIp };

/** What one event says about which rows, keyed `table:id`. */
export interface RowChange {
  key: string;
  change: Change;
}

export const rowKey = (table: MirrorTable, id: string): string => `${table}:${id}`;

function parseKey(key: string): { table: MirrorTable; id: string } {
  const at = key.indexOf(':');
  return { table: key.slice(0, at) as MirrorTable, id: key.slice(at + 1) };
}

/** The entries of `changes` named in `keys` that are there. */
function pick(changes: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => changes[k] !== undefined).map((k) => [k, changes[k]]));
}

const NETWORK_UPDATABLE = ['name', 'mtu', 'external', 'shared'];
const SUBNET_UPDATABLE = ['gatewayIp', 'enableDhcp', 'dnsNameservers', 'hostRoutes'];
const PORT_UPDATABLE = [
  'macAddress',
  'adminStateUp',
  'deviceOwner',
  'deviceId',
  'bindingHostId',
  'bindingProfile',
  'fixedIps',
  'extraDhcpOpts',
  'portSecurityEnabled',
  'securityGroups',
  'allowedAddressPairs',
];

/**
 * The wildcard entries `shared` and `router:external` make: the id the event names, or for an
 * event written before RBAC, the one derived from the network (as IPAM's decider derives it).
 */
function attributeEntry(networkId: string, action: RbacAction, on: boolean | undefined, id: string | undefined): RowChange[] {
  if (on !== true) return [];
  const fields = { networkId, action, targetProject: RBAC_WILDCARD };
  return [{ key: rowKey('networkRbac', id ?? legacyAttributeEntryId(networkId, action)), change: { kind: 'create', fields } }];
}

/** The entries an update took away: named by the event, or for an event written before RBAC, the derived ones. */
function removedEntries(networkId: string, d: IpamEventOf<'NetworkUpdated'>['data']): RowChange[] {
  const legacy = [
    ...(d.changes.shared === false ? [legacyAttributeEntryId(networkId, 'access_as_shared')] : []),
    ...(d.changes.external === false ? [legacyAttributeEntryId(networkId, 'access_as_external')] : []),
  ];
  return (d.removedPolicyIds ?? legacy).map((id) => ({ key: rowKey('networkRbac', id), change: { kind: 'delete' } }));
}

function networkChanges(networkId: string, event: NetworkEvent, actor: string, at: string): RowChange[] {
  switch (event.type) {
    case 'NetworkCreated': {
      const d = event.data;
      const fields = {
        projectId: d.projectId,
        name: d.name,
        mtu: d.mtu,
        external: d.external,
        shared: d.shared,
        networkType: d.segment.networkType,
        physicalNetwork: d.segment.physicalNetwork,
      };
      return [
        { key: rowKey('network', networkId), change: { kind: 'create', fields } },
        ...attributeEntry(networkId, 'access_as_shared', d.shared, d.sharedPolicyId),
        ...attributeEntry(networkId, 'access_as_external', d.external, d.externalPolicyId),
      ];
    }
    case 'NetworkUpdated': {
      const d = event.data;
      return [
        { key: rowKey('network', networkId), change: { kind: 'set', fields: pick(d.changes, NETWORK_UPDATABLE) } },
        ...removedEntries(networkId, d),
        ...attributeEntry(networkId, 'access_as_shared', d.changes.shared, d.sharedPolicyId),
        ...attributeEntry(networkId, 'access_as_external', d.changes.external, d.externalPolicyId),
      ];
    }
    case 'RbacPolicyCreated': {
      const d = event.data;
      return [{ key: rowKey('networkRbac', d.policyId), change: { kind: 'create', fields: { networkId, action: d.action, targetProject: d.targetProject } } }];
    }
    case 'RbacPolicyUpdated':
      return [{ key: rowKey('networkRbac', event.data.policyId), change: { kind: 'set', fields: { targetProject: event.data.targetProject } } }];
    case 'RbacPolicyDeleted':
      return [{ key: rowKey('networkRbac', event.data.policyId), change: { kind: 'delete' } }];
    case 'NetworkDeleted':
      return [
        rowKey('network', networkId),
        ...event.data.subnets.map((s) => rowKey('subnet', s.subnetId)),
        ...event.data.portIds.map((p) => rowKey('port', p)),
        ...(event.data.rbacPolicyIds ?? [legacyAttributeEntryId(networkId, 'access_as_shared'), legacyAttributeEntryId(networkId, 'access_as_external')]).map(
          (id) => rowKey('networkRbac', id),
        ),
      ].map((key) => ({
        key,
        change: { kind: 'delete' },
      }));
    case 'SubnetCreated': {
      const d = event.data;
      const fields = {
        networkId,
        projectId: d.projectId,
        ipVersion: d.ipVersion,
        cidr: d.cidr,
        gatewayIp: d.gatewayIp,
        enableDhcp: d.enableDhcp,
        ipv6RaMode: d.ipv6RaMode,
        ipv6AddressMode: d.ipv6AddressMode,
        dnsNameservers: d.dnsNameservers,
        hostRoutes: d.hostRoutes,
        addressScopeId: d.addressScopeId,
      };
      return [
        { key: rowKey('subnet', d.subnetId), change: { kind: 'create', fields } },
        ...d.autoAddresses.map((a): RowChange => ({
          key: rowKey('port', a.portId),
          change: { kind: 'appendFixedIp', fixedIp: { subnetId: d.subnetId, ipAddress: a.ipAddress } },
        })),
      ];
    }
    case 'SubnetUpdated':
      return [{ key: rowKey('subnet', event.data.subnetId), change: { kind: 'set', fields: pick(event.data.changes, SUBNET_UPDATABLE) } }];
    case 'SubnetDeleted':
      return [{ key: rowKey('subnet', event.data.subnetId), change: { kind: 'delete' } }];
    case 'PortCreated': {
      const d = event.data;
      const fields = { networkId, projectId: d.projectId, ...pick(d, PORT_UPDATABLE), createdBy: actor, createdAt: at };
      return [{ key: rowKey('port', d.portId), change: { kind: 'create', fields } }];
    }
    case 'PortUpdated':
      return [{ key: rowKey('port', event.data.portId), change: { kind: 'set', fields: pick(event.data.changes, PORT_UPDATABLE) } }];
    case 'PortDeleted':
      return [{ key: rowKey('port', event.data.portId), change: { kind: 'delete' } }];
    default:
      return [];
  }
}

function l3Changes(id: string, event: L3Event): RowChange[] {
  const router = rowKey('router', id);
  const floatingIp = rowKey('floatingIp', id);
  switch (event.type) {
    case 'RouterCreated': {
      const gateway = event.data.gateway;
      return [
        {
          key: router,
          change: { kind: 'create', fields: { gatewayNetworkId: gateway?.networkId ?? null, gatewayFixedIps: gateway?.fixedIps ?? [], host: null, row: null } },
        },
      ];
    }
    case 'RouterGatewaySet':
      return [{ key: router, change: { kind: 'set', fields: { gatewayNetworkId: event.data.networkId, gatewayFixedIps: event.data.fixedIps } } }];
    case 'RouterGatewayCleared':
      return [{ key: router, change: { kind: 'set', fields: { gatewayNetworkId: null, gatewayFixedIps: [] } } }];
    case 'RouterScheduled':
      return [{ key: router, change: { kind: 'set', fields: { host: event.data.host, row: event.data.row } } }];
    case 'RouterDeleted':
      return [{ key: router, change: { kind: 'delete' } }];
    case 'RouterInterfaceAdded': {
      const fields = { routerId: id, networkId: event.data.networkId, fixedIps: event.data.fixedIps };
      return [{ key: rowKey('routerInterface', event.data.portId), change: { kind: 'create', fields } }];
    }
    case 'RouterInterfaceRemoved':
      return [{ key: rowKey('routerInterface', event.data.portId), change: { kind: 'delete' } }];
    case 'FloatingIpCreated': {
      const fields = {
        floatingNetworkId: event.data.floatingNetworkId,
        floatingIpAddress: event.data.floatingIpAddress,
        portId: null,
        fixedIpAddress: null,
        routerId: null,
      };
      return [{ key: floatingIp, change: { kind: 'create', fields } }];
    }
    case 'FloatingIpAssociated':
      return [
        {
          key: floatingIp,
          change: { kind: 'set', fields: { portId: event.data.portId, fixedIpAddress: event.data.fixedIpAddress, routerId: event.data.routerId } },
        },
      ];
    case 'FloatingIpDisassociated':
      return [{ key: floatingIp, change: { kind: 'set', fields: { portId: null, fixedIpAddress: null, routerId: null } } }];
    case 'FloatingIpDeleted':
      return [{ key: floatingIp, change: { kind: 'delete' } }];
    default:
      return [];
  }
}

function agentChanges(agentId: string, event: AgentEvent): RowChange[] {
  if (event.type !== 'AgentRegistered') return [];
  const d = event.data;
  return [
    {
      key: rowKey('agent', d.host),
      change: { kind: 'create', fields: { id: agentId, row: d.row, roles: d.roles, tunnelIp: d.tunnelIp, physnets: d.physnets } },
    },
  ];
}

/** The aggregates whose events the mirror folds. */
const MIRRORED_AGGREGATES: readonly string[] = ['network', 'agent', 'router', 'floatingip'];
export const isMirrored = (aggregate: string): boolean => MIRRORED_AGGREGATES.includes(aggregate);

/** What a recorded event says about mirror rows (nothing for events of other aggregates). */
export function rowChanges(recorded: RecordedEvent): RowChange[] {
  const e = recorded.envelope;
  const event = { type: e.type, data: e.data };
  switch (e.aggregate) {
    case 'network':
      return networkChanges(e.aggregateId, event as NetworkEvent, e.actor, e.occurredAt);
    case 'agent':
      return agentChanges(e.aggregateId, event as AgentEvent);
    case 'router':
    case 'floatingip':
      return l3Changes(e.aggregateId, event as L3Event);
    default:
      return [];
  }
}

const emptyState = (): RowState => ({ born: null, died: null, fields: {}, appended: [] });
const later = (a: number | null, b: number): number => (a === null || b > a ? b : a);

/** Merges one change of the event at `seq` into a row's state (the state is not changed). */
export function mergeChange(state: RowState | undefined, change: Change, seq: number): RowState {
  const s = state ?? emptyState();
  switch (change.kind) {
    case 'create':
    case 'set': {
      const fields = { ...s.fields };
      for (const [name, value] of Object.entries(change.fields)) {
        const held = fields[name];
        if (held === undefined || seq > held.seq) fields[name] = { value, seq };
      }
      return { ...s, fields, born: change.kind === 'create' ? later(s.born, seq) : s.born };
    }
    case 'delete':
      return { ...s, died: later(s.died, seq) };
    case 'appendFixedIp': {
      const same = (a: AppendedIp) => a.seq === seq && a.subnetId === change.fixedIp.subnetId && a.ipAddress === change.fixedIp.ipAddress;
      if (s.appended.some(same)) return s;
      const appended = [...s.appended, { ...change.fixedIp, seq }].sort((a, b) => a.seq - b.seq || a.subnetId.localeCompare(b.subnetId));
      return { ...s, appended };
    }
  }
}

/** Folds events into the states of the rows they touch; `states` is not changed. */
export function foldEvents(states: ReadonlyMap<string, RowState>, events: readonly RecordedEvent[]): Map<string, RowState> {
  const next = new Map(states);
  for (const recorded of events) {
    for (const { key, change } of rowChanges(recorded)) next.set(key, mergeChange(next.get(key), change, recorded.sequence));
  }
  return next;
}

/** The row a state stands for, or null while it is not there (never created, or deleted). */
export function rowOf(key: string, state: RowState): MirrorOp {
  const { table, id } = parseKey(key);
  const born = state.born;
  if (born === null || (state.died !== null && state.died >= born)) return { table, op: 'delete', id };
  // fields set before the latest birth belong to an earlier life of the row
  const values = Object.fromEntries(
    Object.entries(state.fields)
      .filter(([, f]) => f.seq >= born)
      .map(([name, f]) => [name, f.value]),
  );
  if (table === 'agent') return { table, op: 'upsert', row: { ...values, host: id } as unknown as AgentRow };
  if (table === 'port') {
    const base = state.fields.fixedIps;
    const since = Math.max(born, base?.seq ?? born);
    const appended = state.appended.filter((a) => a.seq > since).map(({ subnetId, ipAddress }) => ({ subnetId, ipAddress }));
    return { table, op: 'upsert', row: { ...values, id, fixedIps: [...((values.fixedIps as FixedIp[] | undefined) ?? []), ...appended] } as PortRow };
  }
  if (table === 'routerInterface') return { table, op: 'upsert', row: { ...values, portId: id } as unknown as RouterInterfaceRow };
  return { table, op: 'upsert', row: { ...values, id } } as MirrorOp;
}

/** The row operations that bring the tables to the states of `keys`. */
export function rowOps(states: ReadonlyMap<string, RowState>, keys: Iterable<string>): MirrorOp[] {
  const ops: MirrorOp[] = [];
  for (const key of keys) {
    const state = states.get(key);
    if (state) ops.push(rowOf(key, state));
  }
  return ops;
}
