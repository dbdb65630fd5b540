import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, type AddressSet, type Rule, type RuleSet } from '@knp/shared';
import { Applier, nftBackend, nftListTable, renderNft, nftLoad, KernelCommandError, ApplyError, type Backend } from '@knp/node-applier';
import { NetnsCluster, type PodSpec } from '@knp/sim';
import { matrixMismatches, type Expect } from '@knp/sim';
import { cidrSet, peers, podsSet, rule, ruleSetsByNode, tcp, udp, type PodPolicy } from '@knp/testing';
import { sh } from '@knp/sim';

/**
 * Hand-built rule sets (the IR) applied to two real node namespaces and checked with real TCP and UDP
 * packets between pod namespaces. x/a, x/c and y/b share node-1; the others are on node-2.
 */
const PODS: PodSpec[] = [
  { name: 'x/a', ip: '10.1.0.11', node: 'node-1' },
  { name: 'x/b', ip: '10.2.0.12', node: 'node-2' },
  { name: 'x/c', ip: '10.1.0.13', node: 'node-1' },
  { name: 'y/a', ip: '10.2.0.21', node: 'node-2' },
  { name: 'y/b', ip: '10.1.0.22', node: 'node-1' },
  { name: 'y/c', ip: '10.2.0.23', node: 'node-2' },
];
const ip = (name: string): string => PODS.find((p) => p.name === name)!.ip;
const PREFIX = 'knp';
const log = createLogger('nft-enforcement-test', 'silent');

type Ctx = { cluster: NetnsCluster; appliers: Map<string, Applier>; seq: number };
const ctx = {} as Ctx;
const Enforcement = suite('nft enforcement on real packets');

Enforcement.before(async () => {
  ctx.cluster = await NetnsCluster.create({ nodes: ['node-1', 'node-2'], pods: PODS });
  ctx.appliers = new Map(['node-1', 'node-2'].map((node) => [node, newApplier(nftBackend({ prefix: PREFIX, netns: ctx.cluster.netnsOf(node) }))]));
  ctx.seq = 0;
});
Enforcement.after(async () => {
  await ctx.cluster?.destroy();
});

