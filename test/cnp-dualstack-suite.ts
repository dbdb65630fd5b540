import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { createLogger, makeRuleSet } from '@knp/shared';
import { compileAll, compileNode, emptyState, eventsFromObjects, evolveAll, nodesOf } from '@knp/compiler';
import { Applier, backendOf, type BackendKind } from '@knp/node-applier';
import { NetnsCluster, type AddressProbe, type Endpoint, type PodSpec } from '@knp/sim';

/**
 * ClusterNetworkPolicy `networks` (IPv6 and IPv4 CIDRs) and `nodes` peers on real packets in a dual-stack
 * netns cluster with node listeners, with one backend: the client pods (namespace `c`, one per node) are
 * the subjects; the servers (namespace `s`, one per node) and both nodes' addresses are the destinations,
 * each probed over IPv4 and IPv6. A client's probe to its own node's address is delivered locally (the
 * node's input hook, never forward): its egress must apply there too. The node's own traffic to its pods
 * (output hook) is never filtered: a pod's node can always reach it, even when a NetworkPolicy isolates
 * the pod's ingress (checked in the last case).
 */
const NODES = ['node-1', 'node-2'] as const;
const PODS: PodSpec[] = [
  { name: 'c/client-1', ip: '10.1.0.10', ip6: 'fd00:10:1::10', node: 'node-1' },
  { name: 's/server-1', ip: '10.1.0.20', ip6: 'fd00:10:1::20', node: 'node-1' },
  { name: 'c/client-2', ip: '10.2.0.10', ip6: 'fd00:10:2::10', node: 'node-2' },
  { name: 's/server-2', ip: '10.2.0.20', ip6: 'fd00:10:2::20', node: 'node-2' },
];
const CLIENTS = ['c/client-1', 'c/client-2'];

type Destination = { readonly label: string; readonly ip: string };
/** What a case expects of a probe from `from` to a destination (by label: `s/server-2 v6`, `node-1 v4`). */
type Case = {
  readonly name: string;
  readonly objects: () => unknown[];
  readonly expect: (from: string, to: string) => boolean;
  /** Probes from the nodes to the clients too (label `node-1 -> c/client-1 v4`). */
  readonly fromNodes?: (node: string, to: string) => boolean;
};

const cnp = (name: string, egress: unknown[]): unknown => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha2', kind: 'ClusterNetworkPolicy', metadata: { name },
  spec: { tier: 'Admin', priority: 10, subject: { namespaces: { matchLabels: { role: 'client' } } }, egress },
});

