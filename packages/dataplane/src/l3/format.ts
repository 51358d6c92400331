import { type L3Step } from './plan.js';

/**
 * A plan as text: a `# item` header, then one command per line (arguments never contain
 * spaces: names and addresses are validated); a step's stdin follows as a here-document.
 * Used for golden files and logs.
 */
export function formatL3Steps(steps: readonly L3Step[]): string {
  const lines: string[] = [];
  let item: string | null = null;
  for (const step of steps) {
    if (step.item !== item) {
      item = step.item;
      lines.push(`# ${item}`);
    }
    if (step.input === undefined) {
      lines.push(step.argv.join(' '));
    } else {
      lines.push(`${step.argv.join(' ')} <<'EOF'`, ...step.input.replace(/\n$/, '').split('\n'), 'EOF');
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
