import { extension } from '@ncp/nest-common';

/** The metadata service's own extension (nothing of Neutron's). */
export const METADATA_EXTENSIONS = [
  extension(
    'instances',
    'Instances for the metadata service',
    'POST/GET/PUT/DELETE /v2.0/instances: what runs behind the ports whose device_id is the instance id (uuid, name, hostname, availability zone, public keys, user data, metadata, vendor data), served to the instance on 169.254.169.254 and fe80::a9fe:a9fe in the OpenStack and EC2 formats, with IMDSv2 tokens.',
  ),
];
