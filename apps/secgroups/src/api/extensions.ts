import { extension } from '@ncp/nest-common';

/**
 * Neutron's security group extensions this service serves. `port-security` and
 * `allowed-address-pairs` come when ports carry and enforce them.
 */
export const SECGROUPS_EXTENSIONS = [
  extension('security-group', 'security-group', 'The security groups extension.'),
  extension('stateful-security-group', 'Stateful security group', 'Indicates if the security group is stateful or not'),
];
