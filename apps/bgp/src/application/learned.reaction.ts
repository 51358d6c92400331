import { isIdToken, type CommandMetadata, type ResourceReport } from '@ncp/contracts';
import { type BgpCommands } from './commands';

/**
 * Folds what the agents say their sessions learned into the speakers (the reaction
 * `bgp_learned_routes`): the speaker decides whether the report is of one of its sessions and
 * what of it the peer's policy accepts, and records it when it changed.
 */
export const learnedRoutesFromAgentReports =
  (commands: Pick<BgpCommands, 'speakers' | 'peers'>) =>
  async (r: ResourceReport, host: string, meta: CommandMetadata): Promise<void> => {
    const session = r.session;
    if (r.kind !== 'bgp_session' || session?.learned === undefined) return;
    if (!isIdToken(session.speakerId) || !isIdToken(session.peerId)) return;
    const peer = (await commands.peers.load(session.peerId)).state;
    if (!peer.exists) return;
    const { peerIp, acceptDefaultRoute, acceptedPrefixes, maxPrefixes, bfd } = peer;
    await commands.speakers.execute(
      session.speakerId,
      {
        type: 'LearnRoutes',
        id: session.speakerId,
        peerId: session.peerId,
        host,
        routes: session.learned,
        peer: { peerIp, acceptDefaultRoute, acceptedPrefixes, maxPrefixes, bfd },
      },
      meta,
    );
  };
