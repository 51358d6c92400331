/** Human output of netctl: plain text tables and a progress line. Pure. */

export type Cell = string | number | boolean | null | undefined;

/** Columns padded to their widest cell; `-` for an empty cell. */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = (c: Cell) => (c === null || c === undefined || c === '' ? '-' : String(c));
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map(text))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * How far a service's rebuild has come, in stream sequences: its least advanced projection.
 * A stopped one (being emptied) is at 0. A running one with nothing pending counts as at
 * `target`: the checkpoint of one that reads a narrow filter (IPAM's agents) stays at its own
 * last event, far below the stream's end. Never moves back (`previous`): a service rebuilds its
 * projections at once, but one that starts a moment after the others, or whose stalled replay
 * consumes again from its checkpoint, is not the rebuild going backwards.
 */
export function rebuildPosition(statuses: readonly { checkpoint: number; pending: number; running: boolean }[], target: number, previous = 0): number {
  const positions = statuses.map((s) => (!s.running ? 0 : s.pending === 0 ? target : Math.min(s.checkpoint, target)));
  return Math.max(previous, positions.length === 0 ? 0 : Math.min(...positions));
}

/** `[#########...........]  45%  12,345/27,000 events  3,456 ev/s  ETA 4s` */
export function progressLine(done: number, total: number, elapsedMs: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const eta = rate > 0 && done < total ? `ETA ${duration(((total - done) / rate) * 1000)}` : done >= total ? 'done' : 'ETA ?';
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%  ${n(done)}/${n(total)} events  ${n(rate)} ev/s  ${eta}`;
}

/** 950ms, 12s, 3m05s, 2h01m */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A value on one line, shortened: what a table cell shows of JSON. */
export function brief(value: unknown, max = 60): string {
  const s = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
