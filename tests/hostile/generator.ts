import { randomUUID } from 'node:crypto';

/**
 * Hostile requests, generated from a seed: valid bodies of every resource and action of
 * every service, then broken in the ways clients (and attackers) break them: wrong types,
 * huge and negative numbers, NUL, unpaired surrogates and control characters, odd ids in
 * paths and bodies, bad filters and paging, odd headers and content types, malformed and
 * oversized bodies. Pure: the same seed and world give the same requests.
 */

/** mulberry32: small, seedable, good enough to pick requests. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A request as sent: `body` is JSON, `raw` bytes sent as they are. */
export interface HostileRequest {
  /** What it exercises, for the coverage report: `POST networks`, `PUT routers/add_router_interface` ... */
  readonly op: string;
  /** How it was broken, for failure reports. */
  readonly mutation: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Json;
  readonly raw?: Buffer;
  /** For POSTs that may create: the collection whose ids the world learns from a 201. */
  readonly creates?: string;
  /** For DELETEs that may succeed: forget this id. */
  readonly deletes?: { collection: string; id: string };
}

/** Ids the generator may use, by collection; the test keeps it up to date from the answers. */
export type World = Map<string, string[]>;

const deep = (levels: number, leaf: Json, asArray: boolean): Json => {
  let v: Json = leaf;
  for (let i = 0; i < levels; i++) v = asArray ? [v] : { a: v };
  return v;
};

/** Values that break attributes; each is valid JSON (JSON.stringify writes unpaired surrogates as escapes). */
export const HOSTILE_VALUES: readonly (readonly [string, () => Json])[] = [
  ['empty string', () => ''],
  ['blank', () => '   '],
  ['NUL', () => 'a\u0000b'],
  ['only NUL', () => '\u0000'],
  ['lone high surrogate', () => 'x\uD800'],
  ['lone low surrogate', () => '\uDC00y'],
  ['control characters', () => '\u0001\u0002\u001f\u007f\n\r\t'],
  ['256 characters', () => 'n'.repeat(256)],
  ['70,000 characters', () => 'x'.repeat(70_000)],
  ['emoji', () => '\uD83D\uDE00'.repeat(130)],
  ['path traversal', () => '../../etc/passwd'],
  ['subject wildcards', () => 'ev.ipam.>'],
  ['SQL', () => "'; DROP TABLE networks; --"],
  ['percent-encoded NUL', () => '%00'],
  ['dot', () => 'a.b'],
  ['star', () => '*'],
  ['"true"', () => 'true'],
  ['digits of 2^64', () => '18446744073709551616'],
  ['1e400 as text', () => '1e400'],
  ['hex', () => '0x10'],
  ['zero', () => 0],
  ['minus one', () => -1],
  ['2^31', () => 2 ** 31],
  ['-2^31-1', () => -(2 ** 31) - 1],
  ['2^32', () => 2 ** 32],
  ['2^53+2', () => 2 ** 53 + 2],
  ['1e308', () => 1e308],
  ['-1e308', () => -1e308],
  ['fraction', () => 1.5],
  ['true', () => true],
  ['false', () => false],
  ['null', () => null],
  ['empty list', () => []],
  ['empty map', () => ({})],
  ['list of 300 strings', () => Array.from({ length: 300 }, (_, i) => `v${i}`)],
  ['map of 1,000 keys', () => Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]))],
  ['nested 60 maps', () => deep(60, 'x', false)],
  ['nested 60 lists', () => deep(60, 1, true)],
  ['map with a NUL key', () => ({ 'k\u0000': 'v' })],
  ['map with a lone surrogate', () => ({ k: ['\uDBFF'] })],
  ['map of 8 KB', () => ({ blob: 'b'.repeat(8192) })],
];

/** Ids that cannot exist, or do not. */
export const HOSTILE_IDS: readonly (readonly [string, () => string])[] = [
  ['a dot', () => 'a.b'],
  ['a wildcard', () => '*'],
  ['a full wildcard', () => '>'],
  ['a space', () => 'a b'],
  ['a NUL', () => 'ab\u0000cd'],
  ['a lone surrogate', () => 'x\uD800'],
  ['300 characters', () => 'i'.repeat(300)],
  ['path traversal', () => '..'],
  ['unicode', () => 'réseau'],
  ['a quote', () => '"\''],
  ['an unknown UUID', () => randomUUID()],
  ['a UUID in capitals', () => randomUUID().toUpperCase()],
  ['digits', () => '12345'],
];

