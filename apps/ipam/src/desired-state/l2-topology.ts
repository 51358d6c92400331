import {
  isFilteredPort,
  type AgentEvent,
  type L2HostIntent,
  type L2NetworkIntent,
  type L2PortIntent,
  type NetworkEvent,
  type RecordedEvent,
  type Segment,
} from '@ncp/contracts';

/**
 * The L2 facts every host's desired state is computed from, folded from IPAM's network
 * events and the agents' registrations. The fold is idempotent (an event at or below a
 * subject's last applied sequence is skipped) and the result depends only on each
 * entity's latest state, so duplicated, split or differently interleaved streams give
 * the same intents.
 */
export interface PortFact {
  readonly id: string;
  readonly networkId: string;
  mac: string;
  adminStateUp: boolean;
  host: string;
  profile: Record<string, unknown>;
  portSecurityEnabled: boolean;
  deviceOwner: string;
}

export interface NetworkFact {
  readonly id: string;
  mtu: number;
  segment: Segment;
}

export interface AgentFact {
  readonly agentId: string;
  readonly row: string;
  readonly host: string;
  readonly tunnelIp: string;
}

/** The fold as plain JSON, for a snapshot (the indexes are rebuilt from it). */
export interface L2TopologyJson {
  readonly networks: readonly NetworkFact[];
  readonly ports: readonly PortFact[];
  readonly agents: readonly AgentFact[];
  /** per subject, the last stream sequence folded */
  readonly applied: readonly (readonly [string, number])[];
}

/** The shape of `L2TopologyJson`: a snapshot of another version is not read (the fold starts over). */
export const L2_TOPOLOGY_JSON_VERSION = 2;

/**
 * The hosts a port is plugged on: its `binding:host_id`, plus the hosts its `binding:profile`
 * lists as `hosts` (names of agents; L3 binds an HA router's qr-/qg- ports to both hosts of the
 * router, and keepalived decides which one holds the addresses). Never without binding:host_id.
 */
export function hostsOfPort(port: Pick<PortFact, 'host' | 'profile'>): string[] {
  if (port.host === '') return [];
  const extra = Array.isArray(port.profile.hosts)
    ? port.profile.hosts.filter((h): h is string => typeof h === 'string' && /^[A-Za-z0-9_-]{1,63}$/.test(h))
    : [];
  return [...new Set([port.host, ...extra])];
}

/** The networks and ports whose entries may have changed on the hosts an event made dirty. */
export interface L2ScopedChanges {
  readonly networks: Set<string>;
  readonly ports: Set<string>;
}
export type L2Changes = L2ScopedChanges | 'all';

export class L2Topology {
  private readonly networks = new Map<string, NetworkFact>();
  private readonly ports = new Map<string, PortFact>();
  private readonly portsOfNetwork = new Map<string, Set<string>>();
  private readonly portsOfHost = new Map<string, Set<string>>();
  /**
   * Per network, how many of its ports each host has: the hosts a port event concerns,
   * without a walk over the network's ports (a /16 may hold tens of thousands).
   */
  private readonly hostCountsOfNetwork = new Map<string, Map<string, number>>();
  private readonly agents = new Map<string, AgentFact>();
  private readonly applied = new Map<string, number>();
  /** the hosts each port is plugged on now (see {@link hostsOfPort}) */
  private readonly boundHosts = new Map<string, readonly string[]>();
  /** each port's intent as last made (see portIntent), dropped when an event changes the port */
  private readonly portIntents = new Map<string, L2PortIntent>();
  private changes: L2Changes = { networks: new Set(), ports: new Set() };

  /** Records what an event touched (see takeChanges): a network, and a port of it. */
  private touched(networkId: string, portId?: string): void {
    if (this.changes === 'all') return;
    this.changes.networks.add(networkId);
    if (portId !== undefined) this.changes.ports.add(portId);
  }

  toJSON(): L2TopologyJson {
    return { networks: [...this.networks.values()], ports: [...this.ports.values()], agents: [...this.agents.values()], applied: [...this.applied] };
  }

  static fromJSON(json: L2TopologyJson): L2Topology {
    const t = new L2Topology();
    for (const n of json.networks) t.networks.set(n.id, { ...n });
    for (const a of json.agents) t.agents.set(a.host, { ...a });
    for (const [subject, sequence] of json.applied) t.applied.set(subject, sequence);
    for (const p of json.ports) t.addPort({ ...p, host: '' }, p.host);
    return t;
  }

  /** Folds one event; returns the hosts whose desired state may have changed. */
  apply(recorded: RecordedEvent): Set<string> {
    const last = this.applied.get(recorded.subject) ?? 0;
    if (recorded.sequence <= last) return new Set();
    this.applied.set(recorded.subject, recorded.sequence);
    const e = recorded.envelope;
    if (e.aggregate === 'network') return this.applyNetworkEvent(e.aggregateId, { type: e.type, data: e.data } as NetworkEvent);
    if (e.aggregate === 'agent') return this.applyAgentEvent({ type: e.type, data: e.data } as AgentEvent, e.aggregateId);
    return new Set();
  }

