/** `cmd.ipam.*`: what L3 (router and floating IP ports) and DHCP (DHCP ports) ask of IPAM. */

/** An IPAM port as IPAM's command API returns it (Neutron's wire shape). */
export interface IpamPortWire {
  readonly id: string;
  readonly network_id: string;
  readonly mac_address: string;
  readonly fixed_ips: readonly { subnet_id: string; ip_address: string }[];
  readonly device_owner: string;
  readonly device_id: string;
  readonly 'binding:host_id'?: string;
}

/** The result of `create_port` and `update_port`. */
export interface IpamPortReply {
  readonly port: IpamPortWire;
}

/** `delete_port`: `force` is a service removing a port it owns (router, floating IP, DHCP ports). */
export interface IpamDeletePortInput {
  readonly id: string;
  readonly force?: boolean;
}

/** A network as IPAM's command API returns it (the part of Neutron's wire shape callers read). */
export interface IpamNetworkWire {
  readonly id: string;
  readonly project_id: string;
  readonly 'provider:network_type'?: string;
  readonly 'provider:segmentation_id'?: number | null;
  readonly mtu?: number;
}

/** The result of `create_network`. */
export interface IpamNetworkReply {
  readonly network: IpamNetworkWire;
}

/** A subnet as IPAM's command API returns it. */
export interface IpamSubnetWire {
  readonly id: string;
  readonly network_id: string;
  readonly cidr: string;
  readonly gateway_ip: string | null;
  readonly enable_dhcp: boolean;
}

/** The result of `create_subnet`. */
export interface IpamSubnetReply {
  readonly subnet: IpamSubnetWire;
}
