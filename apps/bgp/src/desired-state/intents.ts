import { DESIRED_KINDS, desiredKey } from '@ncp/contracts';
import { routesOfSpeaker, routingFacts, speakerHosts, speakerIpVersion } from '../application/facts';
import { speakerIntent } from '../domain/speaker-intent';
import { type BgpPrisma } from '../infrastructure/prisma';

/** Every speaker's intent on every host it is placed on (`<row>.<host>.bgp.<speaker id>`), from BGP's projection. */
export async function bgpSpeakerIntents(prisma: BgpPrisma): Promise<Map<string, string>> {
  const [speakers, peers, agents, facts] = await Promise.all([
    prisma.bgpSpeaker.findMany(),
    prisma.bgpPeer.findMany(),
    prisma.agent.findMany(),
    routingFacts(prisma),
  ]);
  const peerById = new Map(peers.map((p) => [p.id, { ...p, remoteAs: Number(p.remoteAs) }]));
  const agentOf = new Map(agents.map((a) => [a.host, a]));
  const wanted = new Map<string, string>();
  for (const speaker of speakers) {
    const routes = routesOfSpeaker(speaker, facts);
    const speakerPeers = speaker.peerIds.flatMap((id) => peerById.get(id) ?? []);
    for (const { host, row } of speakerHosts(speaker)) {
      const agent = agentOf.get(host);
      if (!agent) continue;
      const intent = speakerIntent({ id: speaker.id, localAs: Number(speaker.localAs), ipVersion: speakerIpVersion(speaker) }, agent, speakerPeers, routes);
      wanted.set(desiredKey(row, host, DESIRED_KINDS.bgp, speaker.id), JSON.stringify(intent));
    }
  }
  return wanted;
}