  agentOf(host: string): AgentFact | undefined {
    return this.agents.get(host);
  }

  /** Every host with a registered agent. */
  hosts(): string[] {
    return [...this.agents.keys()];
  }

  /**
   * The networks and ports the events folded since the last call touched, or 'all' after an
   * event whose effect reaches further (an agent's registration, a network deleted): what a
   * dirty host's entries must be computed again for.
   */
  takeChanges(): L2Changes {
    const changes = this.changes;
    this.changes = { networks: new Set(), ports: new Set() };
    return changes;
  }

  /**
   * The entries of the host's intent (intentFor) that `only` names: a network if one of the
   * host's ports is in it, a port if it is plugged on the host; in a network that exists.
   */
  intentOf(host: string, only: L2ScopedChanges): L2HostIntent {
    const networks = [...only.networks]
      .filter((id) => this.hostCountsOfNetwork.get(id)?.has(host) === true)
      .flatMap((id) => {
        const n = this.networks.get(id);
        return n ? [this.networkIntent(n, host)] : [];
      });
    const ports = [...only.ports].flatMap((id) => {
      const p = this.ports.get(id);
      return p && this.networks.has(p.networkId) && this.boundHosts.get(id)?.includes(host) === true ? [this.portIntent(p)] : [];
    });
    return { networks, ports };
  }

