import { type Topology } from '@ncp/testing';

/** One ping from a namespace, for polling a path until it works (or until it stops). */
export function pingOnce(topo: Topology, netns: string, address: string): Promise<'answers' | 'silent'> {
  return topo.exec(netns, ['ping', '-c', '1', '-W', '1', ...(address.includes(':') ? ['-6'] : []), address], 10_000).then(
    () => 'answers',
    () => 'silent',
  );
}
