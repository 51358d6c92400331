import { describe, it } from 'vitest';
import { deciderSpec } from '@ncp/testing';
import { type SgProjectEvent } from '@ncp/contracts';
import { projectDecider } from './project.decider';

const spec = deciderSpec(projectDecider);
const claimed = (groupId: string): SgProjectEvent => ({ type: 'DefaultSecurityGroupClaimed', data: { groupId } });

describe("project's default group claim", () => {
  it('claims the first group id offered, and no other after it', () => {
    spec
      .given([])
      .when({ type: 'ClaimDefaultGroup', groupId: 'g1' })
      .then([claimed('g1')]);
    // a concurrent first use that lost the race changes nothing: it goes on with g1
    spec
      .given([claimed('g1')])
      .when({ type: 'ClaimDefaultGroup', groupId: 'g2' })
      .then([]);
  });

  it('claims anew only in place of the group it names as deleted', () => {
    spec
      .given([claimed('g1')])
      .when({ type: 'ReclaimDefaultGroup', previous: 'g1', groupId: 'g2' })
      .then([claimed('g2')]);
    // someone else reclaimed first
    spec
      .given([claimed('g1'), claimed('g2')])
      .when({ type: 'ReclaimDefaultGroup', previous: 'g1', groupId: 'g3' })
      .then([]);
  });
});
