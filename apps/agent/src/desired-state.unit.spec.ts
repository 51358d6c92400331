import { describe, expect, it } from 'vitest';
import { DesiredState } from './desired-state';

const intent = (id: string) => ({ id, kind: 'router', namespace: `qrouter-${id.slice(0, 8)}`, interfaces: ['qr-b0000001-00'], endpoints: [] });

describe('DesiredState.metadataIntents', () => {
  it('parses the meta entries, sorted, and reports the ones that do not parse', () => {
    const desired = new DesiredState();
    desired.put('r.h.meta.bbbbbbbb-0000-4000-8000-000000000002', JSON.stringify(intent('bbbbbbbb-0000-4000-8000-000000000002')));
    desired.put('r.h.meta.aaaaaaaa-0000-4000-8000-000000000001', JSON.stringify(intent('aaaaaaaa-0000-4000-8000-000000000001')));
    desired.put('r.h.meta.cccccccc-0000-4000-8000-000000000003', JSON.stringify({ ...intent('cccccccc-0000-4000-8000-000000000003'), namespace: 'a b' }));
    desired.put('r.h.router.aaaaaaaa-0000-4000-8000-000000000001', '{}');
    const { intents, invalid } = desired.metadataIntents();
    expect(intents.map((i) => i.id)).toEqual(['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002']);
    expect(invalid.map((i) => i.key)).toEqual(['r.h.meta.cccccccc-0000-4000-8000-000000000003']);
  });
});
