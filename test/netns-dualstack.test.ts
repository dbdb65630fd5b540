import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { inNetns, matrixMismatches, NetnsCluster, sh, type Endpoint, type PodSpec } from '@knp/sim';

/**
 * The dual-stack netns cluster with node listeners, on real packets: IPv6 between pods on one node and
 * across nodes, pods to node addresses and nodes to pods in both families, and which hook of which node
 * each path crosses (shown by a plain nft drop rule that makes the probe fail, then goes away).
 */
const PODS: PodSpec[] = [
  { name: 'a', ip: '10.1.0.10', ip6: 'fd00:10:1::10', node: 'node-1' },
  { name: 'b', ip: '10.1.0.11', ip6: 'fd00:10:1::11', node: 'node-1' },
  { name: 'c', ip: '10.2.0.10', ip6: 'fd00:10:2::10', node: 'node-2' },
  { name: 'v4only', ip: '10.2.0.11', node: 'node-2' },
];
const DUAL = ['a', 'b', 'c'];
const ctx = {} as { cluster: NetnsCluster; setupMs: number };
const DualStack = suite('netns cluster: dual-stack pods and node listeners');

DualStack.before(async () => {
  const start = performance.now();
  ctx.cluster = await NetnsCluster.create({ nodes: ['node-1', 'node-2'], pods: PODS, dualStack: true, nodeListeners: { ports: [80] } });
  ctx.setupMs = performance.now() - start;
  process.stdout.write(`dual-stack 2-node cluster with 4 pods and node listeners: set up in ${ctx.setupMs.toFixed(0)} ms\n`);
});
DualStack.after(async () => {
  await ctx.cluster?.destroy();
});

/** Loads `chain` (nft chain body lines) as a base chain on `hook` of node `node`, runs `check`, removes it again. */
async function withNftChain(node: string, hook: 'forward' | 'input', lines: readonly string[], check: () => Promise<void>): Promise<void> {
  const netns = ctx.cluster.netnsOf(node);
  await inNetns(netns, ['nft', '-f', '-'], `table inet probe {\n chain c {\n  type filter hook ${hook} priority 0; policy accept;\n  ${lines.join('\n  ')}\n }\n}\n`);
  try {
    await check();
  } finally {
    await inNetns(netns, ['nft', 'delete', 'table', 'inet', 'probe']);
  }
}

const ipv6 = (node: string): string => ctx.cluster.nodeIps(node)[1]!;
/**
 * Whether one probe is answered: for expected drops only (a probe answered where a drop was expected is
 * a failure no timing can cause; expected passes use `reachesIp`, which retries with a long timeout).
 */
const answers = async (from: Endpoint, ip: string, protocol: 'TCP' | 'UDP' = 'TCP', port = 80): Promise<boolean> =>
  (await ctx.cluster.probeAddresses([{ from, ip, port, protocol }], 500))[0]!;
const ipv4 = (node: string): string => ctx.cluster.nodeIps(node)[0]!;

DualStack('every pod reaches every other over IPv6 on TCP and UDP, on one node and across nodes', async () => {
  for (const protocol of ['TCP', 'UDP'] as const)
    assert.equal(await matrixMismatches(ctx.cluster, () => true, { port: 80, protocol, pods: DUAL, family: 6 }), []);
});

DualStack('IPv4 still works between every pod, a dual-stack one and an IPv4-only one alike', async () => {
  for (const protocol of ['TCP', 'UDP'] as const)
    assert.equal(await matrixMismatches(ctx.cluster, () => true, { port: 81, protocol }), []);
});

DualStack('nodes have one address per family, which a Node object can list', () => {
  assert.equal(ctx.cluster.nodeIps('node-1'), ['172.31.254.1', 'fd00:ffff:254::1']);
  assert.equal(ctx.cluster.nodeIps('node-2'), ['172.31.254.2', 'fd00:ffff:254::2']);
  assert.throws(() => ctx.cluster.ipOf('v4only', 6), /no IPv6 address/);
});

DualStack('a pod reaches both nodes\' addresses in both families on TCP and UDP, and each node reaches the pods', async () => {
  const probes = ['node-1', 'node-2'].flatMap((node) => ctx.cluster.nodeIps(node).flatMap((ip) => (['TCP', 'UDP'] as const).map((protocol) => ({ from: 'a', ip, port: 80, protocol }))));
  const fromNodes = ['node-1', 'node-2'].flatMap((node) => ['a', 'c'].flatMap((pod) => [ctx.cluster.ipOf(pod), ctx.cluster.ipOf(pod, 6)].map((ip) => ({ from: { node }, ip, port: 80, protocol: 'UDP' as const }))));
  const all = [...probes, ...fromNodes];
  const results = await ctx.cluster.probeAddresses(all, 1_500);
  assert.equal(all.filter((_, i) => !results[i]).map((p) => `${JSON.stringify(p.from)} -> ${p.ip} ${p.protocol}`), []);
});

