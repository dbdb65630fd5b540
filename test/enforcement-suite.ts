import type { Test } from 'uvu';
import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { createLogger, type AddressSet, type Rule, type RuleSet } from '@knp/shared';
import { Applier, ApplyError, KernelCommandError, backendOf, type Backend, type BackendKind } from '@knp/node-applier';
import { NetnsCluster, matrixMismatches, type Expect, type PodSpec } from '@knp/sim';
import { cidrSet, peers, podsSet, rule, ruleSetsByNode, tcp, udp, type PodPolicy } from '@knp/testing';
import { SwitchProber } from './switch-prober.js';

/**
 * The enforcement cases every backend must pass: hand-built rule sets (the IR) applied to two real node
 * namespaces and checked with real TCP and UDP packets between pod namespaces. x/a, x/c and y/b share
 * node-1; the others are on node-2. Each backend's test file runs them in its own process and adds what
 * is particular to it.
 */
export const PODS: PodSpec[] = [
  { name: 'x/a', ip: '10.1.0.11', node: 'node-1' },
  { name: 'x/b', ip: '10.2.0.12', node: 'node-2' },
  { name: 'x/c', ip: '10.1.0.13', node: 'node-1' },
  { name: 'y/a', ip: '10.2.0.21', node: 'node-2' },
  { name: 'y/b', ip: '10.1.0.22', node: 'node-1' },
  { name: 'y/c', ip: '10.2.0.23', node: 'node-2' },
];
export const PREFIX = 'knp';
const NODES = ['node-1', 'node-2'];
export const ip = (name: string): string => PODS.find((p) => p.name === name)!.ip;
export const into = (to: string): Expect => (_f, t) => t !== to;
export const everything: Expect = () => true;
export const set = (id: string, ...names: string[]): AddressSet => podsSet(id, names.map(ip));
type Content = { rules?: Rule[]; sets?: AddressSet[] };

/** What the shared cases need of a backend beyond `Backend`: how to see, tamper with and feed its kernel objects. */
export type EnforcementKernel = {
  readonly kind: BackendKind;
  /** For titles: 'nftables', 'iptables + ipset'. */
  readonly title: string;
  /** For titles: what our kernel objects are ('table', 'chains and sets'). */
  readonly objects: string;
  /** Our kernel objects in a form any write changes (nft: the table's handle; iptables: the save output). */
  written(netns: string): Promise<string>;
  /** Deletes our kernel objects the way an operator would, behind the applier's back. */
  deleteBehindOurBack(netns: string): Promise<void>;
  /** Adds a rule inside our objects that accepts everything, the way an operator would. */
  addAcceptRule(netns: string): Promise<void>;
  /** The script a full load of `next` sends, with one extra line naming 10.0.0.0.1 that the kernel refuses. */
  scriptWithBadLine(next: RuleSet, netns: string): Promise<string>;
  /** Sends a script the way the backend does (one transaction). */
  loadScript(script: string, netns: string): Promise<void>;
};

/** Two real nodes with an applier each; `applyPolicy` gives every rule set a new version. */
export class EnforcementCluster {
  private seq = 0;
  private readonly log = createLogger('enforcement-test', 'silent');
  readonly appliers: Map<string, Applier>;

  private constructor(readonly kernel: EnforcementKernel, readonly cluster: NetnsCluster) {
    this.appliers = new Map(NODES.map((node) => [node, this.newApplier(this.backend(node))]));
  }

  static async create(kernel: EnforcementKernel): Promise<EnforcementCluster> {
    return new EnforcementCluster(kernel, await NetnsCluster.create({ nodes: NODES, pods: PODS }));
  }

  netnsOf(node: string): string {
    return this.cluster.netnsOf(node);
  }

  backend(node: string): Backend {
    return backendOf(this.kernel.kind, { prefix: PREFIX, netns: this.netnsOf(node) });
  }

