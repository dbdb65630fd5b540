import * as assert from 'uvu/assert';
import { Pipeline, inNetns, syncApi, waitSynced } from '@knp/sim';
import { waitFor, suite } from '@knp/testing';
import { NODES, modelObjects, policy, scenarios, type Pod } from '@knp/testing/conformance';
import { fixturePods } from './scenario-pods.js';
import { SwitchProber } from './switch-prober.js';

/**
 * KNP_BACKEND switched on a live node, both ways, while a prober runs: the new applier loads its rule set
 * while the old backend's rules still enforce, then removes them. No allowed pair ever fails and no denied
 * pair ever passes, and afterwards only the backend in force holds anything of ours.
 */
type Ctx = { p: Pipeline };
const Switch = suite<Ctx>('switching a node between nftables and iptables in the pipeline');
const PREFIX = 'bsw';
const TARGET = 'x/a';
const NODE = (modelObjects().find((o): o is Pod => o.kind === 'Pod' && `${o.metadata.namespace}/${o.metadata.name}` === TARGET)!).spec.nodeName!;

Switch.before(async (ctx) => {
  ctx.p = await Pipeline.create({ prefix: PREFIX, nodes: NODES, pods: fixturePods([scenarios[0]!]) });
  const admitA = policy('x', 'admit-a', {
    podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'],
    ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'a' } } }] }],
  });
  const rv = syncApi(ctx.p.standin, [...modelObjects(), admitA]);
  await ctx.p.init();
  ctx.p.start();
  await waitSynced(ctx.p.env, rv, 90);
});

Switch.after(async (ctx) => {
  await ctx.p?.destroy();
});

/** What of ours each backend holds in the node: the nftables table, the iptables chains. */
async function holdings(ctx: Ctx): Promise<{ nftables: boolean; iptables: boolean }> {
  const netns = ctx.p.cluster.netnsOf(NODE);
  const tables = await inNetns(netns, ['nft', 'list', 'tables']);
  const chains = await inNetns(netns, ['iptables-save', '-t', 'filter']);
  return { nftables: tables.includes(`inet ${PREFIX}`), iptables: new RegExp(`^:${PREFIX.toUpperCase()}-`, 'm').test(chains) };
}

async function switchTo(ctx: Ctx, backend: 'nftables' | 'iptables'): Promise<void> {
  await ctx.p.appliers.get(NODE)!.stop();
  const next = ctx.p.applier(NODE, backend);
  ctx.p.appliers.set(NODE, next);
  next.start();
  const other = backend === 'nftables' ? 'iptables' : 'nftables';
  // the log line comes after the removal, so both are awaited
  await waitFor(`${NODE} on ${backend} alone, said in its log`, async () => {
    const h = await holdings(ctx);
    return h[backend] && !h[other] && next.logLines().some((l) => l.msg === "the other backend's rules removed") ? true : undefined;
  }, 30_000);
}

Switch('nftables -> iptables -> nftables under probes: never an open or a closed moment', async (ctx) => {
  assert.equal(await holdings(ctx), { nftables: true, iptables: false });
  const prober = new SwitchProber(ctx.p.cluster, {
    allowed: [{ from: 'y/a', to: TARGET }, { from: 'z/a', to: TARGET }, { from: 'y/b', to: 'x/b' }],
    denied: [{ from: 'y/b', to: TARGET }, { from: 'z/c', to: TARGET }],
    port: 80,
  });
  try {
    await switchTo(ctx, 'iptables');
    await switchTo(ctx, 'nftables');
  } finally {
    await prober.stop();
  }
  assert.equal(prober.failures, [], prober.failures.join('\n'));
});

Switch.run();
