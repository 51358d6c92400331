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
