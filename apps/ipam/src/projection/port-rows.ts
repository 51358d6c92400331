import { type IpamEvent, type RecordedEvent } from '@ncp/contracts';
import { type IpamTx } from '../infrastructure/prisma';

/**
 * Ports are most of IPAM's events (a rebuild of a busy cloud is mostly PortCreated and
 * PortUpdated), so a run of consecutive port events is folded in memory and written
 * set-wise: a handful of statements per run instead of one to three per event.
 */

/** A row of table `ports`, keyed by column name as `to_jsonb` gives it and `jsonb_populate_recordset` takes it. */
export interface PortRow {
  id: string;
  network_id: string;
  project_id: string;
  network_project_id: string;
  name: string;
  description: string;
  admin_state_up: boolean;
  mac_address: string;
  device_owner: string;
  device_id: string;
  binding_host_id: string;
  binding_profile: unknown;
  binding_vnic_type: string;
  port_security_enabled: boolean;
  security_groups: string[] | null;
  allowed_address_pairs: unknown;
  extra_dhcp_opts: unknown;
  status: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
}

/** Every column but `id`: what an UPDATE of a whole row sets. */
export const PORT_COLUMNS = [
  'network_id',
  'project_id',
  'network_project_id',
  'name',
  'description',
  'admin_state_up',
  'mac_address',
  'device_owner',
  'device_id',
  'binding_host_id',
  'binding_profile',
  'binding_vnic_type',
  'port_security_enabled',
  'security_groups',
  'allowed_address_pairs',
  'extra_dhcp_opts',
  'status',
  'revision_number',
  'created_at',
  'updated_at',
] as const satisfies readonly Exclude<keyof PortRow, 'id'>[];

type PortEvent = Extract<IpamEvent, { type: 'PortCreated' | 'PortUpdated' | 'PortStatusChanged' | 'PortDeleted' }>;
export type PortRecordedEvent = RecordedEvent<PortEvent>;
/** PortUpdated's changes are built from the same attributes (contracts' portMutableAttributes). */
type PortAttribute = Exclude<keyof Extract<PortEvent, { type: 'PortCreated' }>['data'], 'portId' | 'projectId' | 'fixedIps'>;

/** The column of each port attribute the events carry (the type makes a new attribute a compile error here). */
const PORT_ATTRIBUTE_COLUMN = {
  name: 'name',
  description: 'description',
  adminStateUp: 'admin_state_up',
  macAddress: 'mac_address',
  deviceOwner: 'device_owner',
  deviceId: 'device_id',
  bindingHostId: 'binding_host_id',
  bindingProfile: 'binding_profile',
  bindingVnicType: 'binding_vnic_type',
  portSecurityEnabled: 'port_security_enabled',
  securityGroups: 'security_groups',
  allowedAddressPairs: 'allowed_address_pairs',
  extraDhcpOpts: 'extra_dhcp_opts',
  status: 'status',
} as const satisfies Record<PortAttribute, Exclude<keyof PortRow, 'id'>>;

export interface PortFixedIpRow {
  port_id: string;
  subnet_id: string;
  ip_address: string;
  position: number;
}

const PORT_EVENT_TYPES: ReadonlySet<string> = new Set<PortEvent['type']>(['PortCreated', 'PortUpdated', 'PortStatusChanged', 'PortDeleted']);

export function isPortEvent(e: RecordedEvent): e is PortRecordedEvent {
  return PORT_EVENT_TYPES.has(e.envelope.type);
}

const portIdOf = (e: PortRecordedEvent): string => e.envelope.data.portId;

/** The ports a run needs from the tables before it can be folded. */
export function portRunReads(run: readonly PortRecordedEvent[]): { portIds: string[]; networkIds: string[] } {
  const seen = new Set<string>();
  const portIds = new Set<string>();
  const networkIds = new Set<string>();
  for (const e of run) {
    const id = portIdOf(e);
    // A port the run creates before it touches it comes from its event, not the table.
    if (!seen.has(id) && e.envelope.type !== 'PortCreated') portIds.add(id);
    seen.add(id);
    if (e.envelope.type === 'PortCreated') networkIds.add(e.envelope.aggregateId);
  }
  return { portIds: [...portIds], networkIds: [...networkIds] };
}

/** What a run leaves in the tables: the statements to send, in this order. */
export interface PortRunWrites {
  /**
   * Ports of the tables the run deleted or gave new fixed IPs: their fixed IPs go first,
   * explicitly rather than by the foreign key's cascade.
   */
  readonly clearFixedIpsOf: string[];
  readonly deletePorts: string[];
  /** Whole rows of ports that were in the tables and still are. */
  readonly updateRows: PortRow[];
  readonly insertRows: PortRow[];
  readonly insertFixedIps: PortFixedIpRow[];
}

interface PortFold {
  row: PortRow | null;
  readonly inTables: boolean;
  /** Set when the run gave the port a new list of fixed IPs (or created it). */
  fixedIps: PortFixedIpRow[] | null;
}

const fixedIpRows = (portId: string, fixedIps: readonly { subnetId: string; ipAddress: string }[]): PortFixedIpRow[] =>
  fixedIps.map((f, position) => ({ port_id: portId, subnet_id: f.subnetId, ip_address: f.ipAddress, position }));

function withAttributes(row: PortRow, attributes: Partial<Record<PortAttribute, unknown>>): PortRow {
  const next: Record<string, unknown> = { ...row };
  for (const [attribute, column] of Object.entries(PORT_ATTRIBUTE_COLUMN)) {
    const value = attributes[attribute as PortAttribute];
    if (value !== undefined) next[column] = value;
  }
  return next as unknown as PortRow;
}

