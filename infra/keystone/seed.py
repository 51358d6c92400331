#!/usr/bin/env python3
"""What the dev stack needs in Keystone beyond `keystone-manage bootstrap`, made idempotent.

Run by entrypoint.sh on every start, after bootstrap and before the API starts:

    python3 seed.py --config-file /etc/keystone/keystone.conf

It ensures:
- the role `service` (Keystone 22's bootstrap makes only admin, member and reader);
- the project `service` and the user `neutron` with the role `service` on it: the account
  the ncp services validate tokens with (identity:validate_token allows rule:service_role);
- the catalog entry `network` (name neutron) with its public (and internal) endpoint at the
  gateway: the openstack CLI and Tempest find the Neutron API there;
- the projects `demo` and `alt_demo`, each with a user of the same name holding `member`
  (two ordinary tenants to try isolation with), when their passwords are set.

Existing things are kept and brought to the wanted state: a user whose password no longer
authenticates gets the one from the environment (an unchanged one is not set again: that
would revoke the tokens the services hold), an endpoint with another URL is moved.

It works on the database directly, through Keystone's own managers, the way
`keystone-manage bootstrap` does (keystone/cmd/bootstrap.py), not over the API: Keystone 22
on sqlite under the single-threaded keystone-wsgi-public fails every endpoint created over
the API after the first one with "database is locked". Passwords come only from the
environment.
"""

import os
import sys
import uuid

from oslo_log import log

import keystone.conf
from keystone import exception
from keystone.common import driver_hints
from keystone.common import provider_api
from keystone.common import sql
from keystone.server import backends

CONF = keystone.conf.CONF
LOG = log.getLogger('keystone-seed')
PROVIDERS = provider_api.ProviderAPIs


def env(name, required=True):
    value = os.environ.get(name, '')
    if required and not value:
        sys.exit(f'keystone-seed: {name} is not set')
    return value


def ensure_role(name):
    hints = driver_hints.Hints()
    hints.add_filter('name', name)
    hints.add_filter('domain_id', None)  # global roles, as bootstrap makes them
    found = PROVIDERS.role_api.list_roles(hints)
    if found:
        return found[0]
    role_id = uuid.uuid4().hex
    LOG.info('Created role %s', name)
    return PROVIDERS.role_api.create_role(role_id, {'id': role_id, 'name': name})


def ensure_project(name, description, domain_id):
    try:
        return PROVIDERS.resource_api.get_project_by_name(name, domain_id)
    except exception.ProjectNotFound:
        project_id = uuid.uuid4().hex
        LOG.info('Created project %s', name)
        return PROVIDERS.resource_api.create_project(
            project_id,
            {'id': project_id, 'name': name, 'domain_id': domain_id, 'enabled': True, 'description': description},
        )


def ensure_user(name, password, project):
    try:
        user = PROVIDERS.identity_api.get_user_by_name(name, project['domain_id'])
    except exception.UserNotFound:
        LOG.info('Created user %s', name)
        return PROVIDERS.identity_api.create_user(
            {
                'name': name,
                'domain_id': project['domain_id'],
                'password': password,
                'enabled': True,
                'default_project_id': project['id'],
            }
        )
    update = {} if user['enabled'] else {'enabled': True}
    try:
        PROVIDERS.identity_api.driver.authenticate(user['id'], password)
    except AssertionError:  # what the driver raises for a wrong password (bootstrap relies on it too)
        update['password'] = password
    if update:
        PROVIDERS.identity_api.update_user(user['id'], update)
        LOG.info('Updated user %s (%s)', name, ', '.join(sorted(update)))
    return user


def grant(role, user, project):
    try:
        PROVIDERS.assignment_api.add_role_to_user_and_project(user['id'], project['id'], role['id'])
        LOG.info('Granted %s on %s to %s', role['name'], project['name'], user['name'])
    except exception.Conflict:
        pass  # already granted


def ensure_service(service_type, name, description):
    for service in PROVIDERS.catalog_api.list_services():
        if service['type'] == service_type:
            return service
    service_id = uuid.uuid4().hex
    LOG.info('Created service %s (%s)', name, service_type)
    return PROVIDERS.catalog_api.create_service(
        service_id,
        {'id': service_id, 'type': service_type, 'name': name, 'description': description, 'enabled': True},
    )


def ensure_endpoint(service, interface, region_id, url):
    for endpoint in PROVIDERS.catalog_api.list_endpoints():
        if (endpoint['service_id'], endpoint['interface'], endpoint.get('region_id')) == (service['id'], interface, region_id):
            if endpoint['url'] != url:
                PROVIDERS.catalog_api.update_endpoint(endpoint['id'], {'url': url})
                LOG.info('Moved %s %s endpoint to %s', service['type'], interface, url)
            return
    endpoint_id = uuid.uuid4().hex
    PROVIDERS.catalog_api.create_endpoint(
        endpoint_id,
        {
            'id': endpoint_id,
            'service_id': service['id'],
            'interface': interface,
            'region_id': region_id,
            'url': url,
            'enabled': True,
        },
    )
    LOG.info('Created %s %s endpoint %s', service['type'], interface, url)


def main():
    # As keystone-manage sets itself up (keystone/cmd/cli.py main).
    keystone.conf.configure()
    sql.initialize()
    keystone.conf.set_default_for_default_log_levels()
    CONF(args=sys.argv[1:], project='keystone')
    keystone.conf.setup_logging()
    backends.load_backends()

    domain_id = CONF.identity.default_domain_id  # `default`, made by bootstrap
    region_id = env('KEYSTONE_REGION', required=False) or 'RegionOne'
    service_role = ensure_role('service')
    member_role = ensure_role('member')

    service_project = ensure_project('service', 'Service accounts', domain_id)
    grant(service_role, ensure_user('neutron', env('KEYSTONE_NEUTRON_PASSWORD'), service_project), service_project)

    network = ensure_service('network', 'neutron', 'ncp: the Neutron v2.0 API')
    ensure_endpoint(network, 'public', region_id, env('NETWORK_PUBLIC_URL'))
    internal = env('NETWORK_INTERNAL_URL', required=False)
    if internal:
        ensure_endpoint(network, 'internal', region_id, internal)

    for name, variable in (('demo', 'KEYSTONE_DEMO_PASSWORD'), ('alt_demo', 'KEYSTONE_ALT_DEMO_PASSWORD')):
        password = env(variable, required=False)
        if not password:
            LOG.info('%s is not set: no project and user %s', variable, name)
            continue
        project = ensure_project(name, 'A demo tenant', domain_id)
        grant(member_role, ensure_user(name, password, project), project)

    LOG.info('In place: the service project, the neutron user, the network endpoints, the demo tenants')


if __name__ == '__main__':
    main()
