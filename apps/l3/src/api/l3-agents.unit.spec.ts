import { describe, expect, it } from 'vitest';
import { shownHaState } from './l3.controllers';

describe("an HA router's role on an agent in l3-agents", () => {
  it("is what a live agent reported; a dead agent's is standby while another lives, unknown when none does", () => {
    expect(shownHaState('active', true, true)).toBe('active');
    expect(shownHaState(null, true, true)).toBeNull();
    // the active host died: its stale report is not shown
    expect(shownHaState('active', false, true)).toBe('standby');
    expect(shownHaState('active', false, false)).toBe('unknown');
    expect(shownHaState(null, false, false)).toBe('unknown');
  });
});
