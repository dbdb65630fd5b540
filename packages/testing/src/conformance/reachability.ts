/**
 * The expected connectivity of a scenario, after upstream's netpol truth tables: start from a default for
 * every (from, to) pair, then set pairs by pod or by peer pattern. Unlike upstream, the diagonal (a pod to
 * itself) is computed like any other pair: nothing here ignores or allows loopback unless told.
 */

/** Matches pods by namespace and/or name; an omitted field matches everything. */
export type Peer = { readonly ns?: string; readonly pod?: string };

export class Reachability {
  readonly pods: readonly string[];
  private readonly index: ReadonlyMap<string, number>;
  private readonly table: boolean[][];

  /** `pods` are `ns/name` refs; every pair starts as `defaultAllowed`. */
  constructor(pods: readonly string[], defaultAllowed: boolean) {
    this.pods = [...pods];
    this.index = new Map(this.pods.map((p, i) => [p, i]));
    this.table = this.pods.map(() => this.pods.map(() => defaultAllowed));
  }

  /** Sets one pair. */
  expect(from: string, to: string, allowed: boolean): this {
    this.row(from)[this.at(to)] = allowed;
    return this;
  }

  /** Sets every pair whose source matches `from` and destination matches `to`. */
  expectPeer(from: Peer, to: Peer, allowed: boolean): this {
    for (const f of this.pods.filter((p) => matches(from, p)))
      for (const t of this.pods.filter((p) => matches(to, p))) this.expect(f, t, allowed);
    return this;
  }

  /** Sets all traffic into `to` (from every pod, itself included). */
  expectAllIngress(to: string, allowed: boolean): this {
    const [ns, pod] = split(to);
    return this.expectPeer({}, { ns, pod }, allowed);
  }

  /** Sets all traffic out of `from` (to every pod, itself included). */
  expectAllEgress(from: string, allowed: boolean): this {
    const [ns, pod] = split(from);
    return this.expectPeer({ ns, pod }, {}, allowed);
  }

  /** Allows every pod to reach itself (for callers that treat loopback as always open). */
  allowLoopback(): this {
    for (const p of this.pods) this.expect(p, p, true);
    return this;
  }

  isAllowed(from: string, to: string): boolean {
    return this.row(from)[this.at(to)] === true;
  }

  /** `allowed[from][to]` in the order of `pods`. */
  matrix(): boolean[][] {
    return this.table.map((row) => [...row]);
  }

  /** A truth table for failure messages: rows are sources, columns destinations, `.` allowed, `X` denied. */
  render(): string {
    const width = Math.max(...this.pods.map((p) => p.length)), cell = width + 1;
    const header = `${' '.repeat(width)}${this.pods.map((p) => p.padStart(cell)).join('')}`;
    const rows = this.pods.map((p, i) => `${p.padEnd(width)}${this.table[i]!.map((v) => (v ? '.' : 'X').padStart(cell)).join('')}`);
    return [header, ...rows].join('\n');
  }

  private at(ref: string): number {
    const i = this.index.get(ref);
    if (i === undefined) throw new Error(`${ref} is not a pod of this reachability (${this.pods.join(', ')})`);
    return i;
  }

  private row(ref: string): boolean[] {
    return this.table[this.at(ref)]!;
  }
}

function split(ref: string): [string, string] {
  const [ns = '', pod = ''] = ref.split('/');
  return [ns, pod];
}

function matches(peer: Peer, ref: string): boolean {
  const [ns, pod] = split(ref);
  return (peer.ns === undefined || peer.ns === ns) && (peer.pod === undefined || peer.pod === pod);
}

/** A matrix as measured (explainMatrix, or real probes): `allowed[from][to]` in the order of `pods`. */
export type ObservedMatrix = { readonly pods: readonly string[]; readonly allowed: readonly (readonly boolean[])[] };

/**
 * Every way `observed` differs from `expected`, one line each (`x/a -> y/b: expected allowed, got denied`).
 * Observed pods named in `optional` (e.g. hostNetwork pods, whose place in a matrix is unspecified) are skipped.
 */
export function mismatches(expected: Reachability, observed: ObservedMatrix, optional: ReadonlySet<string> = new Set()): string[] {
  const at = new Map(observed.pods.map((p, i) => [p, i]));
  const out: string[] = [];
  for (const p of expected.pods) if (!at.has(p)) out.push(`${p}: missing from the matrix`);
  for (const p of observed.pods)
    if (!expected.pods.includes(p) && !optional.has(p)) out.push(`${p}: in the matrix but not a pod the scenario expects`);
  const shared = observed.pods.filter((p) => expected.pods.includes(p));
  if (shared.join() !== [...shared].sort().join()) out.push(`pods are not sorted by ns/name: ${observed.pods.join(', ')}`);
  const word = (allowed: boolean | undefined): string => (allowed === undefined ? 'nothing' : allowed ? 'allowed' : 'denied');
  for (const from of expected.pods) {
    const i = at.get(from);
    if (i === undefined) continue;
    for (const to of expected.pods) {
      const j = at.get(to);
      if (j === undefined) continue;
      const want = expected.isAllowed(from, to), got = observed.allowed[i]?.[j];
      if (got !== want) out.push(`${from} -> ${to}: expected ${word(want)}, got ${word(got)}`);
    }
  }
  return out;
}
