/**
 * A plan as text: a `# item` header, then one command per line (arguments never contain
 * spaces: names, addresses and aliases are validated); a step's stdin follows as a
 * here-document. Used for golden files and logs, by every driver's plan.
 */
export function formatSteps(steps: readonly { readonly item: string; readonly argv: readonly string[]; readonly input?: string }[]): string {
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