const FILTER_VALUES: readonly string[] = [
  '12345678901234567890',
  '99999999999',
  '-99999999999',
  '2147483648',
  'foo',
  '',
  'a\u0000b',
  '\uD800',
  'True',
  'maybe',
  '2026-01-01T00:00:00Z',
  '2026-13-45T99:99:99Z',
  '1e3',
  '1.5',
  '%',
  '_',
  '*',
  'x'.repeat(5000),
];

interface Template {
  readonly collection: string;
  readonly singular: string;
  /** A valid create body, from the world. */
  create(rng: Rng, world: World): Record<string, Json>;
  /** A valid update body (null: the resource has no PUT). */
  update: ((rng: Rng, world: World) => Record<string, Json>) | null;
  /** Attributes a list may filter on. */
  readonly filters: readonly string[];
}

const idOf = (rng: Rng, world: World, collection: string): string => {
  const ids = world.get(collection) ?? [];
  return ids.length > 0 ? rng.pick(ids) : randomUUID();
};
const name = (rng: Rng) => `h-${rng.int(1_000_000)}`;
const octet = (rng: Rng) => rng.int(250) + 1;

/** A port's security attributes: groups named or not, address pairs, port security on or off (some refused, as Neutron refuses them). */
const portSecurity = (rng: Rng, world: World): Record<string, Json> => ({
  ...(rng.chance(0.3) ? { port_security_enabled: rng.chance(0.6) } : {}),
  ...(rng.chance(0.4) ? { security_groups: rng.chance(0.2) ? [] : [idOf(rng, world, 'security-groups')] } : {}),
  ...(rng.chance(0.4)
    ? {
        allowed_address_pairs: [
          { ip_address: rng.pick(['10.0.0.9', '10.10.0.0/28', '2001:db8:10::9']), ...(rng.chance(0.3) ? { mac_address: 'fa:16:3e:00:00:99' } : {}) },
        ],
      }
    : {}),
});

