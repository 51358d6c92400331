import { describe, expect, it } from 'vitest';
import { gatewayConfig, upstreamReplicas } from './config';
import { DOWN_MS, UpstreamPool, mayRetry, parseUpstreamList } from './upstreams';

const replicas = {
  ipam: ['http://a:1', 'http://b:2'],
  l3: ['http://l3:1'],
  dhcp: ['http://d:1'],
  bgp: ['http://g:1'],
  metadata: ['http://m:1'],
  secgroups: ['http://s:1'],
};

describe('upstream pool', () => {
  it('goes round-robin over the replicas, each request with the others to fall back on', () => {
    const pool = new UpstreamPool(replicas);
    expect(pool.order('ipam', 0)).toEqual(['http://a:1', 'http://b:2']);
    expect(pool.order('ipam', 0)).toEqual(['http://b:2', 'http://a:1']);
    expect(pool.order('ipam', 0)).toEqual(['http://a:1', 'http://b:2']);
    expect(pool.order('l3', 0)).toEqual(['http://l3:1']);
  });

  it('passes over a replica marked down until DOWN_MS have passed, and tries it last meanwhile', () => {
    const pool = new UpstreamPool(replicas);
    pool.markDown('http://a:1', 1000);
    expect(pool.order('ipam', 1000)).toEqual(['http://b:2', 'http://a:1']);
    expect(pool.order('ipam', 1000)).toEqual(['http://b:2', 'http://a:1']);
    expect(pool.order('ipam', 1000 + DOWN_MS)).toEqual(['http://a:1', 'http://b:2']);
    pool.markDown('http://b:2', 5000);
    pool.markUp('http://b:2');
    expect(pool.order('ipam', 5000)).toEqual(['http://b:2', 'http://a:1']);
  });
});

describe('retrying on another replica', () => {
  it('always when the request never reached the replica; after that only for what changes nothing', () => {
    expect(mayRetry('POST', 'ECONNREFUSED', false)).toBe(true);
    expect(mayRetry('POST', 'ECONNREFUSED', true)).toBe(true);
    expect(mayRetry('DELETE', undefined, false)).toBe(true);
    expect(mayRetry('POST', 'ECONNRESET', true)).toBe(false);
    expect(mayRetry('PUT', 'ECONNRESET', true)).toBe(false);
    expect(mayRetry('DELETE', 'ETIMEDOUT', true)).toBe(false);
    expect(mayRetry('GET', 'ECONNRESET', true)).toBe(true);
    expect(mayRetry('head', 'ETIMEDOUT', true)).toBe(true);
  });
});

describe('upstream URLs in the configuration', () => {
  it('takes one URL or a comma-separated list per service', () => {
    expect(parseUpstreamList('http://a:1/, http://b:2')).toEqual(['http://a:1', 'http://b:2']);
    const config = gatewayConfig({ IPAM_URL: 'http://ipam-1:9701,http://ipam-2:9701', L3_URL: 'http://l3:9702' });
    expect(upstreamReplicas(config).ipam).toEqual(['http://ipam-1:9701', 'http://ipam-2:9701']);
    expect(upstreamReplicas(config).l3).toEqual(['http://l3:9702']);
    expect(upstreamReplicas(config).dhcp).toEqual(['http://127.0.0.1:9703']);
  });

  it('refuses a list with something that is not a URL in it', () => {
    expect(() => gatewayConfig({ IPAM_URL: 'http://ipam-1:9701,not a url' })).toThrow(/IPAM_URL: one URL or several/);
    expect(() => gatewayConfig({ L3_URL: ',' })).toThrow(/L3_URL/);
  });
});
