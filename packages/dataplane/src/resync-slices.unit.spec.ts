import { describe, expect, it } from 'vitest';
import { ResyncSlices, SLICE_EVERY_CHANGE_PASSES } from './resync-slices.js';

describe('ResyncSlices', () => {
  it('hands out slices in queue order: in every periodic pass, in a change pass only every fourth in a row', () => {
    const slices = new ResyncSlices(2);
    slices.add(['a', 'b', 'c', 'd', 'e']);
    expect(slices.take(true)).toEqual(['a', 'b']);
    // a second resync: those still waiting keep their place, the ones taken go to the back
    slices.add(['a', 'c', 'e']);
    const changes = Array.from({ length: SLICE_EVERY_CHANGE_PASSES }, () => slices.take(false));
    expect(changes).toEqual([[], [], [], ['c', 'd']]);
    // a name read anyway, or no longer held, leaves the queue
    slices.delete('e');
    slices.retain((name) => name !== 'a');
    expect(slices.left).toBe(false);
    expect(slices.take(true)).toEqual([]);
  });
});