export const TEMPLATES: readonly Template[] = [
  {
    collection: 'networks',
    singular: 'network',
    create: (rng) => ({ name: name(rng), description: 'hostile', admin_state_up: true, mtu: 1400, port_security_enabled: rng.chance(0.5) }),
    update: (rng) => ({ name: name(rng), description: 'd', mtu: 1300 + rng.int(100) }),
    filters: ['name', 'mtu', 'shared', 'router:external', 'status', 'provider:segmentation_id', 'revision_number', 'created_at', 'id', 'project_id'],
  },
  {
    collection: 'subnets',
    singular: 'subnet',
    create: (rng, world) => ({
      network_id: idOf(rng, world, 'networks'),
      ip_version: 4,
      cidr: `10.${octet(rng)}.${octet(rng)}.0/24`,
      name: name(rng),
      dns_nameservers: ['192.0.2.53'],
      host_routes: [{ destination: '192.0.2.0/24', nexthop: '10.0.0.254' }],
    }),
    update: (rng) => ({ name: name(rng), enable_dhcp: rng.chance(0.5), dns_nameservers: ['192.0.2.54'] }),
    filters: ['name', 'ip_version', 'cidr', 'gateway_ip', 'enable_dhcp', 'network_id', 'subnetpool_id', 'updated_at'],
  },
  {
    collection: 'ports',
    singular: 'port',
    create: (rng, world) => ({
      network_id: idOf(rng, world, 'networks'),
      name: name(rng),
      device_id: randomUUID(),
      device_owner: 'compute:nova',
      'binding:host_id': 'net-a1',
      'binding:profile': { hostile: true },
      extra_dhcp_opts: [{ opt_name: 'mtu', opt_value: '1400' }],
      ...portSecurity(rng, world),
    }),
    update: (rng, world) => ({ name: name(rng), 'binding:profile': { n: rng.int(9) }, device_owner: 'compute:nova', ...portSecurity(rng, world) }),
    filters: ['name', 'mac_address', 'device_id', 'device_owner', 'binding:host_id', 'status', 'network_id', 'fixed_ips', 'admin_state_up', 'security_groups'],
  },
  {
    collection: 'security-groups',
    singular: 'security_group',
    create: (rng) => ({ name: name(rng), description: 'hostile', ...(rng.chance(0.3) ? { stateful: rng.chance(0.5) } : {}) }),
    update: (rng) => ({ name: name(rng), description: 'd', ...(rng.chance(0.3) ? { stateful: rng.chance(0.5) } : {}) }),
    filters: ['name', 'description', 'stateful', 'revision_number', 'id', 'project_id'],
  },
  {
    collection: 'security-group-rules',
    singular: 'security_group_rule',
    create: (rng, world) => {
      const ethertype = rng.pick(['IPv4', 'IPv6']);
      const protocol = rng.pick<Json>(['tcp', 'udp', 'icmp', 'ipv6-icmp', 'any', '6', 132, null]);
      const ported = protocol === 'tcp' || protocol === 'udp' || protocol === '6' || protocol === 132;
      const min = rng.int(65536);
      return {
        security_group_id: idOf(rng, world, 'security-groups'),
        direction: rng.pick(['ingress', 'egress']),
        ethertype,
        protocol,
        ...(ported ? { port_range_min: min, port_range_max: Math.min(65535, min + rng.int(100)) } : {}),
        ...(rng.chance(0.5)
          ? { remote_ip_prefix: ethertype === 'IPv4' ? `198.51.${rng.int(256)}.0/24` : `2001:db8:${rng.int(65536).toString(16)}::/48` }
          : rng.chance(0.5)
            ? { remote_group_id: idOf(rng, world, 'security-groups') }
            : {}),
        description: 'hostile',
      };
    },
    // Neutron's rules have no update; a PUT is refused
    update: (rng) => ({ description: name(rng) }),
    filters: ['security_group_id', 'direction', 'ethertype', 'protocol', 'port_range_min', 'remote_ip_prefix', 'remote_group_id'],
  },
  {
    collection: 'subnetpools',
    singular: 'subnetpool',
    create: (rng, world) => ({
      name: name(rng),
      prefixes: [`172.${16 + rng.int(16)}.${rng.int(256)}.0/24`],
      default_prefixlen: 28,
      min_prefixlen: 26,
      max_prefixlen: 30,
      default_quota: 10,
      ...(rng.chance(0.5) ? { address_scope_id: idOf(rng, world, 'address-scopes') } : {}),
    }),
    update: (rng) => ({ name: name(rng), default_quota: rng.int(100) }),
    filters: ['name', 'default_prefixlen', 'default_quota', 'is_default', 'address_scope_id', 'ip_version'],
  },
  {
    collection: 'address-scopes',
    singular: 'address_scope',
    create: (rng) => ({ name: name(rng), ip_version: rng.pick([4, 6]), shared: false }),
    update: (rng) => ({ name: name(rng) }),
    filters: ['name', 'ip_version', 'shared'],
  },
  {
    collection: 'routers',
    singular: 'router',
    create: (rng, world) => ({
      name: name(rng),
      admin_state_up: true,
      ...(rng.chance(0.5) ? { external_gateway_info: { network_id: world.get('external')?.[0] ?? randomUUID(), enable_snat: rng.chance(0.5) } } : {}),
      routes: [],
      nat_exclusions: rng.chance(0.3) ? ['198.51.100.0/24'] : [],
    }),
    update: (rng) => ({ name: name(rng), description: 'r', routes: [] }),
    filters: ['name', 'status', 'admin_state_up', 'ha', 'distributed'],
  },
  {
    collection: 'floatingips',
    singular: 'floatingip',
    create: (rng, world) => ({
      floating_network_id: world.get('external')?.[0] ?? randomUUID(),
      description: 'f',
      ...(rng.chance(0.3) ? { port_id: idOf(rng, world, 'ports') } : {}),
    }),
    update: (rng, world): Record<string, Json> => (rng.chance(0.5) ? { port_id: null } : { description: name(rng), port_id: idOf(rng, world, 'ports') }),
    filters: ['floating_ip_address', 'floating_network_id', 'router_id', 'port_id', 'fixed_ip_address', 'status'],
  },
  {
    collection: 'bgp-speakers',
    singular: 'bgp_speaker',
    create: (rng) => ({ name: name(rng), local_as: 64512 + rng.int(1000), ip_version: 4 }),
    update: (rng) => ({ name: name(rng), advertise_tenant_networks: rng.chance(0.5) }),
    filters: ['name', 'local_as', 'ip_version', 'advertise_tenant_networks'],
  },
  {
    collection: 'bgp-peers',
    singular: 'bgp_peer',
    create: (rng) => ({ name: name(rng), peer_ip: `198.51.100.${octet(rng)}`, remote_as: 65000 + rng.int(500), auth_type: 'none' }),
    update: (rng) => ({ name: name(rng) }),
    filters: ['name', 'peer_ip', 'remote_as', 'auth_type'],
  },
  {
    collection: 'instances',
    singular: 'instance',
    create: (rng) => ({
      name: name(rng),
      hostname: `host-${rng.int(1000)}`,
      public_keys: [{ name: 'k', data: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9vb2 hostile' }],
      user_data: Buffer.from('#cloud-config\n').toString('base64'),
      metadata: { role: 'web' },
      vendor_data: { v: { w: 1 } },
    }),
    update: (rng) => ({ name: name(rng), metadata: { k: String(rng.int(9)) } }),
    filters: ['name', 'hostname', 'availability_zone'],
  },
];

interface Action {
  readonly op: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path(rng: Rng, world: World): string;
  body?(rng: Rng, world: World): Json;
}

export const ACTIONS: readonly Action[] = [
  {
    op: 'PUT routers/add_router_interface',
    method: 'PUT',
    path: (r, w) => `/v2.0/routers/${idOf(r, w, 'routers')}/add_router_interface`,
    body: (r, w): Json => (r.chance(0.5) ? { subnet_id: idOf(r, w, 'subnets') } : { port_id: idOf(r, w, 'ports') }),
  },
  {
    op: 'PUT routers/remove_router_interface',
    method: 'PUT',
    path: (r, w) => `/v2.0/routers/${idOf(r, w, 'routers')}/remove_router_interface`,
    body: (r, w) => ({ subnet_id: idOf(r, w, 'subnets') }),
  },
  {
    op: 'PUT routers/add_extraroutes',
    method: 'PUT',
    path: (r, w) => `/v2.0/routers/${idOf(r, w, 'routers')}/add_extraroutes`,
    body: (r) => ({ router: { routes: [{ destination: `198.18.${r.int(256)}.0/24`, nexthop: '10.10.0.99' }] } }),
  },
  {
    op: 'PUT routers/remove_extraroutes',
    method: 'PUT',
    path: (r, w) => `/v2.0/routers/${idOf(r, w, 'routers')}/remove_extraroutes`,
    body: (r) => ({ router: { routes: [{ destination: `198.18.${r.int(256)}.0/24`, nexthop: '10.10.0.99' }] } }),
  },
  { op: 'GET routers/l3-agents', method: 'GET', path: (r, w) => `/v2.0/routers/${idOf(r, w, 'routers')}/l3-agents` },
  {
    op: 'PUT subnetpools/add_prefixes',
    method: 'PUT',
    path: (r, w) => `/v2.0/subnetpools/${idOf(r, w, 'subnetpools')}/add_prefixes`,
    body: (r) => ({ prefixes: [`172.${16 + r.int(16)}.${r.int(256)}.0/24`] }),
  },
  {
    op: 'PUT subnetpools/remove_prefixes',
    method: 'PUT',
    path: (r, w) => `/v2.0/subnetpools/${idOf(r, w, 'subnetpools')}/remove_prefixes`,
    body: (r) => ({ prefixes: [`172.${16 + r.int(16)}.${r.int(256)}.0/24`] }),
  },
  {
    op: 'PUT bgp-speakers/add_bgp_peer',
    method: 'PUT',
    path: (r, w) => `/v2.0/bgp-speakers/${idOf(r, w, 'bgp-speakers')}/add_bgp_peer`,
    body: (r, w) => ({ bgp_peer_id: idOf(r, w, 'bgp-peers') }),
  },
  {
    op: 'PUT bgp-speakers/remove_bgp_peer',
    method: 'PUT',
    path: (r, w) => `/v2.0/bgp-speakers/${idOf(r, w, 'bgp-speakers')}/remove_bgp_peer`,
    body: (r, w) => ({ bgp_peer_id: idOf(r, w, 'bgp-peers') }),
  },
  {
    op: 'PUT bgp-speakers/add_gateway_network',
    method: 'PUT',
    path: (r, w) => `/v2.0/bgp-speakers/${idOf(r, w, 'bgp-speakers')}/add_gateway_network`,
    body: (r, w) => ({ network_id: w.get('external')?.[0] ?? idOf(r, w, 'networks') }),
  },
  {
    op: 'PUT bgp-speakers/remove_gateway_network',
    method: 'PUT',
    path: (r, w) => `/v2.0/bgp-speakers/${idOf(r, w, 'bgp-speakers')}/remove_gateway_network`,
    body: (r, w) => ({ network_id: idOf(r, w, 'networks') }),
  },
  { op: 'GET bgp-speakers/get_advertised_routes', method: 'GET', path: (r, w) => `/v2.0/bgp-speakers/${idOf(r, w, 'bgp-speakers')}/get_advertised_routes` },
  { op: 'GET bgp-speakers/bgp-dragents', method: 'GET', path: (r, w) => `/v2.0/bgp-speakers/${idOf(r, w, 'bgp-speakers')}/bgp-dragents` },
  { op: 'GET agents/bgp-drinstances', method: 'GET', path: (r, w) => `/v2.0/agents/${idOf(r, w, 'agents')}/bgp-drinstances` },
  {
    op: 'POST agents/bgp-drinstances',
    method: 'POST',
    path: (r, w) => `/v2.0/agents/${idOf(r, w, 'agents')}/bgp-drinstances`,
    body: (r, w) => ({ bgp_speaker_id: idOf(r, w, 'bgp-speakers') }),
  },
  {
    op: 'DELETE agents/bgp-drinstances',
    method: 'DELETE',
    path: (r, w) => `/v2.0/agents/${idOf(r, w, 'agents')}/bgp-drinstances/${idOf(r, w, 'bgp-speakers')}`,
  },
  { op: 'GET agents/dhcp-networks', method: 'GET', path: (r, w) => `/v2.0/agents/${idOf(r, w, 'agents')}/dhcp-networks` },
  {
    op: 'POST agents/dhcp-networks',
    method: 'POST',
    path: (r, w) => `/v2.0/agents/${idOf(r, w, 'agents')}/dhcp-networks`,
    body: (r, w) => ({ network_id: idOf(r, w, 'networks') }),
  },
  { op: 'DELETE agents/dhcp-networks', method: 'DELETE', path: (r, w) => `/v2.0/agents/${idOf(r, w, 'agents')}/dhcp-networks/${idOf(r, w, 'networks')}` },
  { op: 'GET networks/dhcp-agents', method: 'GET', path: (r, w) => `/v2.0/networks/${idOf(r, w, 'networks')}/dhcp-agents` },
  { op: 'GET agents', method: 'GET', path: (r, w) => (r.chance(0.5) ? '/v2.0/agents' : `/v2.0/agents/${idOf(r, w, 'agents')}`) },
  {
    op: 'GET extensions',
    method: 'GET',
    path: (r) => (r.chance(0.5) ? '/v2.0/extensions' : `/v2.0/extensions/${r.pick(['router', 'bgp', 'subnet_allocation', 'nope'])}`),
  },
  { op: 'GET discovery', method: 'GET', path: (r) => r.pick(['/', '/v2.0', '/v2.0/']) },
];

const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json; charset=nonsense',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  '',
  'application/json;;;',
];

const IDENTITY_HEADERS: readonly (readonly [string, string])[] = [
  ['X-Project-Id', ''],
  ['X-Project-Id', 'a.b'],
  ['X-Project-Id', 'p'.repeat(300)],
  ['X-Project-Id', 'other-project'],
  ['X-Tenant-Id', ''],
  ['X-User-Id', ''],
  ['X-User-Id', 'u*'],
  ['X-Roles', ''],
  ['X-Roles', ',,,'],
  ['X-Roles', 'member'],
  ['X-Roles', 'adm in'],
  ['X-User-Name', ''],
  ['If-Match', 'revision_number=12345678901234567890'],
  ['If-Match', 'nonsense'],
  ['If-Match', 'revision_number=1'],
  ['X-Openstack-Request-Id', 'x'.repeat(500)],
  ['Accept', 'application/xml'],
  ['Content-Encoding', 'gzip'],
  ['Content-Encoding', 'zstd'],
];

/** Percent-encodes anything, an unpaired surrogate included (as its WTF-8 bytes, which are not UTF-8). */
const enc = (text: string) =>
  [...text]
    .map((ch) => {
      const code = ch.charCodeAt(0);
      if (ch.length === 2 || code < 0xd800 || code > 0xdfff) return encodeURIComponent(ch);
      return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    })
    .join('');

/** Breaks a valid body: one attribute (known or not) gets a hostile value, or the shape is wrong. */
function mutateBody(rng: Rng, singular: string, inner: Record<string, Json>): { body: Json; how: string } {
  const roll = rng.int(10);
  if (roll === 0) {
    const [how, make] = rng.pick<readonly [string, () => Json]>([
      ['body null', () => null],
      ['body a list', () => [inner]],
      ['body a string', () => 'x'],
      ['body a number', () => 7],
      ['no wrapper key', () => inner],
      ['wrapper a list', () => ({ [singular]: [inner] })],
      ['wrapper a string', () => ({ [singular]: 'x' })],
      ['wrong wrapper key', () => ({ nope: inner })],
      ['empty wrapper', () => ({ [singular]: {} })],
    ]);
    return { body: make(), how };
  }
  const keys = Object.keys(inner);
  const key =
    roll === 1 || keys.length === 0
      ? rng.pick(['nope', 'id', 'tenant_id', 'project_id', 'status', 'tags', 'fixed_ips', 'binding:profile', 'routes'])
      : rng.pick(keys);
  const [valueName, value] = rng.pick(HOSTILE_VALUES);
  const out: Record<string, Json> = { ...inner, [key]: value() };
  // Sometimes a list attribute gets its items broken instead, or many of them.
  const original = inner[key];
  if (Array.isArray(original) && original.length > 0 && rng.chance(0.4)) {
    const item = original[0] ?? null;
    out[key] = rng.chance(0.5) ? Array.from({ length: 250 }, () => item) : [value()];
    return { body: { [singular]: out }, how: `${key}: ${Array.isArray(out[key]) && out[key].length === 250 ? '250 items' : `an item ${valueName}`}` };
  }
  return { body: { [singular]: out }, how: `${key}: ${valueName}` };
}

function mutateActionBody(rng: Rng, body: Json): { body: Json; how: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { body, how: 'valid' };
  const keys = Object.keys(body);
  if (rng.chance(0.2)) return { body: rng.pick<Json>([null, [], 'x', {}, { nope: 1 }]), how: 'body of the wrong shape' };
  const key = rng.chance(0.15) ? 'nope' : rng.pick(keys);
  const [valueName, value] = rng.pick(rng.chance(0.5) ? HOSTILE_IDS : HOSTILE_VALUES);
  return { body: { ...body, [key]: value() }, how: `${key}: ${valueName}` };
}

function hostileQuery(rng: Rng, template: Template, world: World): { query: string; how: string } {
  const params: [string, string][] = [];
  const hows: string[] = [];
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    switch (rng.int(8)) {
      case 0:
      case 1:
      case 2: {
        const f = rng.pick([...template.filters, 'id', 'revision_number', 'created_at', 'tenant_id', 'nope', 'tags']);
        const v = rng.pick(FILTER_VALUES);
        params.push([f, v]);
        hows.push(`${f}=${v.slice(0, 24)}`);
        break;
      }
      case 3:
        params.push(['limit', rng.pick(['9223372036854775808', '-1', '0', 'ten', '1', '2147483648', '1.5'])]);
        hows.push('limit');
        break;
      case 4: {
        const [idName, id] = rng.pick(HOSTILE_IDS);
        params.push(['marker', rng.chance(0.5) ? id() : idOf(rng, world, template.collection)]);
        hows.push(`marker ${idName}`);
        break;
      }
      case 5:
        params.push(['sort_key', rng.pick([...template.filters, 'nope', 'tags', '\u0000'])], ['sort_dir', rng.pick(['asc', 'desc', 'up', ''])]);
        hows.push('sort');
        break;
      case 6:
        params.push(['fields', rng.pick(['id', 'name,nope', '\u0000', 'x'.repeat(3000), ''])]);
        hows.push('fields');
        break;
      default:
        params.push(['page_reverse', rng.pick(['True', 'maybe', ''])]);
        hows.push('page_reverse');
    }
  }
  return { query: params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&'), how: hows.join(' ') };
}

/** The next request: a resource or action, and how it is broken (sometimes not at all). */
export function nextRequest(rng: Rng, world: World): HostileRequest {
  const roll = rng.int(100);
  return requestOfRoll(rng, world, roll, rng.pick(TEMPLATES), () => rng.pick(ACTIONS));
}

/** Where in `requestOfRoll`'s 100 each operation on a resource lies. */
const ROLL_OF: Record<string, number> = { POST: 0, GET: 60, 'GET/id': 70, DELETE: 92 };

/**
 * A request of the operation `op` (as `HostileRequest.op` names it: `DELETE networks`, an
 * action's), broken as `nextRequest` breaks it: for the operations a run of random requests
 * happened to try too rarely.
 */
export function requestOf(rng: Rng, world: World, op: string): HostileRequest {
  const action = ACTIONS.find((a) => a.op === op);
  if (action) return requestOfRoll(rng, world, 80, rng.pick(TEMPLATES), () => action);
  const [verb = '', collection = ''] = op.split(' ');
  const [name, id] = collection.split('/');
  const template = TEMPLATES.find((t) => t.collection === name);
  const roll = ROLL_OF[id === undefined ? verb : `${verb}/${id}`];
  if (!template || roll === undefined) throw new Error(`no generator for ${op}`);
  return requestOfRoll(rng, world, roll, template, () => rng.pick(ACTIONS));
}

function requestOfRoll(rng: Rng, world: World, roll: number, template: Template, pickAction: () => Action): HostileRequest {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const base = `/v2.0/${template.collection}`;

  let req: HostileRequest;
  if (roll < 35) {
    const valid = { [template.singular]: template.create(rng, world) };
    const { body, how } = rng.chance(0.15) ? { body: valid as Json, how: 'valid' } : mutateBody(rng, template.singular, template.create(rng, world));
    req = { op: `POST ${template.collection}`, mutation: how, method: 'POST', path: base, headers, body, creates: template.collection };
  } else if (roll < 52 && template.update) {
    const hostileId = rng.chance(0.25);
    const [idName, badId] = rng.pick(HOSTILE_IDS);
    const id = hostileId ? badId() : idOf(rng, world, template.collection);
    const valid = { [template.singular]: template.update(rng, world) };
    const { body, how } = rng.chance(0.2) ? { body: valid as Json, how: 'valid' } : mutateBody(rng, template.singular, template.update(rng, world));
    req = { op: `PUT ${template.collection}`, mutation: hostileId ? `id ${idName}, ${how}` : how, method: 'PUT', path: `${base}/${enc(id)}`, headers, body };
  } else if (roll < 67) {
    const { query, how } = hostileQuery(rng, template, world);
    req = { op: `GET ${template.collection}`, mutation: how, method: 'GET', path: `${base}?${query}`, headers };
  } else if (roll < 74) {
    const [idName, badId] = rng.pick(HOSTILE_IDS);
    const hostileId = rng.chance(0.6);
    const id = hostileId ? badId() : idOf(rng, world, template.collection);
    const fields = rng.chance(0.3) ? `?fields=${enc(rng.pick(['id', 'nope', '\u0000']))}` : '';
    req = { op: `GET ${template.collection}/id`, mutation: hostileId ? `id ${idName}` : 'valid', method: 'GET', path: `${base}/${enc(id)}${fields}`, headers };
  } else if (roll < 88) {
    const action = pickAction();
    const valid = action.body?.(rng, world);
    const { body, how } = valid === undefined || rng.chance(0.2) ? { body: valid, how: 'valid' } : mutateActionBody(rng, valid);
    let path = action.path(rng, world);
    let mutation = how;
    if (rng.chance(0.2)) {
      // an odd id in place of the first id of the path
      const [idName, badId] = rng.pick(HOSTILE_IDS);
      path = path.replace(/^(\/v2\.0\/[^/]+\/)[^/]+/, `$1${enc(badId())}`);
      mutation = `path id ${idName}, ${how}`;
    }
    req = { op: action.op, mutation, method: action.method, path, headers, ...(body === undefined ? {} : { body }) };
  } else if (roll < 90) {
    // methods Neutron does not serve, on a collection or a resource
    const method = rng.pick<'PATCH' | 'OPTIONS'>(['PATCH', 'OPTIONS']);
    const path = rng.chance(0.5) ? base : `${base}/${enc(idOf(rng, world, template.collection))}`;
    req = {
      op: `${method} ${template.collection}`,
      mutation: 'unserved method',
      method,
      path,
      headers,
      body: { [template.singular]: template.update?.(rng, world) ?? {} },
    };
  } else if (roll < 94) {
    const created = world.get(`created:${template.collection}`) ?? [];
    const [idName, badId] = rng.pick(HOSTILE_IDS);
    if (created.length > 0 && rng.chance(0.4)) {
      const id = rng.pick(created);
      req = {
        op: `DELETE ${template.collection}`,
        mutation: 'valid',
        method: 'DELETE',
        path: `${base}/${enc(id)}`,
        headers,
        deletes: { collection: template.collection, id },
      };
    } else {
      req = { op: `DELETE ${template.collection}`, mutation: `id ${idName}`, method: 'DELETE', path: `${base}/${enc(badId())}`, headers };
    }
  } else {
    // raw bodies and odd headers on a write
    const valid = JSON.stringify({ [template.singular]: template.create(rng, world) });
    const [how, raw, extra] = rng.pick<readonly [string, () => Buffer, Record<string, string>]>([
      ['malformed JSON', () => Buffer.from(valid.slice(0, -3)), {}],
      ['trailing garbage', () => Buffer.from(`${valid}}}`), {}],
      ['not JSON', () => Buffer.from('network=1&x=2'), {}],
      ['invalid UTF-8', () => Buffer.concat([Buffer.from('{"network":{"name":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}}')]), {}],
      ['a BOM', () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid)]), {}],
      ['nested 100,000 lists', () => Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), {}],
      ['nested 5,000 maps', () => Buffer.from(`${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`), {}],
      ['11 MB body', () => Buffer.from(`{"${template.singular}":{"name":"${'x'.repeat(11 * 1024 * 1024)}"}}`), {}],
      ['11 MB body, chunked', () => Buffer.from(`{"${template.singular}":{"name":"${'x'.repeat(11 * 1024 * 1024)}"}}`), { 'Transfer-Encoding': 'chunked' }],
      ['a NUL escaped', () => Buffer.from(valid.replace('"name":"', '"name":"\\u0000')), {}],
      ['a lone surrogate escaped', () => Buffer.from(valid.replace('"name":"', '"name":"\\udfff')), {}],
      ['gzip declared, not gzip', () => Buffer.from(valid), { 'Content-Encoding': 'gzip' }],
      ['odd content type', () => Buffer.from(valid), { 'Content-Type': rng.pick(CONTENT_TYPES) }],
      ['an identity header', () => Buffer.from(valid), Object.fromEntries([rng.pick(IDENTITY_HEADERS)])],
      ['two identity headers', () => Buffer.from(valid), Object.fromEntries([rng.pick(IDENTITY_HEADERS), rng.pick(IDENTITY_HEADERS)])],
    ]);
    const method = rng.pick<'POST' | 'PUT'>(['POST', 'PUT']);
    const path = method === 'POST' ? base : `${base}/${enc(idOf(rng, world, template.collection))}`;
    req = {
      op: `${method} ${template.collection} (raw)`,
      mutation: how,
      method,
      path,
      headers: { ...headers, ...extra },
      raw: raw(),
      ...(method === 'POST' ? { creates: template.collection } : {}),
    };
  }
  // Identity and other odd headers on any request, now and then.
  if (rng.chance(0.05)) {
    const [h, v] = rng.pick(IDENTITY_HEADERS);
    return { ...req, headers: { ...req.headers, [h]: v }, mutation: `${req.mutation}; ${h}: ${v.slice(0, 20)}` };
  }
  return req;
}
