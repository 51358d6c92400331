import { describe, expect, it } from 'vitest';
import { collectionOf, resourcesDocument, serviceOf, serviceOfPath, stripJsonSuffix, versionsDocument } from './routing';

describe('gateway routing', () => {
  it('routes Neutron collections to the service that owns them', () => {
    expect(collectionOf('/v2.0/networks')).toBe('networks');
    expect(collectionOf('/v2.0/address-scopes/abc?fields=id')).toBe('address-scopes');
    expect(collectionOf('/v2.0/ports.json')).toBe('ports');
    expect(collectionOf('/v2.0/extensions')).toBeNull();
    expect(collectionOf('/v2.0/routers')).toBe('routers');
    expect(serviceOf('floatingips')).toBe('l3');
    expect(collectionOf('/v2.0/qos')).toBeNull();
    expect(collectionOf('/healthz')).toBeNull();
    expect(serviceOf('subnetpools')).toBe('ipam');
  });

  it('routes sub-resources owned by another service to that service', () => {
    expect(serviceOfPath('/v2.0/networks/3f0e/dhcp-agents')).toBe('dhcp');
    expect(serviceOfPath('/v2.0/networks/3f0e/dhcp-agents.json?fields=host')).toBe('dhcp');
    expect(serviceOfPath('/v2.0/agents/a1/dhcp-networks')).toBe('dhcp');
    expect(serviceOfPath('/v2.0/networks/3f0e')).toBe('ipam');
    expect(serviceOfPath('/v2.0/networks/3f0e/tags')).toBe('ipam');
    expect(serviceOfPath('/v2.0/agents')).toBe('ipam');
    expect(serviceOfPath('/v2.0/routers/r1/l3-agents')).toBe('l3');
    expect(serviceOfPath('/v2.0/extensions')).toBeNull();
  });

  it('accepts the .json suffix old clients send', () => {
    expect(stripJsonSuffix('/v2.0/networks.json?name=a.json')).toBe('/v2.0/networks?name=a.json');
    expect(stripJsonSuffix('/v2.0/networks/x')).toBe('/v2.0/networks/x');
  });

  it('describes itself for version discovery', () => {
    expect(versionsDocument('http://h:9696').versions[0]?.links[0]?.href).toBe('http://h:9696/v2.0/');
    expect(resourcesDocument('http://h').resources.find((r) => r.collection === 'address-scopes')?.name).toBe('address_scope');
  });
});
