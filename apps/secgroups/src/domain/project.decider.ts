import { SG_AGGREGATES, SG_CONTEXT, type CommandMetadata, type Decider, type SgProjectEvent } from '@ncp/contracts';

/**
 * Which group is a project's `default` one, decided on one state per project
 * (`ev.sg.project.<project id>`), so that concurrent first uses of a project agree on one id.
 */
export interface ProjectState {
  /** the claimed default group's id; null before the project's first use */
  defaultGroupId: string | null;
}

export type ProjectCommand =
  /** the first use: `groupId` becomes the default group unless one was claimed already */
  | { type: 'ClaimDefaultGroup'; groupId: string }
  /**
   * The claimed group `previous` was deleted (by an admin): `groupId` becomes the default
   * group, unless someone else has claimed another one since.
   */
  | { type: 'ReclaimDefaultGroup'; previous: string; groupId: string };

function evolve(_state: ProjectState, event: SgProjectEvent): ProjectState {
  switch (event.type) {
    case 'DefaultSecurityGroupClaimed':
      return { defaultGroupId: event.data.groupId };
  }
}

function decide(command: ProjectCommand, state: Readonly<ProjectState>, _meta: CommandMetadata): readonly [] | readonly [SgProjectEvent] {
  const claim = (groupId: string): readonly [SgProjectEvent] => [{ type: 'DefaultSecurityGroupClaimed', data: { groupId } }];
  switch (command.type) {
    case 'ClaimDefaultGroup':
      // a claim that lost the race is no error: the caller goes on with the claimed group
      return state.defaultGroupId === null ? claim(command.groupId) : [];
    case 'ReclaimDefaultGroup':
      return state.defaultGroupId === command.previous ? claim(command.groupId) : [];
  }
}

export const projectDecider: Decider<ProjectState, ProjectCommand, SgProjectEvent> = {
  context: SG_CONTEXT,
  aggregate: SG_AGGREGATES.project,
  initialState: () => ({ defaultGroupId: null }),
  evolve,
  decide,
};