function newApplier(backend: Backend): Applier {
  return new Applier(backend, { log, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
}

/** Applies the description to both nodes as a new version; returns the rule sets. */
async function applyPolicy(policy: Record<string, PodPolicy>, content: { rules?: Rule[]; sets?: AddressSet[] } = {}): Promise<Map<string, RuleSet>> {
  const sets = ruleSetsByNode(PODS, policy, content, ++ctx.seq);
  for (const [node, rs] of sets) await ctx.appliers.get(node)!.apply(rs);
  return sets;
}

async function expectMatrix(expect: Expect, port: number, protocol: 'TCP' | 'UDP'): Promise<void> {
  assert.equal(await matrixMismatches(ctx.cluster, expect, { port, protocol }), []);
}

const into = (to: string) => (f: string, t: string) => t !== to;
const everything: Expect = () => true;
const set = (id: string, ...names: string[]): AddressSet => podsSet(id, names.map(ip));

Enforcement('with no policy every pod reaches every other pod over TCP and UDP', async () => {
  await applyPolicy({});
  await expectMatrix(everything, 80, 'TCP');
  await expectMatrix(everything, 81, 'UDP');
});

Enforcement('an ingress-isolated pod with no rules receives nothing, and every other pair stays open', async () => {
  await applyPolicy({ 'x/a': { ingress: [] } });
  await expectMatrix(into('x/a'), 80, 'TCP');
  await expectMatrix(into('x/a'), 80, 'UDP');
});

Enforcement('ingress from a pod set on TCP 80 only admits exactly those pods on exactly that port', async () => {
  const content = { sets: [set('from-xb-ya', 'x/b', 'y/a')], rules: [rule('r80', 'ingress', [peers(['from-xb-ya'], [tcp(80)])])] };
  await applyPolicy({ 'x/a': { ingress: ['r80'] } }, content);
  const allowed: Expect = (f, t) => t !== 'x/a' || f === 'x/b' || f === 'y/a';
  await expectMatrix(allowed, 80, 'TCP');
  await expectMatrix(into('x/a'), 81, 'TCP');
  await expectMatrix(into('x/a'), 80, 'UDP');
});

Enforcement('an egress-isolated pod reaches only its allowed peers, and still answers everyone', async () => {
  const content = { sets: [set('yb', 'y/b')], rules: [rule('to-yb', 'egress', [peers(['yb'], [udp(80), tcp(80)])])] };
  await applyPolicy({ 'x/b': { egress: ['to-yb'] } }, content);
  const allowed: Expect = (f, t) => f !== 'x/b' || t === 'y/b';
  await expectMatrix(allowed, 80, 'TCP');
  await expectMatrix(allowed, 80, 'UDP');
});

Enforcement('a same-node pair needs both the egress allow of the source and the ingress allow of the destination', async () => {
  // x/a and x/c are both on node-1: the packet crosses node-1 once and both checks run there
  const sets = [set('xc', 'x/c'), set('xa', 'x/a'), set('yb', 'y/b')];
  const rules = [rule('to-xc', 'egress', [peers(['xc'])]), rule('from-yb', 'ingress', [peers(['yb'])]), rule('from-xa', 'ingress', [peers(['xa'])])];
  await applyPolicy({ 'x/a': { egress: ['to-xc'] }, 'x/c': { ingress: ['from-yb'] } }, { sets, rules });
  await expectMatrix((f, t) => (f !== 'x/a' || t === 'x/c') && (t !== 'x/c' || f === 'y/b') && !(f === 'x/a' && t === 'x/c'), 80, 'TCP');
  await applyPolicy({ 'x/a': { egress: ['to-xc'] }, 'x/c': { ingress: ['from-xa'] } }, { sets, rules });
  await expectMatrix((f, t) => (f !== 'x/a' || t === 'x/c') && (t !== 'x/c' || f === 'x/a'), 80, 'TCP');
  await applyPolicy({ 'x/a': { egress: [] }, 'x/c': { ingress: ['from-xa'] } }, { sets, rules });
  await expectMatrix((f, t) => f !== 'x/a' && t !== 'x/c', 80, 'UDP');
});

Enforcement('an ipBlock with except admits the CIDR minus the holes (node-1 pods but x/a)', async () => {
  const content = { sets: [cidrSet('blk', '10.0.0.0/8', ['10.2.0.0/24', `${ip('x/a')}/32`])], rules: [rule('blk', 'ingress', [peers(['blk'])])] };
  await applyPolicy({ 'y/a': { ingress: ['blk'] } }, content);
  await expectMatrix((f, t) => t !== 'y/a' || ['x/c', 'y/b'].includes(f), 80, 'TCP');
});

Enforcement('an egress ipBlock 0.0.0.0/0 except one /32 loads and denies only that destination', async () => {
  const content = { sets: [cidrSet('all-but', '0.0.0.0/0', [`${ip('y/c')}/32`])], rules: [rule('eg-all', 'egress', [peers(['all-but'])])] };
  await applyPolicy({ 'x/a': { egress: ['eg-all'] } }, content);
  await expectMatrix((f, t) => !(f === 'x/a' && t === 'y/c'), 81, 'UDP');
});

Enforcement('a repeated rule set writes nothing to the kernel; an older version is ignored', async () => {
  const content = { sets: [set('xb', 'x/b')], rules: [rule('from-xb', 'ingress', [peers(['xb'])])] };
  await applyPolicy({ 'x/a': { ingress: ['from-xb'] } }, content);
  const node1 = ctx.appliers.get('node-1')!;
  const before = { writes: node1.status.kernelWrites, handle: await tableHandle('node-1') };
  const again = ruleSetsByNode(PODS, { 'x/a': { ingress: ['from-xb'] } }, content, ++ctx.seq).get('node-1')!;
  assert.equal(await node1.apply(again), { kind: 'unchanged' });
  const older = ruleSetsByNode(PODS, {}, {}, 1).get('node-1')!;
  assert.is((await node1.apply(older)).kind, 'stale');
  assert.is(node1.status.kernelWrites, before.writes);
  assert.is(await tableHandle('node-1'), before.handle, 'the table was not recreated');
  assert.equal(node1.status.applied?.version, again.version);
  await expectMatrix((f, t) => t !== 'x/a' || f === 'x/b', 80, 'TCP');
});

Enforcement('reconcile finds a clean table in sync and brings a deleted table back', async () => {
  await applyPolicy({ 'x/a': { ingress: [] } });
  const node1 = ctx.appliers.get('node-1')!;
  assert.is(await node1.reconcile(), 'in-sync');
  await sh(['ip', 'netns', 'exec', ctx.cluster.netnsOf('node-1'), 'nft', 'delete', 'table', 'inet', PREFIX]);
  await expectMatrix(everything, 80, 'TCP');
  assert.is(await node1.reconcile(), 'repaired');
  assert.is(await node1.reconcile(), 'in-sync');
  await expectMatrix(into('x/a'), 80, 'TCP');
});

Enforcement('reconcile repairs a rule someone added to our table', async () => {
  await applyPolicy({ 'x/a': { ingress: [] } });
  const fw = (await listing('node-1')).find((c) => c.chain?.hook === 'forward')!.chain!.name;
  await sh(['ip', 'netns', 'exec', ctx.cluster.netnsOf('node-1'), 'nft', 'insert', 'rule', 'inet', PREFIX, fw, 'accept']);
  assert.is(await ctx.appliers.get('node-1')!.reconcile(), 'repaired');
  await expectMatrix(into('x/a'), 80, 'TCP');
});

Enforcement('a script the kernel rejects keeps the old rules in force and the error names the failing line', async () => {
  const sets = await applyPolicy({ 'x/a': { ingress: [] } });
  const netns = ctx.cluster.netnsOf('node-1');
  const next = ruleSetsByNode(PODS, {}, {}, ++ctx.seq).get('node-1')!;
  const script = renderNft(next, { prefix: PREFIX }).replace(/ct state established,related accept/, 'ct state established,related accept\n\t\tip saddr 10.0.0.0.1 accept');
  const err = await nftLoad(script, { netns }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, KernelCommandError);
  const line = script.split('\n').findIndex((l) => l.includes('10.0.0.0.1')) + 1;
  assert.is((err as KernelCommandError).line, line);
  assert.match((err as KernelCommandError).message, `line ${line}`);
  await expectMatrix(into('x/a'), 80, 'TCP');

  // the same through the applier: it retries, reports, and keeps what it had applied
  const real = nftBackend({ prefix: PREFIX, netns });
  const broken: Backend = {
    ...real,
    load: async (rs, prev) => {
      if (rs.contentHash !== next.contentHash) return real.load(rs, prev);
      await nftLoad(script, { netns });
      return { mode: 'full', scriptBytes: script.length, kernelMs: 0 };
    },
  };
  const applier = newApplier(broken);
  await applier.apply(sets.get('node-1')!);
  const failed = await applier.apply(next).then(() => undefined, (e: unknown) => e);
  assert.instance(failed, ApplyError);
  assert.is(applier.status.lastError?.attempts, 3);
  assert.match(applier.status.lastError?.message ?? '', `line ${line}`);
  assert.equal(applier.status.applied?.version, sets.get('node-1')!.version);
  await expectMatrix(into('x/a'), 80, 'TCP');
});

Enforcement('switching between two rule sets never opens a pair both deny nor closes a pair both allow', async () => {
  // A: x/a admits only x/b; B: x/a admits only y/a. Both admit nothing else into x/a and leave the rest open
  const sets = [set('xb', 'x/b'), set('ya', 'y/a')];
  const rules = [rule('from-xb', 'ingress', [peers(['xb'])]), rule('from-ya', 'ingress', [peers(['ya'])])];
  const a = { 'x/a': { ingress: ['from-xb'] } }, b = { 'x/a': { ingress: ['from-ya'] } };
  const bothAllow = [['x/c', 'y/b'], ['y/c', 'x/b'], ['x/a', 'y/c'], ['y/b', 'x/c']];
  const bothDeny = [['x/c', 'x/a'], ['y/b', 'x/a'], ['y/c', 'x/a']];
  let switching = true, rounds = 0;
  const failures: string[] = [];
  const probeLoop = async (pairs: string[][], want: boolean, timeoutMs: number): Promise<void> => {
    while (switching) {
      const results = await ctx.cluster.probePairs(pairs.flatMap(([from, to]) => (['TCP', 'UDP'] as const).map((protocol) => ({ from: from!, to: to!, port: 80, protocol }))), timeoutMs);
      for (const r of results) if (r.allowed !== want) failures.push(`${r.from} -> ${r.to}: ${r.allowed ? 'passed' : 'failed'}`);
      rounds++;
    }
  };
  const loops = [probeLoop(bothAllow, true, 3_000), probeLoop(bothDeny, false, 300)];
  for (let i = 0; i < 12; i++) {
    await applyPolicy(i % 2 === 0 ? a : b, { sets, rules });
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
  switching = false;
  await Promise.all(loops);
  assert.ok(rounds >= 4, `the prober ran ${rounds} rounds`);
  assert.equal(failures, []);
});

async function listing(node: string): Promise<{ chain?: { name: string; hook?: string }; table?: { handle: number } }[]> {
  const json = (await nftListTable('inet', PREFIX, { netns: ctx.cluster.netnsOf(node) })) as { nftables: { chain?: { name: string; hook?: string }; table?: { handle: number } }[] };
  return json.nftables;
}

async function tableHandle(node: string): Promise<number | undefined> {
  return (await listing(node)).find((i) => i.table)?.table?.handle;
}

Enforcement.run();
