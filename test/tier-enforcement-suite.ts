import * as assert from 'uvu/assert';
import { createLogger, type AddressSet, type Rule, type RuleSet, type TierRule } from '@knp/shared';
import { Applier, backendOf, type BackendKind } from '@knp/node-applier';
import { NetnsCluster, matrixMismatches, type Expect, type PodSpec } from '@knp/sim';
import { localPod, nodesSet, peers, podsSet, rule, tcp, tierRule, tieredRuleSet, udp, withTiers, type PodTiers, suite } from '@knp/testing';

/**
 * ClusterNetworkPolicy tiers on real packets, from hand-written IR (rule sets with tier rules): two node
 * namespaces, six pod namespaces, TCP and UDP probes through each backend. x/a, x/c and y/b are on
 * node-1, the others on node-2, so both same-node and cross-node pairs cross a forward hook we hold.
 * Each backend's test file runs this in its own process, with its own namespaces.
 */
const PODS: PodSpec[] = [
  { name: 'x/a', ip: '10.31.1.11', node: 'node-1' },
  { name: 'x/b', ip: '10.31.2.12', node: 'node-2' },
  { name: 'x/c', ip: '10.31.1.13', node: 'node-1' },
  { name: 'y/a', ip: '10.31.2.21', node: 'node-2' },
  { name: 'y/b', ip: '10.31.1.22', node: 'node-1' },
  { name: 'y/c', ip: '10.31.2.23', node: 'node-2' },
];
const NODES = ['node-1', 'node-2'];
const ip = (name: string): string => PODS.find((p) => p.name === name)!.ip;
const set = (id: string, ...names: string[]): AddressSet => podsSet(id, names.map(ip));

type PodDecl = { ingress?: string[]; egress?: string[]; tiers?: PodTiers };
type Content = { rules?: Rule[]; sets?: AddressSet[]; tierRules?: TierRule[] };

