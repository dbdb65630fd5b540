import type { Family, NetnsCluster, ProbeProtocol } from './cluster.js';

export type Expect = (from: string, to: string) => boolean;

/**
 * Probes every pair (self-pairs excluded) and returns the mismatches as readable lines. Pairs expected to
 * pass that did not are probed once more with a long timeout, so a slow machine never fails a test;
 * a pair that passed where a drop was expected is never retried (no timing can cause that).
 */
export async function matrixMismatches(cluster: NetnsCluster, expect: Expect, opts: { port: number; protocol: ProbeProtocol; pods?: readonly string[]; family?: Family }): Promise<string[]> {
  const first = await cluster.probeMatrix({ ...opts, timeoutMs: 400 });
  const slow = first.filter((r) => !r.allowed && expect(r.from, r.to));
  const again = await cluster.probePairs(slow.map((r) => ({ from: r.from, to: r.to, port: opts.port, protocol: opts.protocol, family: opts.family })), 2_000);
  const final = new Map(first.map((r) => [`${r.from}>${r.to}`, r.allowed]));
  for (const r of again) final.set(`${r.from}>${r.to}`, r.allowed);
  const out: string[] = [];
  for (const r of first) {
    const got = final.get(`${r.from}>${r.to}`)!, want = expect(r.from, r.to);
    if (got !== want) out.push(`${r.from} -> ${r.to}${opts.family === 6 ? ' (IPv6)' : ''} ${opts.protocol}/${opts.port}: expected ${want ? 'allow' : 'deny'}, got ${got ? 'allow' : 'deny'}`);
  }
  return out;
}