  newApplier(backend: Backend): Applier {
    return new Applier(backend, { log: this.log, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
  }

  /** Each node's rule set for the description under a new version. */
  nextRuleSets(policy: Record<string, PodPolicy>, content: Content = {}): Map<string, RuleSet> {
    return ruleSetsByNode(PODS, policy, content, ++this.seq);
  }

  /** Applies the description to both nodes (through `appliers`, default the fixture's) as a new version. */
  async applyPolicy(policy: Record<string, PodPolicy>, content: Content = {}, appliers = this.appliers): Promise<Map<string, RuleSet>> {
    const sets = this.nextRuleSets(policy, content);
    for (const [node, rs] of sets) await appliers.get(node)!.apply(rs);
    return sets;
  }

  async expectMatrix(expect: Expect, port: number, protocol: 'TCP' | 'UDP'): Promise<void> {
    assert.equal(await matrixMismatches(this.cluster, expect, { port, protocol }), []);
  }

  destroy(): Promise<void> {
    return this.cluster.destroy();
  }
}

export type EnforcementContext = { fx: EnforcementCluster };

/** The shared cases in a suite the caller may add to, then runs. */
export function enforcementSuite(kernel: EnforcementKernel): Test<EnforcementContext> {
  const Enforcement = suite<EnforcementContext>(`${kernel.title} enforcement on real packets`, {} as EnforcementContext);
  Enforcement.before(async (ctx) => {
    ctx.fx = await EnforcementCluster.create(kernel);
  });
  Enforcement.after(async (ctx) => {
    await ctx.fx?.destroy();
  });
  for (const [name, body] of sharedCases(kernel)) Enforcement(name, ({ fx }) => body(fx));
  return Enforcement;
}

function sharedCases(kernel: EnforcementKernel): Array<[name: string, body: (fx: EnforcementCluster) => Promise<void>]> {
  return [
    ['with no policy every pod reaches every other pod over TCP and UDP', async (fx) => {
      await fx.applyPolicy({});
      await fx.expectMatrix(everything, 80, 'TCP');
      await fx.expectMatrix(everything, 81, 'UDP');
    }],

    ['an ingress-isolated pod with no rules receives nothing, and every other pair stays open', async (fx) => {
      await fx.applyPolicy({ 'x/a': { ingress: [] } });
      await fx.expectMatrix(into('x/a'), 80, 'TCP');
      await fx.expectMatrix(into('x/a'), 80, 'UDP');
    }],

    ['ingress from a pod set on TCP 80 only admits exactly those pods on exactly that port', async (fx) => {
      const content = { sets: [set('from-xb-ya', 'x/b', 'y/a')], rules: [rule('r80', 'ingress', [peers(['from-xb-ya'], [tcp(80)])])] };
      await fx.applyPolicy({ 'x/a': { ingress: ['r80'] } }, content);
      await fx.expectMatrix((f, t) => t !== 'x/a' || f === 'x/b' || f === 'y/a', 80, 'TCP');
      await fx.expectMatrix(into('x/a'), 81, 'TCP');
      await fx.expectMatrix(into('x/a'), 80, 'UDP');
    }],

    ['an egress-isolated pod reaches only its allowed peers, and still answers everyone', async (fx) => {
      const content = { sets: [set('yb', 'y/b')], rules: [rule('to-yb', 'egress', [peers(['yb'], [udp(80), tcp(80)])])] };
      await fx.applyPolicy({ 'x/b': { egress: ['to-yb'] } }, content);
      const allowed: Expect = (f, t) => f !== 'x/b' || t === 'y/b';
      await fx.expectMatrix(allowed, 80, 'TCP');
      await fx.expectMatrix(allowed, 80, 'UDP');
    }],

    ['a same-node pair needs both the egress allow of the source and the ingress allow of the destination', async (fx) => {
      // x/a and x/c are both on node-1: the packet crosses node-1 once and both checks run there
      const sets = [set('xc', 'x/c'), set('xa', 'x/a'), set('yb', 'y/b')];
      const rules = [rule('to-xc', 'egress', [peers(['xc'])]), rule('from-yb', 'ingress', [peers(['yb'])]), rule('from-xa', 'ingress', [peers(['xa'])])];
      await fx.applyPolicy({ 'x/a': { egress: ['to-xc'] }, 'x/c': { ingress: ['from-yb'] } }, { sets, rules });
      await fx.expectMatrix((f, t) => (f !== 'x/a' || t === 'x/c') && (t !== 'x/c' || f === 'y/b') && !(f === 'x/a' && t === 'x/c'), 80, 'TCP');
      await fx.applyPolicy({ 'x/a': { egress: ['to-xc'] }, 'x/c': { ingress: ['from-xa'] } }, { sets, rules });
      await fx.expectMatrix((f, t) => (f !== 'x/a' || t === 'x/c') && (t !== 'x/c' || f === 'x/a'), 80, 'TCP');
      await fx.applyPolicy({ 'x/a': { egress: [] }, 'x/c': { ingress: ['from-xa'] } }, { sets, rules });
      await fx.expectMatrix((f, t) => f !== 'x/a' && t !== 'x/c', 80, 'UDP');
    }],

    ['an ipBlock with except admits the CIDR minus the holes (node-1 pods but x/a)', async (fx) => {
      const content = { sets: [cidrSet('blk', '10.0.0.0/8', ['10.2.0.0/24', `${ip('x/a')}/32`])], rules: [rule('blk', 'ingress', [peers(['blk'])])] };
      await fx.applyPolicy({ 'y/a': { ingress: ['blk'] } }, content);
      await fx.expectMatrix((f, t) => t !== 'y/a' || ['x/c', 'y/b'].includes(f), 80, 'TCP');
    }],

    ['an egress ipBlock 0.0.0.0/0 except one /32 loads and denies only that destination', async (fx) => {
      const content = { sets: [cidrSet('all-but', '0.0.0.0/0', [`${ip('y/c')}/32`])], rules: [rule('eg-all', 'egress', [peers(['all-but'])])] };
      await fx.applyPolicy({ 'x/a': { egress: ['eg-all'] } }, content);
      await fx.expectMatrix((f, t) => !(f === 'x/a' && t === 'y/c'), 81, 'UDP');
    }],

    ['a repeated rule set writes nothing to the kernel; an older version is ignored', async (fx) => {
      const content = { sets: [set('xb', 'x/b')], rules: [rule('from-xb', 'ingress', [peers(['xb'])])] };
      await fx.applyPolicy({ 'x/a': { ingress: ['from-xb'] } }, content);
      const node1 = fx.appliers.get('node-1')!, netns = fx.netnsOf('node-1');
      const before = { writes: node1.status.kernelWrites, written: await kernel.written(netns) };
      const again = fx.nextRuleSets({ 'x/a': { ingress: ['from-xb'] } }, content).get('node-1')!;
      assert.equal(await node1.apply(again), { kind: 'unchanged' });
      const older = ruleSetsByNode(PODS, {}, {}, 1).get('node-1')!;
      assert.is((await node1.apply(older)).kind, 'stale');
      assert.is(node1.status.kernelWrites, before.writes);
      assert.is(await kernel.written(netns), before.written, `the kernel holds the same ${kernel.objects}, not rewritten ones`);
      assert.equal(node1.status.applied?.version, again.version);
      await fx.expectMatrix((f, t) => t !== 'x/a' || f === 'x/b', 80, 'TCP');
    }],

    [`reconcile finds clean rules in sync and brings deleted ${kernel.objects} back`, async (fx) => {
      await fx.applyPolicy({ 'x/a': { ingress: [] } });
      const node1 = fx.appliers.get('node-1')!;
      assert.is(await node1.reconcile(), 'in-sync');
      await kernel.deleteBehindOurBack(fx.netnsOf('node-1'));
      await fx.expectMatrix(everything, 80, 'TCP');
      assert.is(await node1.reconcile(), 'repaired');
      assert.is(await node1.reconcile(), 'in-sync');
      await fx.expectMatrix(into('x/a'), 80, 'TCP');
    }],

    [`reconcile repairs a rule someone added to our ${kernel.objects}`, async (fx) => {
      await fx.applyPolicy({ 'x/a': { ingress: [] } });
      const node1 = fx.appliers.get('node-1')!;
      assert.is(await node1.reconcile(), 'in-sync', 'the reference is read before anyone touches the rules');
      await kernel.addAcceptRule(fx.netnsOf('node-1'));
      await fx.expectMatrix(everything, 80, 'TCP');
      assert.is(await node1.reconcile(), 'repaired');
      await fx.expectMatrix(into('x/a'), 80, 'TCP');
    }],

    ['a script the kernel rejects keeps the old rules in force and the error names the failing line', async (fx) => {
      const sets = await fx.applyPolicy({ 'x/a': { ingress: [] } });
      const netns = fx.netnsOf('node-1');
      const next = fx.nextRuleSets({}).get('node-1')!;
      const script = await kernel.scriptWithBadLine(next, netns);
      const err = await kernel.loadScript(script, netns).then(() => undefined, (e: unknown) => e);
      assert.instance(err, KernelCommandError);
      const line = script.split('\n').findIndex((l) => l.includes('10.0.0.0.1')) + 1;
      assert.ok(line > 0, 'the script holds the bad line');
      assert.is((err as KernelCommandError).line, line);
      assert.match((err as KernelCommandError).message, `line ${line}`);
      await fx.expectMatrix(into('x/a'), 80, 'TCP');

      // the same through the applier: it retries, reports, and keeps what it had applied
      const real = fx.backend('node-1');
      const broken: Backend = {
        ...real,
        load: async (rs, prev) => {
          if (rs.contentHash !== next.contentHash) return real.load(rs, prev);
          await kernel.loadScript(script, netns);
          return { mode: 'full', scriptBytes: script.length, kernelMs: 0 };
        },
      };
      const applier = fx.newApplier(broken);
      await applier.apply(sets.get('node-1')!);
      const failed = await applier.apply(next).then(() => undefined, (e: unknown) => e);
      assert.instance(failed, ApplyError);
      assert.is(applier.status.lastError?.attempts, 3);
      assert.match(applier.status.lastError?.message ?? '', `line ${line}`);
      assert.equal(applier.status.applied?.version, sets.get('node-1')!.version);
      await fx.expectMatrix(into('x/a'), 80, 'TCP');
    }],

    ['switching between two rule sets never opens a pair both deny nor closes a pair both allow', async (fx) => {
      // A: x/a admits only x/b; B: x/a admits only y/a. Both admit nothing else into x/a and leave the rest open
      const content = { sets: [set('xb', 'x/b'), set('ya', 'y/a')], rules: [rule('from-xb', 'ingress', [peers(['xb'])]), rule('from-ya', 'ingress', [peers(['ya'])])] };
      const a = { 'x/a': { ingress: ['from-xb'] } }, b = { 'x/a': { ingress: ['from-ya'] } };
      const pairs = (list: string[][]) => list.map(([from, to]) => ({ from: from!, to: to! }));
      const allowed = pairs([['x/c', 'y/b'], ['y/c', 'x/b'], ['x/a', 'y/c'], ['y/b', 'x/c']]);
      const denied = pairs([['x/c', 'x/a'], ['y/b', 'x/a'], ['y/c', 'x/a']]);
      const prober = new SwitchProber(fx.cluster, { allowed, denied, port: 80 });
      // every load waits until the prober has probed the kernel as the previous load left it
      const appliers = new Map(NODES.map((node) => [node, fx.newApplier(prober.hold(fx.backend(node)))]));
      for (let i = 0; i < 12; i++) await fx.applyPolicy(i % 2 === 0 ? a : b, content, appliers);
      await prober.stop();
      assert.ok(prober.heldSteps >= 12, `every switch was a kernel step under the prober (${prober.heldSteps})`);
      assert.equal(prober.failures, []);
    }],
  ];
}
