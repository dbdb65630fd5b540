import * as assert from 'uvu/assert';
import { createLogger, type AddressSet, type RuleSet } from '@knp/shared';
import { Applier, backendOf, iptablesBackend, ipsetNames, nftBackend, removeOtherBackend, switchBackend, type Backend, type BackendKind } from '@knp/node-applier';
import { NetnsCluster, type PodSpec } from '@knp/sim';
import { matrixMismatches } from '@knp/sim';
import { SwitchProber } from './switch-prober.js';
import { localPod, peers, podPortsSet, podsSet, rule, ruleSet, ruleSetsByNode, tcp, udp, suite } from '@knp/testing';

/**
 * Set-member changes through the incremental path, on both backends, against what a full load of the same
 * rule set gives (kernel read-backs compared); and switching KNP_BACKEND on a live node: the new backend's
 * objects only at the end, and enforcement never open on the way.
 */
const PREFIX = 'knp';
const log = createLogger('iptables-incremental-test', 'silent');
const KINDS: readonly BackendKind[] = ['nftables', 'iptables'];

const ctx = {} as { scratch: NetnsCluster; cluster: NetnsCluster };
const Incremental = suite('incremental path == full load (kernel read-backs)');

Incremental.before(async () => {
  ctx.scratch = await NetnsCluster.create({ nodes: ['inc-a', 'inc-b'], pods: [] });
});
Incremental.after(async () => {
  await ctx.scratch?.destroy();
});

/** A node whose peer sets and pod-port sets take the members `step` gives; everything else is fixed. */
function step(peerIps: string[], portEntries: { ip: string; protocol: 'TCP' | 'UDP'; port: number }[], seq: number, extraPod = false): RuleSet {
  const sets: AddressSet[] = [podsSet('peers', peerIps), podPortsSet('named', portEntries), podsSet('v6', ['fd00::5'])];
  const rules = [rule('in', 'ingress', [peers(['peers', 'v6'], [tcp(80), udp(53)])]), rule('eg', 'egress', [{ kind: 'peer-ports', set: 'named' }])];
  const pods = [localPod({ name: 'x/a', ips: ['10.1.0.11', 'fd00::11'], ingress: ['in'], egress: ['eg'] })];
  if (extraPod) pods.push(localPod({ name: 'x/b', ips: ['10.1.0.12'], ingress: ['in'] }));
  return ruleSet({ sets, rules, pods }, seq);
}

const history: RuleSet[] = [
  step(['10.2.0.1', '10.2.0.2'], [{ ip: '10.2.0.1', protocol: 'TCP', port: 8080 }], 1),
  step(['10.2.0.1', '10.2.0.2', '10.2.0.3'], [{ ip: '10.2.0.1', protocol: 'TCP', port: 8080 }], 2),
  step(['10.2.0.2', '10.2.0.3', 'fd00::3'], [{ ip: '10.2.0.1', protocol: 'TCP', port: 8080 }, { ip: '10.2.0.3', protocol: 'UDP', port: 5353 }], 3),
  step(['10.2.0.4'], [{ ip: '10.2.0.3', protocol: 'UDP', port: 5353 }], 4),
  step([], [], 5),
  step(['10.2.0.9'], [{ ip: '10.2.0.9', protocol: 'TCP', port: 9090 }], 6),
];

for (const kind of KINDS)
  Incremental(`${kind}: every member change is a delta whose read-back equals a full load of the same rule set`, async () => {
    const a = backendOf(kind, { prefix: PREFIX, netns: ctx.scratch.netnsOf('inc-a') });
    const b = backendOf(kind, { prefix: PREFIX, netns: ctx.scratch.netnsOf('inc-b') });
    await a.load(history[0]!, undefined);
    for (let i = 1; i < history.length; i++) {
      const report = await a.load(history[i]!, history[i - 1]);
      assert.is(report.mode, 'delta', `step ${i}`);
      await b.remove();
      await b.load(history[i]!, undefined);
      assert.is(await a.observe(), await b.observe(), `step ${i}: incremental and full differ`);
    }
    const structural = step(['10.2.0.9'], [], 7, true);
    assert.is((await a.load(structural, history.at(-1))).mode, 'full', 'a new isolated pod is a structural change');
    await b.load(structural, undefined);
    assert.is(await a.observe(), await b.observe());
    await Promise.all([a.remove(), b.remove()]);
  });

Incremental('the applier leaves deltas unread and the next reconcile reloads in full and takes a fresh reference', async () => {
  const applier = new Applier(iptablesBackend({ prefix: PREFIX, netns: ctx.scratch.netnsOf('inc-a') }), { log });
  await applier.apply(history[0]!);
  assert.is(await applier.reconcile(), 'in-sync');
  assert.equal((await applier.apply(history[1]!)).kind === 'applied' && 'delta', 'delta');
  const writes = applier.status.kernelWrites;
  assert.is(await applier.reconcile(), 'refreshed');
  assert.is(applier.status.kernelWrites, writes + 1);
  assert.is(await applier.reconcile(), 'in-sync');
  await iptablesBackend({ prefix: PREFIX, netns: ctx.scratch.netnsOf('inc-a') }).remove();
});