  /** What the host's agent must build: the networks its ports need, and those ports. */
  intentFor(host: string): L2HostIntent {
    const ports = [...(this.portsOfHost.get(host) ?? [])]
      .map((id) => this.ports.get(id))
      .filter((p): p is PortFact => p !== undefined && this.networks.has(p.networkId));
    const networkIds = [...new Set(ports.map((p) => p.networkId))].sort();
    const networks: L2NetworkIntent[] = networkIds.flatMap((id) => {
      const n = this.networks.get(id);
      return n ? [this.networkIntent(n, host)] : [];
    });
    const portIntents = ports.map((p) => this.portIntent(p)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { networks, ports: portIntents };
  }

  /**
   * A port's intent, the same object until an event changes the port: a host's desired state is
   * recomputed whole for each change on it, and its thousands of ports rarely change.
   */
  private portIntent(p: PortFact): L2PortIntent {
    let intent = this.portIntents.get(p.id);
    if (intent === undefined) {
      // frozen: handed out again for every change on the host, it must not change on the way
      intent = Object.freeze({
        id: p.id,
        networkId: p.networkId,
        mac: p.mac,
        adminStateUp: p.adminStateUp,
        filtered: isFilteredPort(p),
        workload: Object.freeze({
          netns: typeof p.profile.netns === 'string' ? p.profile.netns : `wl-${p.id.replace(/-/g, '').slice(0, 11)}`,
          ifname: typeof p.profile.ifname === 'string' ? p.profile.ifname : 'eth0',
        }),
      });
      this.portIntents.set(p.id, intent);
    }
    return intent;
  }

  private networkIntent(n: NetworkFact, host: string): L2NetworkIntent {
    const vxlan = n.segment.networkType === 'vxlan';
    const remote = vxlan
      ? [...(this.portsOfNetwork.get(n.id) ?? [])]
          .map((id) => this.ports.get(id))
          .flatMap((p) => {
            const hosts = p ? (this.boundHosts.get(p.id) ?? []) : [];
            return hosts.flatMap((h) => {
              const agent = h !== host ? this.agents.get(h) : undefined;
              // a port on several hosts (an HA router's) has its MAC where VRRP puts it: it is
              // found by flooding and the bridges' learning, never by a static entry
              return p && agent ? [{ mac: p.mac, tunnelIp: agent.tunnelIp, pinned: hosts.length === 1 }] : [];
            });
          })
      : [];
    return {
      id: n.id,
      mtu: n.mtu,
      segment: n.segment,
      floodList: [...new Set(remote.map((r) => r.tunnelIp))].sort(),
      remoteMacs: remote
        .filter((r) => r.pinned)
        .map(({ mac, tunnelIp }) => ({ mac, tunnelIp }))
        .sort((a, b) => a.mac.localeCompare(b.mac) || a.tunnelIp.localeCompare(b.tunnelIp)),
    };
  }

  private bind(port: PortFact, host: string): void {
    this.unbind(port);
    port.host = host;
    const hosts = hostsOfPort(port);
    if (hosts.length === 0) return;
    this.boundHosts.set(port.id, hosts);
    for (const h of hosts) {
      const set = this.portsOfHost.get(h) ?? new Set<string>();
      set.add(port.id);
      this.portsOfHost.set(h, set);
      const counts = this.hostCountsOfNetwork.get(port.networkId) ?? new Map<string, number>();
      counts.set(h, (counts.get(h) ?? 0) + 1);
      this.hostCountsOfNetwork.set(port.networkId, counts);
    }
  }

  private unbind(port: PortFact): void {
    for (const h of this.boundHosts.get(port.id) ?? []) {
      this.portsOfHost.get(h)?.delete(port.id);
      const counts = this.hostCountsOfNetwork.get(port.networkId);
      const left = (counts?.get(h) ?? 0) - 1;
      if (left > 0) counts?.set(h, left);
      else counts?.delete(h);
    }
    this.boundHosts.delete(port.id);
    port.host = '';
  }

  private addPort(port: PortFact, host: string): void {
    this.portIntents.delete(port.id);
    this.ports.set(port.id, port);
    this.bind(port, host);
    const set = this.portsOfNetwork.get(port.networkId) ?? new Set<string>();
    set.add(port.id);
    this.portsOfNetwork.set(port.networkId, set);
  }

  private forget(portId: string): void {
    this.portIntents.delete(portId);
    const p = this.ports.get(portId);
    if (!p) return;
    this.unbind(p);
    this.portsOfNetwork.get(p.networkId)?.delete(portId);
    this.ports.delete(portId);
  }

  private hostsOfNetwork(networkId: string): Set<string> {
    return new Set(this.hostCountsOfNetwork.get(networkId)?.keys());
  }

  private applyAgentEvent(event: AgentEvent, agentId: string): Set<string> {
    if (event.type !== 'AgentRegistered') return new Set();
    // its tunnel address is in the flood lists of the networks it shares
    this.changes = 'all';
    const d = event.data;
    const before = this.agents.get(d.host);
    this.agents.set(d.host, { agentId, row: d.row, host: d.host, tunnelIp: d.tunnelIp });
    if (before && before.tunnelIp === d.tunnelIp && before.row === d.row) return new Set([d.host]);
    // Its tunnel address appears in the flood lists of every host it shares a network with.
    const dirty = new Set([d.host]);
    for (const id of this.portsOfHost.get(d.host) ?? []) {
      const p = this.ports.get(id);
      if (p) for (const h of this.hostsOfNetwork(p.networkId)) dirty.add(h);
    }
    return dirty;
  }

  private applyNetworkEvent(networkId: string, event: NetworkEvent): Set<string> {
    switch (event.type) {
      case 'NetworkCreated':
        this.networks.set(networkId, { id: networkId, mtu: event.data.mtu, segment: event.data.segment });
        return new Set();
      case 'NetworkUpdated': {
        const n = this.networks.get(networkId);
        if (!n || event.data.changes.mtu === undefined) return new Set();
        n.mtu = event.data.changes.mtu;
        this.touched(networkId);
        return this.hostsOfNetwork(networkId);
      }
      case 'NetworkDeleted': {
        this.changes = 'all';
        const dirty = this.hostsOfNetwork(networkId);
        for (const id of [...(this.portsOfNetwork.get(networkId) ?? [])]) this.forget(id);
        this.portsOfNetwork.delete(networkId);
        this.hostCountsOfNetwork.delete(networkId);
        this.networks.delete(networkId);
        return dirty;
      }
      case 'PortCreated': {
        const d = event.data;
        this.touched(networkId, d.portId);
        this.forget(d.portId);
        this.addPort(
          {
            id: d.portId,
            networkId,
            mac: d.macAddress,
            adminStateUp: d.adminStateUp,
            host: '',
            profile: d.bindingProfile,
            portSecurityEnabled: d.portSecurityEnabled,
            deviceOwner: d.deviceOwner,
          },
          d.bindingHostId,
        );
        return d.bindingHostId === '' ? new Set() : this.hostsOfNetwork(networkId);
      }
      case 'PortUpdated': {
        const p = this.ports.get(event.data.portId);
        const c = event.data.changes;
        if (!p) return new Set();
        this.portIntents.delete(p.id);
        this.touched(networkId, p.id);
        const dirty = this.hostsOfNetwork(networkId);
        if (c.macAddress !== undefined) p.mac = c.macAddress;
        if (c.adminStateUp !== undefined) p.adminStateUp = c.adminStateUp;
        if (c.bindingProfile !== undefined) p.profile = c.bindingProfile;
        // the profile may list more hosts (an HA router's port): bound again either way
        if (c.bindingHostId !== undefined || c.bindingProfile !== undefined) this.bind(p, c.bindingHostId ?? p.host);
        if (c.portSecurityEnabled !== undefined) p.portSecurityEnabled = c.portSecurityEnabled;
        if (c.deviceOwner !== undefined) p.deviceOwner = c.deviceOwner;
        for (const h of this.hostsOfNetwork(networkId)) dirty.add(h);
        return dirty;
      }
      case 'PortDeleted': {
        this.touched(networkId, event.data.portId);
        const dirty = this.hostsOfNetwork(networkId);
        this.forget(event.data.portId);
        return dirty;
      }
      case 'SubnetCreated':
      case 'SubnetUpdated':
      case 'SubnetDeleted':
      case 'PortStatusChanged':
      case 'RbacPolicyCreated':
      case 'RbacPolicyUpdated':
      case 'RbacPolicyDeleted':
        return new Set();
      default: {
        const _exhaustive: never = event;
        return _exhaustive;
      }
    }
  }
}
