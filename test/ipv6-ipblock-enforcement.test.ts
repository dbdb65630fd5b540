import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { createLogger, makeRuleSet, type RuleSet } from '@knp/shared';
import { compileAll, emptyState, eventsFromObjects, evolveAll } from '@knp/compiler';
import { Applier, backendOf, otherKind, removeOtherBackend, type BackendKind } from '@knp/node-applier';
import { matrixMismatches, NetnsCluster, type PodSpec } from '@knp/sim';

/**
 * IPv6 ipBlock NetworkPolicies on real packets in a dual-stack netns cluster, with each backend in turn:
 * manifests compiled by @knp/compiler, each node's rule set loaded by @knp/node-applier's Applier, then a
 * pod x pod matrix probed over IPv6 and over IPv4 (an IPv6 ipBlock allows no IPv4 traffic).
 *   ingress: pods `app: server` accept only fd00:10:1::/64 except fd00:10:1::11/128 (so a, not b or c)
 *   egress:  pod a may send only to fd00:10:2::/64 (c and s, not b)
 */
const NODES = ['node-1', 'node-2'];
const PODS: PodSpec[] = [
  { name: 'v6/a', ip: '10.1.0.10', ip6: 'fd00:10:1::10', node: 'node-1' },
  { name: 'v6/b', ip: '10.1.0.11', ip6: 'fd00:10:1::11', node: 'node-1' },
  { name: 'v6/c', ip: '10.2.0.11', ip6: 'fd00:10:2::11', node: 'node-2' },
  { name: 'v6/s', ip: '10.2.0.10', ip6: 'fd00:10:2::10', node: 'node-2' },
];
const LABELS: Readonly<Record<string, Record<string, string>>> = { 'v6/a': { app: 'client' }, 'v6/b': { app: 'other' }, 'v6/c': { app: 'other' }, 'v6/s': { app: 'server' } };

function objects(): unknown[] {
  const pods = PODS.map((p) => {
    const [namespace, name] = p.name.split('/');
    return {
      apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name, labels: LABELS[p.name] },
      spec: { nodeName: p.node, containers: [{ name: 'agnhost', image: 'agnhost' }] },
      status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }, { ip: p.ip6 }] },
    };
  });
  const policy = (name: string, spec: unknown): unknown => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: 'v6', name }, spec });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'v6' } },
    ...pods,
    policy('server-from-block', { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: 'fd00:10:1::/64', except: ['fd00:10:1::11/128'] } }] }] }),
    policy('client-to-block', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: 'fd00:10:2::/64' } }] }] }),
  ];
}

/** The expected verdicts: over IPv6 the blocks decide; over IPv4 every isolated direction is closed. */
function expected(family: 4 | 6): (from: string, to: string) => boolean {
  return (from, to) => {
    const v6 = (name: string): string => PODS.find((p) => p.name === name)!.ip6!;
    const ingress = to !== 'v6/s' || (family === 6 && v6(from).startsWith('fd00:10:1:') && v6(from) !== 'fd00:10:1::11');
    const egress = from !== 'v6/a' || (family === 6 && v6(to).startsWith('fd00:10:2:'));
    return ingress && egress;
  };
}

function ruleSets(): Map<string, RuleSet> {
  const { events, errors, rejections } = eventsFromObjects(objects());
  assert.equal(errors, [], 'the objects parse');
  assert.equal(rejections, [], 'no field is rejected');
  const compiled = compileAll(evolveAll(emptyState('ipv6-ipblock'), events));
  return new Map(NODES.map((node) => {
    const rs = compiled[node];
    assert.ok(rs, `${node} has a rule set`);
    return [node, makeRuleSet({ node, pods: rs.pods, rules: rs.rules, sets: rs.sets }, { epoch: 'ipv6-ipblock', seq: 1 })];
  }));
}

const log = createLogger('ipv6-ipblock-test', 'silent');
const ctx = {} as { cluster: NetnsCluster };
const Ipv6IpBlock = suite('IPv6 ipBlock policies on real packets, both backends');

Ipv6IpBlock.before(async () => {
  ctx.cluster = await NetnsCluster.create({ nodes: NODES, pods: PODS, dualStack: true });
});
Ipv6IpBlock.after(async () => {
  await ctx.cluster?.destroy();
});

Ipv6IpBlock('with no policy loaded every pair passes over both families (the fixture itself)', async () => {
  for (const family of [4, 6] as const) assert.equal(await matrixMismatches(ctx.cluster, () => true, { port: 80, protocol: 'TCP', family }), []);
});

for (const kind of ['nftables', 'iptables'] as const satisfies readonly BackendKind[])
  Ipv6IpBlock(`${kind}: the IPv6 ipBlocks decide IPv6 traffic on TCP and UDP and close IPv4`, async () => {
    const options = (node: string) => ({ prefix: 'knp', netns: ctx.cluster.netnsOf(node) });
    let removed: boolean[] = [];
    try {
      for (const [node, rs] of ruleSets()) await new Applier(backendOf(kind, options(node)), { log }).apply(rs);
      const mismatches: string[] = [];
      for (const family of [6, 4] as const)
        for (const protocol of ['TCP', 'UDP'] as const) mismatches.push(...(await matrixMismatches(ctx.cluster, expected(family), { port: 80, protocol, family })));
      assert.equal(mismatches, []);
    } finally {
      // the other backend's test starts from a clean kernel: remove this backend's objects
      removed = await Promise.all(NODES.map((node) => removeOtherBackend(otherKind(kind), options(node))));
    }
    assert.equal(removed, [true, true], `both nodes held ${kind} objects, and they are gone`);
  });

Ipv6IpBlock.run();