const PODS: PodSpec[] = [
  { name: 'x/a', ip: '10.1.0.11', node: 'node-1' },
  { name: 'x/b', ip: '10.2.0.12', node: 'node-2' },
  { name: 'x/c', ip: '10.1.0.13', node: 'node-1' },
  { name: 'y/a', ip: '10.2.0.21', node: 'node-2' },
];
const ip = (name: string): string => PODS.find((p) => p.name === name)!.ip;
const Switch = suite('switching KNP_BACKEND on a live node');

Switch.before(async () => {
  ctx.cluster = await NetnsCluster.create({ nodes: ['node-1', 'node-2'], pods: PODS });
});
Switch.after(async () => {
  await ctx.cluster?.destroy();
});

/** x/a (node-1) admits only x/b; y/a (node-2) may send only to x/c. */
const policy = ruleSetsByNode(
  PODS,
  { 'x/a': { ingress: ['from-xb'] }, 'y/a': { egress: ['to-xc'] } },
  { sets: [podsSet('xb', [ip('x/b')]), podsSet('xc', [ip('x/c')])], rules: [rule('from-xb', 'ingress', [peers(['xb'])]), rule('to-xc', 'egress', [peers(['xc'])])] },
  1,
);
const allowed = (f: string, t: string): boolean => (t !== 'x/a' || f === 'x/b') && (f !== 'y/a' || t === 'x/c');
const backends = (kind: BackendKind): Map<string, Backend> => new Map(['node-1', 'node-2'].map((n) => [n, backendOf(kind, { prefix: PREFIX, netns: ctx.cluster.netnsOf(n) })]));

Switch('nft -> iptables -> nft -> iptables under a prober: never open, never closed, only the new backend left', async () => {
  const nft = backends('nftables'), ipt = backends('iptables');
  for (const [node, rs] of policy) await nft.get(node)!.load(rs, undefined);
  assert.equal(await matrixMismatches(ctx.cluster, allowed, { port: 80, protocol: 'TCP' }), []);
  const pairs = ctx.cluster.podNames.flatMap((from) => ctx.cluster.podNames.filter((to) => to !== from).map((to) => ({ from, to })));
  const prober = new SwitchProber(ctx.cluster, { allowed: pairs.filter((p) => allowed(p.from, p.to)), denied: pairs.filter((p) => !allowed(p.from, p.to)), port: 80 });
  // every load and remove waits until the prober has probed the kernel as the previous step left it
  const held = (list: Map<string, Backend>): Map<string, Backend> => new Map([...list].map(([node, b]) => [node, prober.hold(b)]));
  const order: Array<[Map<string, Backend>, Map<string, Backend>]> = [[nft, ipt], [ipt, nft], [nft, ipt]];
  for (const [from, to] of order) {
    const [heldFrom, heldTo] = [held(from), held(to)];
    for (const [node, rs] of policy) await switchBackend(heldFrom.get(node)!, heldTo.get(node)!, rs);
  }
  await prober.stop();
  assert.is(prober.heldSteps, order.length * policy.size * 2, 'each load and remove ran under the prober');
  assert.equal(prober.failures, []);
  for (const node of policy.keys()) {
    assert.is(await nft.get(node)!.observe(), undefined, `${node}: no nft table left`);
    assert.ok(await ipt.get(node)!.observe(), `${node}: iptables rules in force`);
  }
  assert.equal(await matrixMismatches(ctx.cluster, allowed, { port: 80, protocol: 'UDP' }), []);
});

Switch('removeOtherBackend, called once the configured backend applied, removes the old objects exactly once', async () => {
  const netns = ctx.cluster.netnsOf('node-1');
  const rs = policy.get('node-1')!;
  await nftBackend({ prefix: PREFIX, netns }).load(rs, undefined);
  const applier = new Applier(iptablesBackend({ prefix: PREFIX, netns }), { log });
  await applier.apply(rs);
  assert.is(await removeOtherBackend('iptables', { prefix: PREFIX, netns }), true);
  assert.is(await removeOtherBackend('iptables', { prefix: PREFIX, netns }), false);
  assert.is(await nftBackend({ prefix: PREFIX, netns }).observe(), undefined);
  await matrixMismatches(ctx.cluster, allowed, { port: 80, protocol: 'TCP' }).then((m) => assert.equal(m, []));
  // and the other way round: iptables chains and every set of ours go
  await new Applier(nftBackend({ prefix: PREFIX, netns }), { log }).apply(rs);
  assert.is(await removeOtherBackend('nftables', { prefix: PREFIX, netns }), true);
  assert.is(await iptablesBackend({ prefix: PREFIX, netns }).observe(), undefined);
  assert.equal((await ipsetNames({ netns })).filter((n) => n.startsWith(`${PREFIX}-`)), []);
  await matrixMismatches(ctx.cluster, allowed, { port: 80, protocol: 'TCP' }).then((m) => assert.equal(m, []));
});

Incremental.run();
Switch.run();
