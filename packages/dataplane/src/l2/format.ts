import { type Step } from './plan.js';

/**
 * A plan as text: a `# item` header, then one command per line (arguments never contain
 * spaces: names, addresses and aliases are validated). Used for golden files and logs.
 */
export function formatSteps(steps: readonly Step[]): string {
  const lines: string[] = [];
  let item: string | null = null;
  for (const step of steps) {
    if (step.item !== item) {
      item = step.item;
      lines.push(`# ${item}`);
    }
    lines.push(step.argv.join(' '));
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