export function runCnpDualStack(kind: BackendKind): void {
  const log = createLogger(`cnp-dualstack-${kind}-test`, 'silent');
  const ctx = {} as { cluster: NetnsCluster; appliers: Map<string, Applier>; seq: number; setupMs: number };
  const DualStack = suite(`ClusterNetworkPolicy networks and nodes peers over IPv4 and IPv6 (${kind})`);

  DualStack.before(async () => {
    const start = performance.now();
    ctx.cluster = await NetnsCluster.create({ nodes: [...NODES], pods: PODS, dualStack: true, nodeListeners: { ports: [80] } });
    ctx.appliers = new Map(NODES.map((node) => [node, new Applier(backendOf(kind, { prefix: 'knp', netns: ctx.cluster.netnsOf(node) }), { log })]));
    ctx.seq = 0;
    ctx.setupMs = performance.now() - start;
  });
  DualStack.after(async () => {
    process.stdout.write(`dual-stack CNP cluster set up in ${ctx.setupMs.toFixed(0)} ms\n`);
    await ctx.cluster?.destroy();
  });

  /** The model: namespaces, both Nodes with their addresses of both families, the four pods. */
  function model(): unknown[] {
    const pods = PODS.map((p) => {
      const [namespace, name] = p.name.split('/');
      return {
        apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name, labels: { app: name } },
        spec: { nodeName: p.node, containers: [{ name: 'agnhost', image: 'agnhost' }] },
        status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }, { ip: p.ip6 }] },
      };
    });
    const nodes = NODES.map((name) => ({
      apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      status: { addresses: ctx.cluster.nodeIps(name).map((address) => ({ type: 'InternalIP', address })) },
    }));
    return [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'c', labels: { role: 'client' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 's', labels: { role: 'server' } } },
      ...nodes,
      ...pods,
    ];
  }

  function destinations(): Destination[] {
    return [
      ...PODS.flatMap((p) => [{ label: `${p.name} v4`, ip: p.ip }, { label: `${p.name} v6`, ip: p.ip6! }]),
      ...NODES.flatMap((n) => { const [v4, v6] = ctx.cluster.nodeIps(n); return [{ label: `${n} v4`, ip: v4! }, { label: `${n} v6`, ip: v6! }]; }),
    ];
  }

  async function apply(objects: unknown[]): Promise<void> {
    const { events, errors } = eventsFromObjects([...model(), ...objects]);
    assert.equal(errors, [], 'the objects parse');
    const state = evolveAll(emptyState('cnp-dualstack'), events);
    assert.equal(nodesOf(state).flatMap((node) => compileNode(state, node).rejections), [], 'nothing rejected');
    const compiled = compileAll(state);
    const seq = ++ctx.seq;
    await Promise.all(NODES.map((node) => {
      const rs = compiled[node];
      const content = rs
        ? { node, pods: rs.pods, rules: rs.rules, sets: rs.sets, ...(rs.tierRules ? { tierRules: rs.tierRules } : {}) }
        : { node, pods: [], rules: [], sets: [] };
      return ctx.appliers.get(node)!.apply(makeRuleSet(content, { epoch: 'cnp-dualstack', seq }));
    }));
  }

  /** Probes every check in parallel; an expected pass that timed out is tried again slowly; returns the wrong ones. */
  async function wrongOf(checks: readonly (AddressProbe & { label: string; expected: boolean })[]): Promise<string[]> {
    const got = await ctx.cluster.probeAddresses(checks, 400);
    const slow = checks.flatMap((c, i) => (!got[i] && c.expected ? [i] : []));
    const again = await ctx.cluster.probeAddresses(slow.map((i) => checks[i]!), 2_000);
    slow.forEach((i, j) => (got[i] = again[j]!));
    return checks.flatMap((c, i) => (got[i] === c.expected ? [] : [`${c.label} ${c.protocol}: expected ${c.expected ? 'allow' : 'deny'}, got ${got[i] ? 'allow' : 'deny'}`]));
  }

  const v6Range = (node: 'node-1' | 'node-2'): string => `fd00:10:${node.slice(-1)}::/64`;
  const cases: Case[] = [
    {
      name: 'Deny to an IPv6 networks peer (node-2\'s pod /64) drops IPv6 to those pods only; IPv4 to them stays open',
      objects: () => [cnp('deny-v6-pods', [{ action: 'Deny', to: [{ networks: [v6Range('node-2')] }] }])],
      expect: (_from, to) => !(to.endsWith(' v6') && to.includes('-2 ') && !to.startsWith('node')),
    },
    {
      name: 'Deny to the nodes\' IPv6 addresses (a /64 networks peer): own node and the other, IPv4 to them stays open',
      objects: () => [cnp('deny-v6-nodes', [{ action: 'Deny', to: [{ networks: ['fd00:ffff:254::/64'] }] }])],
      expect: (_from, to) => !(to.startsWith('node') && to.endsWith(' v6')),
    },
    {
      name: 'Accept node-1 over IPv6 and node-2 over IPv4 (/128 and /32), then Deny ::/0 and 0.0.0.0/0',
      objects: () => [cnp('pinned', [
        { action: 'Accept', to: [{ networks: [`${ctx.cluster.nodeIps('node-1')[1]}/128`, `${ctx.cluster.nodeIps('node-2')[0]}/32`] }] },
        { action: 'Deny', to: [{ networks: ['::/0', '0.0.0.0/0'] }] },
      ])],
      expect: (_from, to) => to === 'node-1 v6' || to === 'node-2 v4',
    },
    {
      name: 'Deny to a nodes peer (every Node) drops both families to both nodes\' addresses; pods stay reachable',
      objects: () => [cnp('deny-nodes', [{ action: 'Deny', to: [{ nodes: {} }] }])],
      expect: (_from, to) => !to.startsWith('node'),
    },
    {
      name: 'a NetworkPolicy isolating the clients\' ingress: the other node is refused, the pod\'s own node still reaches it',
      objects: () => [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: 'c', name: 'deny-ingress' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }],
      // the clients' own egress is not limited; a client to the other client is refused by its ingress
      expect: (_from, to) => !CLIENTS.includes(to.split(' ')[0]!),
      fromNodes: (node, to) => PODS.find((p) => p.name === to.split(' ')[0])!.node === node,
    },
  ];

  for (const c of cases)
    DualStack(c.name, async () => {
      await apply(c.objects());
      const dests = destinations();
      const checks = CLIENTS.flatMap((from) => dests.filter((d) => !d.label.startsWith(`${from} `)).flatMap((d) =>
        (['TCP', 'UDP'] as const).map((protocol) => ({ from: from as Endpoint, ip: d.ip, port: 80, protocol, label: `${from} -> ${d.label}`, expected: c.expect(from, d.label) }))));
      const fromNodes = c.fromNodes;
      if (fromNodes)
        for (const node of NODES)
          for (const to of CLIENTS)
            for (const family of [4, 6] as const)
              checks.push({ from: { node }, ip: ctx.cluster.ipOf(to, family), port: 80, protocol: 'TCP', label: `${node} -> ${to} v${family}`, expected: fromNodes(node, `${to} v${family}`) });
      assert.equal(await wrongOf(checks), []);
    });

  DualStack.run();
}
