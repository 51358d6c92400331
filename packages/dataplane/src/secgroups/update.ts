import { perObject } from '../memo.js';
import { SG_TABLE, tableText, type SgChain, type SgFamily, type SgPiece, type SgSetDeclaration, type SgTables } from './render.js';

/**
 * The one `nft -f` transaction that turns the tables `before` (what the kernel has, as last
 * applied) into `after`, touching only what differs, so that its size follows the change and
 * not the number of ports on the host: elements added to or deleted from sets and maps (a port
 * joining a group is an element of each member set), a changed chain flushed and filled again
 * (atomically: a packet sees the old rules or the new ones), chains and sets created or
 * deleted. Pieces that are the same object in both are passed over at once. Empty when nothing
 * differs.
 *
 * Order inside the transaction: first what drops references (flushed chains, deleted
 * elements), then the new sets and the new and refilled chains in a table block (nft creates
 * the chains before it fills any), then the new elements (whose verdicts may jump to the new
 * chains), and last the chains and sets nothing refers to any more.
 */
export function renderSecurityGroupsUpdate(before: SgTables, after: SgTables): string {
  const changes = { inet: new TableChanges(), bridge: new TableChanges() };
  for (const [id, was] of before) {
    const now = after.get(id);
    if (now !== was) diffPiece(was, now ?? EMPTY, changes);
  }
  for (const [id, now] of after) if (!before.has(id)) diffPiece(EMPTY, now, changes);
  return changes.inet.text('inet') + changes.bridge.text('bridge');
}

const EMPTY: SgPiece = { sets: [], chains: [], elements: [] };

class TableChanges {
  readonly flushed: string[] = [];
  readonly deletedChains: string[] = [];
  readonly deletedSets: SgSetDeclaration[] = [];
  readonly newSets: SgSetDeclaration[] = [];
  readonly filled: SgChain[] = [];
  readonly deletedElements = new Map<string, string[]>();
  readonly addedElements = new Map<string, string[]>();

  text(family: SgFamily): string {
    const at = `${family} ${SG_TABLE}`;
    const gone = new Set(this.deletedSets.map((s) => s.name));
    const elements = (verb: string, bySet: Map<string, string[]>) =>
      [...bySet].filter(([set]) => !gone.has(set)).map(([set, items]) => `${verb} element ${at} ${set} { ${items.join(', ')} }`);
    const lines = [
      ...this.flushed.map((c) => `flush chain ${at} ${c}`),
      ...elements('delete', this.deletedElements),
      ...(this.newSets.length + this.filled.length === 0 ? [] : [tableText(family, this.newSets, new Map(), this.filled).trimEnd()]),
      ...elements('add', this.addedElements),
      ...this.deletedChains.map((c) => `delete chain ${at} ${c}`),
      ...this.deletedSets.map((s) => `delete ${s.kind} ${at} ${s.name}`),
    ];
    return lines.length === 0 ? '' : lines.join('\n') + '\n';
  }
}

function push(bySet: Map<string, string[]>, set: string, item: string): void {
  const list = bySet.get(set);
  if (list === undefined) bySet.set(set, [item]);
  else list.push(item);
}

const sameRules = (a: readonly string[], b: readonly string[]) => a === b || (a.length === b.length && a.every((rule, i) => rule === b[i]));

function diffPiece(was: SgPiece, now: SgPiece, changes: Record<SgFamily, TableChanges>): void {
  const nowChains = new Map(now.chains.map((c) => [`${c.family} ${c.name}`, c]));
  const wasChains = new Map(was.chains.map((c) => [`${c.family} ${c.name}`, c]));
  for (const [id, c] of wasChains) {
    const wanted = nowChains.get(id);
    if (wanted !== undefined && sameRules(c.rules, wanted.rules)) continue;
    changes[c.family].flushed.push(c.name);
    if (wanted === undefined) changes[c.family].deletedChains.push(c.name);
  }
  for (const [id, c] of nowChains) {
    const had = wasChains.get(id);
    if (had === undefined || !sameRules(had.rules, c.rules)) changes[c.family].filled.push(c);
  }

  const nowSets = new Set(now.sets.map((s) => `${s.family} ${s.name}`));
  const wasSets = new Set(was.sets.map((s) => `${s.family} ${s.name}`));
  for (const s of was.sets) if (!nowSets.has(`${s.family} ${s.name}`)) changes[s.family].deletedSets.push(s);
  for (const s of now.sets) if (!wasSets.has(`${s.family} ${s.name}`)) changes[s.family].newSets.push(s);

  // a key whose value changed (a MAC now dispatched to another port) is deleted and added again
  const nowElements = elementTexts(now);
  const wasElements = elementTexts(was);
  was.elements.forEach((e, i) => {
    if (nowElements.get(wasElements.ids[i] ?? '') !== e.text) push(changes[e.family].deletedElements, e.set, e.key);
  });
  now.elements.forEach((e, i) => {
    if (wasElements.get(nowElements.ids[i] ?? '') !== e.text) push(changes[e.family].addedElements, e.set, e.text);
  });
}

/** A piece's elements' texts by `family set key`, and those ids in element order. */
type ElementTexts = Map<string, string> & { readonly ids: readonly string[] };

/**
 * Made once per piece: a piece diffed as the new one is the old one in the next pass's diff (a
 * remote group's members piece has an element per member, and changes with every port that joins).
 */
const elementTexts = perObject((piece: SgPiece): ElementTexts => {
  const ids = piece.elements.map((e) => `${e.family} ${e.set} ${e.key}`);
  return Object.assign(new Map(ids.map((id, i) => [id, piece.elements[i]?.text ?? ''])), { ids });
});
