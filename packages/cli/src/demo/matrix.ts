/** One verdict per ordered pair: `from>to` -> allowed. */
export type Verdicts = ReadonlyMap<string, boolean>;
export const pairKey = (from: string, to: string): string => `${from}>${to}`;

/** Pairs where two matrices disagree, as readable lines. */
export function disagreements(measured: Verdicts, explained: Verdicts): string[] {
  const out: string[] = [];
  for (const [key, allowed] of measured) {
    const expected = explained.get(key);
    if (expected !== allowed) out.push(`${key.replace('>', ' -> ')}: measured ${allowed ? 'allowed' : 'denied'}, explain says ${expected === undefined ? 'nothing' : expected ? 'allowed' : 'denied'}`);
  }
  return out;
}

/**
 * A pod x pod matrix for people: rows are sources, columns destinations (on their own port), `.` allowed,
 * `X` denied, `-` the pod itself. With `explained`, each cell shows both: measured then explain (`.` `.`).
 */
export function renderMatrix(pods: readonly string[], ports: ReadonlyMap<string, number>, measured: Verdicts, explained?: Verdicts): string {
  const short = (p: string): string => p.split('/')[1] ?? p;
  const cell = (v: boolean | undefined): string => (v === undefined ? '?' : v ? '.' : 'X');
  const width = Math.max(9, ...pods.map((p) => p.length));
  const colWidth = Math.max(explained ? 5 : 3, ...pods.map((p) => `${short(p)}:${ports.get(p)}`.length));
  const lines = [`${'from \\ to'.padEnd(width)} ${pods.map((p) => `${short(p)}:${ports.get(p)}`.padStart(colWidth)).join(' ')}`];
  for (const from of pods)
    lines.push(`${from.padEnd(width)} ${pods.map((to) => (from === to ? '-' : explained ? `${cell(measured.get(pairKey(from, to)))} ${cell(explained.get(pairKey(from, to)))}` : cell(measured.get(pairKey(from, to)))).padStart(colWidth)).join(' ')}`);
  return `${lines.join('\n')}\n`;
}