DualStack('a node listener serves only its node addresses and ports: nothing answers on a port it does not serve', async () => {
  assert.is(await answers('a', ipv6('node-2'), 'TCP', 81), false);
});

DualStack('an nft drop of one IPv6 destination in the source pod\'s node fails that probe only', async () => {
  const c6 = ctx.cluster.ipOf('c', 6);
  await withNftChain('node-1', 'forward', [`ip6 daddr ${c6} drop`], async () => {
    assert.is(await answers('a', c6, 'TCP'), false, 'a -> c over IPv6 TCP is dropped');
    assert.is(await answers('a', c6, 'UDP'), false, 'a -> c over IPv6 UDP is dropped');
    assert.ok(await ctx.cluster.reachesIp('a', ctx.cluster.ipOf('c')), 'a -> c over IPv4 still passes');
    assert.ok(await ctx.cluster.reachesIp('a', ctx.cluster.ipOf('b', 6)), 'a -> b over IPv6 still passes');
  });
  assert.ok(await ctx.cluster.reachesIp('a', c6), 'a -> c over IPv6 passes again once the rule is gone');
});

DualStack('a pod to another node\'s address crosses its own node\'s forward hook (where egress is enforced)', async () => {
  await withNftChain('node-1', 'forward', [`ip6 daddr ${ipv6('node-2')} drop`, `ip daddr ${ipv4('node-2')} drop`], async () => {
    for (const ip of ctx.cluster.nodeIps('node-2')) assert.is(await answers('a', ip), false, `a -> ${ip}`);
    assert.ok(await ctx.cluster.reachesIp('c', ipv6('node-2')), 'c, on node-2 itself, is not filtered by node-1');
  });
});

DualStack('a node to a pod on another node comes from the node address and crosses the pod\'s node forward hook (ingress)', async () => {
  await withNftChain('node-1', 'forward', [`ip6 saddr ${ipv6('node-2')} drop`, `ip saddr ${ipv4('node-2')} drop`], async () => {
    assert.is(await answers({ node: 'node-2' }, ctx.cluster.ipOf('a', 6)), false);
    assert.is(await answers({ node: 'node-2' }, ctx.cluster.ipOf('a')), false);
    assert.ok(await ctx.cluster.reachesIp({ node: 'node-1' }, ctx.cluster.ipOf('a', 6)), 'node-1 to its own pod is not from node-2');
  });
});

DualStack('a pod to its own node\'s address is delivered locally: the input hook sees it, the forward hook does not', async () => {
  const own = ipv6('node-1');
  await withNftChain('node-1', 'forward', [`ip6 daddr ${own} drop`], async () => {
    assert.ok(await ctx.cluster.reachesIp('a', own), 'a forward-hook rule does not see it');
  });
  await withNftChain('node-1', 'input', [`ip6 daddr ${own} tcp dport 80 drop`], async () => {
    assert.is(await answers('a', own), false, 'an input-hook rule does');
  });
});

DualStack('a dual-stack pod added to the running cluster is reachable over IPv6 from both nodes\' pods and from its node', async () => {
  await ctx.cluster.addPod({ name: 'late', ip: '10.2.0.12', ip6: 'fd00:10:2::12', node: 'node-2', ports: [80] });
  const late6 = ctx.cluster.ipOf('late', 6);
  for (const from of ['a', 'c', { node: 'node-1' }, { node: 'node-2' }] as const) assert.ok(await ctx.cluster.reachesIp(from, late6, 80, 'UDP'), `${JSON.stringify(from)} -> late`);
});

DualStack('a pod with an IPv6 address is refused by an IPv4-only cluster', async () => {
  const refused = await NetnsCluster.create({ nodes: ['node-1'], pods: [{ name: 'x', ip: '10.9.0.1', ip6: 'fd00:9::1', node: 'node-1' }] }).then(
    (c) => c.destroy().then(() => 'created'),
    (err: Error) => err.message,
  );
  assert.match(refused, /not dualStack/);
});

DualStack('destroy removes every namespace of the run', async () => {
  await ctx.cluster.destroy();
  const left = (await sh(['ip', 'netns', 'list'])).split('\n').filter((line) => line.startsWith(`knpt${ctx.cluster.runId}-`));
  assert.equal(left, []);
});

DualStack.run();