/**
 * Folds a run of port events over the rows they start from. The result equals applying the
 * events one at a time; an event on a port that does not exist is refused, as a row update
 * would be.
 */
export function foldPortRun(
  run: readonly PortRecordedEvent[],
  existing: ReadonlyMap<string, PortRow>,
  networkProjects: ReadonlyMap<string, string>,
): PortRunWrites {
  const ports = new Map<string, PortFold>();
  const current = (id: string): PortFold => {
    let fold = ports.get(id);
    if (!fold) {
      const row = existing.get(id) ?? null;
      fold = { row, inTables: row !== null, fixedIps: null };
      ports.set(id, fold);
    }
    return fold;
  };
  for (const recorded of run) {
    const e = recorded.envelope;
    const id = portIdOf(recorded);
    const at = new Date(e.occurredAt).toISOString();
    const fold = current(id);
    const event = { type: e.type, data: e.data } as PortEvent;
    if (event.type === 'PortCreated') {
      if (fold.row !== null) throw new Error(`#${recorded.sequence} PortCreated: port ${id} already exists`);
      const networkProjectId = networkProjects.get(e.aggregateId);
      if (networkProjectId === undefined) throw new Error(`#${recorded.sequence} PortCreated: network ${e.aggregateId} not in the projection`);
      const { portId, projectId, fixedIps, ...attributes } = event.data;
      fold.row = withAttributes(
        {
          id: portId,
          network_id: e.aggregateId,
          project_id: projectId,
          network_project_id: networkProjectId,
          revision_number: 1,
          created_at: at,
          updated_at: at,
        } as PortRow,
        attributes,
      );
      fold.fixedIps = fixedIpRows(portId, fixedIps);
      continue;
    }
    const row = fold.row;
    if (row === null) throw new Error(`#${recorded.sequence} ${event.type}: port ${id} not in the projection`);
    const touched = { revision_number: row.revision_number + 1, updated_at: at };
    switch (event.type) {
      case 'PortUpdated': {
        const { fixedIps, ...attributes } = event.data.changes;
        fold.row = { ...withAttributes(row, attributes), ...touched };
        if (fixedIps !== undefined) fold.fixedIps = fixedIpRows(id, fixedIps);
        break;
      }
      case 'PortStatusChanged':
        fold.row = { ...row, status: event.data.status, ...touched };
        break;
      case 'PortDeleted':
        fold.row = null;
        fold.fixedIps = [];
        break;
      default: {
        const _exhaustive: never = event;
        return _exhaustive;
      }
    }
  }
  const writes: PortRunWrites = { clearFixedIpsOf: [], deletePorts: [], updateRows: [], insertRows: [], insertFixedIps: [] };
  for (const [id, fold] of ports) {
    if (fold.inTables && fold.fixedIps !== null) writes.clearFixedIpsOf.push(id);
    if (fold.row === null) {
      if (fold.inTables) writes.deletePorts.push(id);
      continue;
    }
    (fold.inTables ? writes.updateRows : writes.insertRows).push(fold.row);
    if (fold.fixedIps !== null) writes.insertFixedIps.push(...fold.fixedIps);
  }
  return writes;
}

const UPDATE_SET = PORT_COLUMNS.map((c) => `"${c}" = r."${c}"`).join(', ');

/** Reads what a run needs, folds it, and writes the result: at most seven statements. */
export async function applyPortRun(tx: IpamTx, run: readonly PortRecordedEvent[]): Promise<void> {
  const reads = portRunReads(run);
  const existing = new Map<string, PortRow>();
  if (reads.portIds.length > 0) {
    const rows = await tx.$queryRaw<{ row: PortRow }[]>`SELECT to_jsonb(p) AS row FROM ports p WHERE p.id = ANY(${reads.portIds}::text[])`;
    for (const { row } of rows) existing.set(row.id, row);
  }
  const networkProjects = new Map<string, string>();
  if (reads.networkIds.length > 0) {
    const rows = await tx.$queryRaw<{ id: string; project_id: string }[]>`SELECT id, project_id FROM networks WHERE id = ANY(${reads.networkIds}::text[])`;
    for (const n of rows) networkProjects.set(n.id, n.project_id);
  }
  const w = foldPortRun(run, existing, networkProjects);
  if (w.clearFixedIpsOf.length > 0) await tx.$executeRaw`DELETE FROM port_fixed_ips WHERE port_id = ANY(${w.clearFixedIpsOf}::text[])`;
  if (w.deletePorts.length > 0) await tx.$executeRaw`DELETE FROM ports WHERE id = ANY(${w.deletePorts}::text[])`;
  if (w.updateRows.length > 0) {
    // UPDATE_SET is built from the constant column list; the rows go as one parameter.
    await tx.$executeRawUnsafe(
      `UPDATE ports p SET ${UPDATE_SET} FROM jsonb_populate_recordset(NULL::ports, $1::jsonb) r WHERE p.id = r.id`,
      JSON.stringify(w.updateRows),
    );
  }
  if (w.insertRows.length > 0)
    await tx.$executeRaw`INSERT INTO ports SELECT * FROM jsonb_populate_recordset(NULL::ports, ${JSON.stringify(w.insertRows)}::jsonb)`;
  if (w.insertFixedIps.length > 0) {
    await tx.$executeRaw`INSERT INTO port_fixed_ips (port_id, subnet_id, ip_address, position)
      SELECT port_id, subnet_id, ip_address, position FROM jsonb_populate_recordset(NULL::port_fixed_ips, ${JSON.stringify(w.insertFixedIps)}::jsonb)`;
  }
}