export function tierEnforcementSuite(kind: BackendKind, title: string): void {
  const log = createLogger(`tiers-${kind}-test`, 'silent');
  const ctx = {} as { cluster: NetnsCluster; appliers: Map<string, Applier>; seq: number };
  const Tiers = suite(`ClusterNetworkPolicy tiers on real packets (${title})`);

  Tiers.before(async () => {
    ctx.cluster = await NetnsCluster.create({ nodes: NODES, pods: PODS });
    ctx.appliers = new Map(NODES.map((node) => [node, new Applier(backendOf(kind, { prefix: 'knp', netns: ctx.cluster.netnsOf(node) }), { log })]));
    ctx.seq = 0;
  });
  Tiers.after(async () => {
    await ctx.cluster?.destroy();
  });

  /** Applies each node's share of the description as a new version; the load modes, by node. */
  async function apply(policy: Record<string, PodDecl>, content: Content): Promise<string[]> {
    const seq = ++ctx.seq, modes: string[] = [];
    for (const node of NODES) {
      const pods = PODS.filter((p) => p.node === node).map((p) => withTiers(localPod({ name: p.name, ips: [p.ip], ingress: policy[p.name]?.ingress, egress: policy[p.name]?.egress }), policy[p.name]?.tiers));
      const outcome = await ctx.appliers.get(node)!.apply(tieredRuleSet({ node, pods, rules: content.rules, sets: content.sets, tierRules: content.tierRules }, seq, 'tiers'));
      modes.push(outcome.kind === 'applied' ? outcome.mode : outcome.kind);
    }
    return modes;
  }
  const expectMatrix = async (expect: Expect, protocol: 'TCP' | 'UDP' = 'TCP', port = 80): Promise<void> =>
    assert.equal(await matrixMismatches(ctx.cluster, expect, { port, protocol }), []);

  Tiers('admin Deny beats a NetworkPolicy allow; what it does not match stays with NetworkPolicy', async () => {
    await apply({ 'x/a': { ingress: ['np'], tiers: { ingress: { admin: ['deny-ya'] } } } }, {
      sets: [set('xb-ya', 'x/b', 'y/a'), set('ya', 'y/a')],
      rules: [rule('np', 'ingress', [peers(['xb-ya'])])],
      tierRules: [tierRule('deny-ya', 'ingress', 'Deny', [peers(['ya'])])],
    });
    await expectMatrix((f, t) => t !== 'x/a' || f === 'x/b');
    await expectMatrix((f, t) => t !== 'x/a' || f === 'x/b', 'UDP');
  });

  Tiers('admin Accept beats NetworkPolicy isolation on ingress and egress, and an egress Accept still meets the destination\'s ingress', async () => {
    await apply({
      'x/a': { ingress: [], tiers: { ingress: { admin: ['from-xb'] } } },
      'x/b': { egress: [], tiers: { egress: { admin: ['eg-all'] } } },
      'y/a': { ingress: [] },
    }, {
      sets: [set('xb', 'x/b')],
      tierRules: [tierRule('from-xb', 'ingress', 'Accept', [peers(['xb'])]), tierRule('eg-all', 'egress', 'Accept', [peers('any')])],
    });
    await expectMatrix((f, t) => (t !== 'x/a' || f === 'x/b') && t !== 'y/a');
  });

  Tiers('Pass leaves the admin tier for NetworkPolicy; later admin rules still catch the rest', async () => {
    await apply({ 'x/a': { ingress: ['np-xb'], tiers: { ingress: { admin: ['pass-xb-ya', 'deny-all'] } } } }, {
      sets: [set('xb-ya', 'x/b', 'y/a'), set('xb', 'x/b')],
      rules: [rule('np-xb', 'ingress', [peers(['xb'])])],
      tierRules: [tierRule('pass-xb-ya', 'ingress', 'Pass', [peers(['xb-ya'])]), tierRule('deny-all', 'ingress', 'Deny', [peers('any')])],
    });
    await expectMatrix((f, t) => t !== 'x/a' || f === 'x/b');
  });

  Tiers('Pass with no NetworkPolicy goes on to the baseline tier, whose Deny decides', async () => {
    await apply({ 'y/a': { tiers: { ingress: { admin: ['pass-xc', 'deny-some'], baseline: ['b-deny-xc'] } } } }, {
      sets: [set('xc', 'x/c'), set('some', 'x/c', 'y/b', 'x/a')],
      tierRules: [
        tierRule('pass-xc', 'ingress', 'Pass', [peers(['xc'])]),
        tierRule('deny-some', 'ingress', 'Deny', [peers(['some'])]),
        tierRule('b-deny-xc', 'ingress', 'Deny', [peers(['xc'])], 'baseline'),
      ],
    });
    await expectMatrix((f, t) => t !== 'y/a' || f === 'x/b' || f === 'y/c');
  });

  Tiers('a baseline Deny applies only to pods no NetworkPolicy isolates', async () => {
    await apply({ 'y/a': { tiers: { ingress: { baseline: ['b-deny-all'] } } }, 'y/c': { ingress: ['np-xa'], tiers: { ingress: { baseline: ['b-deny-all'] } } } }, {
      sets: [set('xa', 'x/a')],
      rules: [rule('np-xa', 'ingress', [peers(['xa'])])],
      tierRules: [tierRule('b-deny-all', 'ingress', 'Deny', [peers('any')], 'baseline')],
    });
    await expectMatrix((f, t) => t !== 'y/a' && (t !== 'y/c' || f === 'x/a'));
  });

  Tiers('rules within a tier decide in order: Accept before Deny admits, Deny before Accept does not', async () => {
    await apply({
      'x/c': { tiers: { ingress: { admin: ['acc-yb-80', 'deny-all'] } } },
      'x/b': { tiers: { ingress: { admin: ['deny-all', 'acc-yb-80'] } } },
      'y/c': { tiers: { egress: { admin: ['eg-deny-node'] } } },
    }, {
      sets: [set('yb', 'y/b'), nodesSet('node-ish', [ip('x/a')])],
      tierRules: [
        tierRule('acc-yb-80', 'ingress', 'Accept', [peers(['yb'], [tcp(80)])]),
        tierRule('deny-all', 'ingress', 'Deny', [peers('any')]),
        tierRule('eg-deny-node', 'egress', 'Deny', [peers(['node-ish'], [udp(80)])]),
      ],
    });
    await expectMatrix((f, t) => (t !== 'x/c' || f === 'y/b') && t !== 'x/b');
    // UDP: the Accept is TCP 80 only; the nodes set (rendered like pods) holds x/a's address
    await expectMatrix((f, t) => t !== 'x/c' && t !== 'x/b' && !(f === 'y/c' && t === 'x/a'), 'UDP');
  });

  Tiers('set members added and removed under tier rules are applied as deltas and take effect', async () => {
    const content = (...members: string[]): Content => ({
      sets: [set('admitted', ...members), set('xb', 'x/b')],
      rules: [rule('np-xb', 'ingress', [peers(['xb'])])],
      tierRules: [tierRule('acc', 'ingress', 'Accept', [peers(['admitted'])]), tierRule('b-deny', 'ingress', 'Deny', [peers('any')], 'baseline')],
    });
    const policy = { 'x/a': { tiers: { ingress: { admin: ['acc'], baseline: ['b-deny'] } } }, 'y/a': { ingress: ['np-xb'], tiers: { ingress: { admin: ['acc'] } } } };
    await apply(policy, content('y/c'));
    await expectMatrix((f, t) => (t !== 'x/a' || f === 'y/c') && (t !== 'y/a' || f === 'x/b' || f === 'y/c'));
    assert.equal(await apply(policy, content('y/c', 'x/c')), ['delta', 'delta']);
    await expectMatrix((f, t) => (t !== 'x/a' || f === 'y/c' || f === 'x/c') && (t !== 'y/a' || f === 'x/b' || f === 'y/c' || f === 'x/c'));
    assert.equal(await apply(policy, content('x/c')), ['delta', 'delta']);
    await expectMatrix((f, t) => (t !== 'x/a' || f === 'x/c') && (t !== 'y/a' || f === 'x/b' || f === 'x/c'));
  });

  Tiers.run();
}
