/**
 * Issue 15 benchmark: one set member change (one peer added to a set and another removed, in one
 * version) on the issue 3 node (1,000 sets, 20,000 elements, the 10k-pod median rule set), as the kernel
 * transaction alone: nftables through a one-shot `nft -f` per change and through the long-lived `nft -i`
 * session, and iptables+ipset (one `ipset restore`). Also a whole-table load both ways, since the session
 * carries those too. Runs in a scratch network namespace it removes afterwards. Prints; never asserts on time.
 * `pnpm bench` runs it with the V8 flags `bin/knp applier` uses (--no-minor-gc-task
 * --no-incremental-marking-task: no GC tasks in the idle time the applier spends awaiting the kernel).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createLogger, makeRuleSet } from '@knp/shared';
import { Applier, iptablesBackend, nftBackend, type Backend } from '../src/index.js';
import { PEERS, PREFIX, cluster, machine, median, ms, time } from './bench-cluster.js';

const ROUNDS = 60, TARGET_MS = 10;

const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)]!;
const verdict = (x: number): string => (x <= TARGET_MS ? 'PASS' : 'MISS');

/** Kernel time of `ROUNDS` member changes, each a delta through an Applier (planning and diffing not counted). */
async function memberChanges(backend: Backend): Promise<number[]> {
  const applier = new Applier(backend, { log: createLogger('bench', 'silent') });
  const base = makeRuleSet(cluster(), { epoch: 'bench', seq: 1 });
  await applier.apply(base);
  await applier.reconcile(); // the reference listing, outside the measured changes
  const kernel: number[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    // cluster(PEERS + i) adds peer PEERS+i to set 0 and no longer holds PEERS+i-1: one add, one delete
    const outcome = await applier.apply(makeRuleSet(cluster(PEERS + i), { epoch: 'bench', seq: 1 + i }));
    if (outcome.kind !== 'applied' || outcome.mode !== 'delta') throw new Error(`expected a delta, got ${JSON.stringify(outcome)}`);
    if (i > 1) kernel.push(outcome.kernelMs);
  }
  return kernel;
}

/** Whole-table loads replacing the loaded table (median of 5). */
async function fullLoads(backend: Backend): Promise<number> {
  const base = makeRuleSet(cluster(), { epoch: 'bench', seq: 1 });
  const out: number[] = [];
  for (let i = 0; i < 5; i++) out.push((await time(() => backend.load(base, undefined)))[0]);
  return median(out);
}

const version = (argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).trim().split('\n')[0]!;
const flush = (netns: string): void => void execFileSync('ip', ['netns', 'exec', netns, 'nft', 'flush', 'ruleset']);

const netns = `knpb${randomBytes(3).toString('hex')}`;
execFileSync('ip', ['netns', 'add', netns]);
try {
  const lines: string[] = [];
  const row = (label: string, xs: number[]): void =>
    void lines.push(`  ${label.padEnd(40)} median ${ms(median(xs)).padStart(9)} ${verdict(median(xs))}   p99 ${ms(p99(xs)).padStart(9)} ${verdict(p99(xs))}`);

  const oneShot = nftBackend({ prefix: PREFIX, netns, session: false });
  row('nftables, one-shot nft -f', await memberChanges(oneShot));
  const oneShotFull = await fullLoads(oneShot);
  flush(netns);
  const session = nftBackend({ prefix: PREFIX, netns });
  row('nftables, nft -i session (include)', await memberChanges(session));
  const sessionFull = await fullLoads(session);
  await session.close?.();
  flush(netns);
  const ipt = iptablesBackend({ prefix: PREFIX, netns });
  row('iptables+ipset, one ipset restore', await memberChanges(ipt));
  await ipt.remove();

  process.stdout.write(
    [
      `machine: ${machine([version(['iptables', '--version']), version(['ipset', '--version'])])}; load average ${version(['cat', '/proc/loadavg'])}`,
      `one set member change (add one peer, delete another; 1,000 sets, 20,000 elements), kernel transaction, ${ROUNDS - 1} changes; target <= ${TARGET_MS} ms:`,
      ...lines,
      `whole-table load replacing the table (median of 5): one-shot nft -f ${ms(oneShotFull)}, nft -i session ${ms(sessionFull)}`,
      '',
    ].join('\n'),
  );
} finally {
  execFileSync('ip', ['netns', 'del', netns]);
}

