import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NetnsCluster, RestartableNats, Service, inNetns, knpInit, startStandin, syncApi, waitSynced, type Standin } from '@knp/sim';
import { waitFor } from '@knp/testing';
import { NODES, modelObjects, policy, scenarios, type Pod } from '@knp/testing/conformance';
import { fixturePods } from './scenario-pods.js';
import { SwitchProber } from './switch-prober.js';

/**
 * KNP_BACKEND switched on a live node, both ways, while a prober runs: the new applier loads its rule set
 * while the old backend's rules still enforce, then removes them. No allowed pair ever fails and no denied
 * pair ever passes, and afterwards only the backend in force holds anything of ours.
 */
type Ctx = { dir: string; nats: RestartableNats; standin: Standin; cluster: NetnsCluster; env: Record<string, string>; services: Service[] };
const Switch = suite<Ctx>('switching a node between nftables and iptables in the pipeline');
const PREFIX = 'bsw';
const TARGET = 'x/a';
const NODE = (modelObjects().find((o): o is Pod => o.kind === 'Pod' && `${o.metadata.namespace}/${o.metadata.name}` === TARGET)!).spec.nodeName!;

Switch.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'knp-bsw-'));
  ctx.nats = await RestartableNats.start();
  ctx.standin = await startStandin();
  const kubeconfig = join(ctx.dir, 'kubeconfig');
  ctx.standin.writeKubeconfig(kubeconfig);
  ctx.cluster = await NetnsCluster.create({ nodes: [...NODES], pods: fixturePods([scenarios[0]!]) });
  ctx.env = { KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: PREFIX, KNP_LOG_LEVEL: 'info', KNP_HEARTBEAT_S: '1' };
  ctx.services = [
    new Service('watcher', ['watcher'], { ...ctx.env, KUBECONFIG: kubeconfig }, join(ctx.dir, 'logs')),
    new Service('compiler', ['compiler'], ctx.env, join(ctx.dir, 'logs')),
    ...NODES.map((node) => applier(ctx, node, 'nftables')),
  ];
  const admitA = policy('x', 'admit-a', {
    podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'],
    ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'a' } } }] }],
  });
  const rv = syncApi(ctx.standin, [...modelObjects(), admitA]);
  await knpInit(ctx.env); // the services wait for the streams; they never create them
  for (const s of ctx.services) s.start();
  await waitSynced(ctx.env, rv, 90);
});

Switch.after(async (ctx) => {
  for (const s of ctx.services ?? []) await s.stop();
  await ctx.cluster?.destroy();
  await ctx.standin?.close();
  await ctx.nats?.destroy();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

function applier(ctx: Ctx, node: string, backend: 'nftables' | 'iptables'): Service {
  return new Service(`applier-${node}-${backend}`, ['applier'], {
    ...ctx.env, KNP_NODE_NAME: node, KNP_NETNS: ctx.cluster.netnsOf(node), KNP_STATE_DIR: join(ctx.dir, `state-${backend}`), KNP_BACKEND: backend,
  }, join(ctx.dir, 'logs'));
}

/** What of ours each backend holds in the node: the nftables table, the iptables chains. */
async function holdings(ctx: Ctx): Promise<{ nftables: boolean; iptables: boolean }> {
  const netns = ctx.cluster.netnsOf(NODE);
  const tables = await inNetns(netns, ['nft', 'list', 'tables']);
  const chains = await inNetns(netns, ['iptables-save', '-t', 'filter']);
  return { nftables: tables.includes(`inet ${PREFIX}`), iptables: new RegExp(`^:${PREFIX.toUpperCase()}-`, 'm').test(chains) };
}

async function switchTo(ctx: Ctx, backend: 'nftables' | 'iptables'): Promise<void> {
  const old = ctx.services.findIndex((s) => s.name.startsWith(`applier-${NODE}-`));
  await ctx.services[old]!.stop();
  const next = applier(ctx, NODE, backend);
  ctx.services[old] = next;
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
  const prober = new SwitchProber(ctx.cluster, {
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
