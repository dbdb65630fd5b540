import * as assert from 'uvu/assert';
import { compileAll, emptyState, eventsFromObjects, evolveAll } from '@knp/compiler';
import { names, seededRandom } from '@knp/shared';
import { connect } from 'nats';
import type { StatusReport } from '@knp/cli';
import { Pipeline, inNetns, knpStatus, sh, syncApi, waitSynced, type K8sObject, type NetnsCluster, type RestartableNats, type Service, type Standin } from '@knp/sim';
import { waitFor, suite } from '@knp/testing';
import { NODES, modelObjects, policy, scenarios, type NetworkPolicy, type Pod } from '@knp/testing/conformance';
import { fixturePods } from './scenario-pods.js';

/**
 * `pnpm test:faults`: faults injected into the running pipeline (real processes, real kernels in network
 * namespaces, real packets), each followed by a check that everything converged:
 * - kill -9 the applier right after a change, 12 times with nftables and 8 with iptables+ipset: once the
 *   kernel command it had started (if any) has ended, the kernel gives exactly the old or the new verdicts
 *   (nftables loads one transaction), or per pair a verdict one of the two versions gives (iptables+ipset
 *   loads sets, chains and families in steps); restarted, it applies the newest version, and the packets
 *   follow `knp wait --synced` (the worst lag is printed);
 * - kill -9 a compiler under a burst of changes, restart NATS mid-stream, cut every watch and answer 410;
 * - at the end no event is lost: the newest event of every object is the API's current version of it.
 * The last line: `faults: N injected, N converged, 0 events lost`.
 */
type Ctx = {
  p: Pipeline;
  nats: RestartableNats;
  standin: Standin;
  cluster: NetnsCluster;
  env: Record<string, string>;
  compiler: Service;
  appliers: Map<string, Service>;
  injected: number;
  converged: number;
};
const Faults = suite<Ctx>('faults injected into the running pipeline');
const PREFIX = 'flt';
const next = seededRandom(Number(process.env.KNP_FAULTS_SEED ?? 7));
/** An integer in [lo, hi], from the seeded generator (KNP_FAULTS_SEED) so a failing run can be repeated. */
const randomInt = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
const APPLIER_KILLS = { nftables: Number(process.env.KNP_FAULTS_NFT_KILLS ?? 12), iptables: Number(process.env.KNP_FAULTS_IPT_KILLS ?? 8) };

/** The pod whose ingress flips between two versions, and the node whose applier is killed. */
const TARGET = 'x/a';
const TARGET_NODE = (modelObjects().find((o): o is Pod => o.kind === 'Pod' && `${o.metadata.namespace}/${o.metadata.name}` === TARGET)!).spec.nodeName!;
/** Pairs whose verdicts tell the two versions apart (and two no version changes). */
const PAIRS: readonly (readonly [string, string])[] = [['y/a', TARGET], ['z/a', TARGET], ['y/b', TARGET], ['z/b', TARGET], ['y/c', TARGET], ['y/a', 'x/b']];

/**
 * Version `v` (0 or 1) of the policies: TARGET admits only pods labelled pod=a (v0) or pod=b (v1), and 40
 * more policies on TARGET with ipBlocks and ports of their own make each rule set big enough that a kill
 * can land inside an apply.
 */
function policies(v: 0 | 1): NetworkPolicy[] {
  const admitted = v === 0 ? 'a' : 'b';
  const main = policy('x', 'flip', {
    podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'],
    ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: admitted } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
  });
  const bulk = Array.from({ length: 40 }, (_, i) => policy('x', `bulk-${i}`, {
    podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'],
    ingress: [{ from: [{ ipBlock: { cidr: `10.${200 + v}.${i}.0/24` } }], ports: [{ protocol: 'TCP', port: 9000 + i }] }],
  }));
  return [main, ...bulk];
}
const verdicts = (v: 0 | 1): boolean[] => PAIRS.map(([from, to]) => to === TARGET ? from.endsWith(v === 0 ? '/a' : '/b') : true);

Faults.before(async (ctx) => {
  ctx.injected = 0;
  ctx.converged = 0;
  ctx.p = await Pipeline.create({ prefix: PREFIX, nodes: NODES, pods: fixturePods([scenarios[0]!]) });
  ({ standin: ctx.standin, cluster: ctx.cluster, env: ctx.env, appliers: ctx.appliers } = ctx.p);
  ctx.nats = ctx.p.nats!;
  ctx.compiler = ctx.p.compilers[0]!;
  const rv = syncApi(ctx.standin, [...modelObjects(), ...policies(0)]);
  await ctx.p.init();
  ctx.p.start();
  await waitSynced(ctx.env, rv, 90);
});

Faults.after(async (ctx) => {
  await ctx.p?.destroy();
});

/** The verdict of every pair; a pair that failed is probed once more with a long timeout (a loaded machine). */
async function probe(ctx: Ctx): Promise<boolean[]> {
  const pairs = PAIRS.map(([from, to]) => ({ from, to, port: 80, protocol: 'TCP' as const }));
  const first = (await ctx.cluster.probePairs(pairs, 600)).map((r) => r.allowed);
  const failed = pairs.filter((_, k) => !first[k]);
  const again = failed.length === 0 ? [] : await ctx.cluster.probePairs(failed, 1_500);
  return first.map((ok, k) => ok || again.some((r) => r.from === pairs[k]!.from && r.to === pairs[k]!.to && r.allowed));
}

/** Each node's newest rule set is a fresh compile of the API, and its applier applied it. */
async function convergedOnApi(ctx: Ctx, what: string): Promise<void> {
  await waitSynced(ctx.env, ctx.standin.resourceVersion(), 90);
  const objects: K8sObject[] = [...ctx.standin.list('Namespace'), ...ctx.standin.list('Pod'), ...ctx.standin.list('NetworkPolicy')];
  const direct = compileAll(evolveAll(emptyState('direct'), eventsFromObjects(objects).events));
  await waitFor(`${what}: every node applied a fresh compile of the API`, async () => {
    const report = await knpStatus<StatusReport>(ctx.env);
    return NODES.every((node) => {
      const n = report.nodes.find((r) => r.node === node);
      return n?.desired?.hash === direct[node]?.contentHash && n?.applied?.hash === n?.desired?.hash;
    }) ? true : undefined;
  }, 60_000);
  ctx.converged += 1;
}

/** For a failure message: the node's published and applied hashes against a fresh compile of the API. */
async function diagnosis(ctx: Ctx): Promise<string> {
  const objects: K8sObject[] = [...ctx.standin.list('Namespace'), ...ctx.standin.list('Pod'), ...ctx.standin.list('NetworkPolicy')];
  const direct = compileAll(evolveAll(emptyState('direct'), eventsFromObjects(objects).events));
  const n = (await knpStatus<StatusReport>(ctx.env)).nodes.find((r) => r.node === TARGET_NODE);
  const again = await probe(ctx);
  return `${TARGET_NODE}: fresh compile ${direct[TARGET_NODE]?.contentHash.slice(0, 12)}, published ${n?.desired?.hash.slice(0, 12)} v${n?.desired?.version.seq}, applied ${n?.applied?.hash.slice(0, 12)} v${n?.applied?.version.seq}; probed again ${JSON.stringify(again)}`;
}

/** What the target node's kernel holds, for a failure message: the rules on port 80 and the pod sets. */
async function kernelView(ctx: Ctx, backend: 'nftables' | 'iptables'): Promise<string> {
  const netns = ctx.cluster.netnsOf(TARGET_NODE);
  const text = backend === 'nftables'
    ? await inNetns(netns, ['nft', 'list', 'table', 'inet', names(PREFIX).nftTable]).catch((e: Error) => e.message)
    : await inNetns(netns, ['iptables-save', '-t', 'filter']).catch((e: Error) => e.message);
  // the ipBlock sets of the 40 bulk policies are left out: the rules on port 80 and the sets they name decide
  const rules = text.split('\n').filter((l) => /dport 80\b|-A .*80/.test(l));
  const named = new Set(rules.flatMap((l) => [...l.matchAll(/@([\w-]+)/g)].map((m) => m[1]!)));
  const sets = [...named].map((n) => new RegExp(`set ${n} \\{[^}]*\\}[^}]*\\}`).exec(text)?.[0] ?? `set ${n}: not found`);
  return [...rules, ...sets].join('\n');
}

/** The longest time, over all kills, from `knp wait --synced` returning to the packets following it. */
let worstLagMs = 0;

async function killAppliers(ctx: Ctx, backend: 'nftables' | 'iptables', times: number): Promise<void> {
  let version: 0 | 1 = 0;
  const bad: string[] = [];
  for (let i = 0; i < times; i += 1) {
    version = version === 0 ? 1 : 0;
    const rv = syncApi(ctx.standin, [...modelObjects(), ...policies(version)]);
    await new Promise((r) => setTimeout(r, randomInt(0, 250)));
    const victim = ctx.appliers.get(TARGET_NODE)!;
    await victim.kill();
    ctx.injected += 1;
    // a kernel command the applier had started (nft -f, ipset restore, iptables-restore in the node's
    // namespace) runs to its end without it: the kernel is settled once none is left
    const netns = ctx.cluster.netnsOf(TARGET_NODE);
    await waitFor('no kernel command of the killed applier left', async () => ((await sh(['ip', 'netns', 'pids', netns])).trim() === '' ? true : undefined), 10_000);
    const seen = await probe(ctx);
    const old = verdicts(version === 0 ? 1 : 0), next = verdicts(version);
    const whole = [old, next].some((v) => v.every((x, k) => x === seen[k]));
    const perPair = seen.every((x, k) => x === old[k] || x === next[k]);
    if (backend === 'nftables' ? !whole : !perPair)
      bad.push(`kill ${i + 1}: probes ${JSON.stringify(seen)}, old ${JSON.stringify(old)}, new ${JSON.stringify(next)}\n${await kernelView(ctx, backend)}\n${victim.logTail(6)}`);
    victim.start();
    await waitSynced(ctx.env, rv, 60);
    const syncedAt = new Date().toISOString();
    // synced is what the status records say; the packets must agree (within a few seconds on this machine)
    const after = await waitFor(`kill ${i + 1}: the packets follow the new version`, async () => {
      const seen = await probe(ctx);
      return seen.every((x, k) => x === next[k]) ? seen : undefined;
    }, 10_000).catch(() => undefined);
    const lagMs = Date.now() - Date.parse(syncedAt);
    if (after === undefined) bad.push(`kill ${i + 1}: restarted, probes never showed ${JSON.stringify(next)} (synced at ${syncedAt}); ${await diagnosis(ctx)}`);
    else {
      ctx.converged += 1;
      worstLagMs = Math.max(worstLagMs, lagMs);
    }
  }
  assert.equal(bad, [], bad.join('\n'));
}

Faults(`kill -9 the applier just after a change, ${APPLIER_KILLS.nftables} times (nftables)`, async (ctx) => {
  await killAppliers(ctx, 'nftables', APPLIER_KILLS.nftables);
});

Faults(`kill -9 the applier just after a change, ${APPLIER_KILLS.iptables} times (iptables+ipset)`, async (ctx) => {
  // the node changes backend: an iptables applier takes over and, once its rules are in, removes the table
  await ctx.appliers.get(TARGET_NODE)!.stop();
  const iptables = ctx.p.applier(TARGET_NODE, 'iptables');
  ctx.appliers.set(TARGET_NODE, iptables);
  iptables.start();
  await waitFor('the iptables applier removed the nftables table', () => iptables.logLines().some((l) => l.msg === "the other backend's rules removed") ? true : undefined, 30_000);
  await killAppliers(ctx, 'iptables', APPLIER_KILLS.iptables);
});

/** A burst of label changes on the client pods; returns once written. */
async function burst(ctx: Ctx, n: number, during: (i: number) => Promise<void>): Promise<void> {
  const clients = ['y/a', 'y/b', 'z/a', 'z/b', 'z/c'];
  for (let i = 0; i < n; i += 1) {
    const ref = clients[randomInt(0, clients.length - 1)]!;
    const [ns, name] = ref.split('/') as [string, string];
    ctx.standin.update('Pod', { namespace: ns, name }, (o) => {
      o.metadata.labels = { pod: name, ...(randomInt(0, 1) === 1 ? { role: 'client' } : {}) };
    });
    await during(i);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `rounds` bursts of 30 changes: `fault` at the 10th change, `recover` at the 20th, then everything converges. */
async function faultRounds(ctx: Ctx, what: string, rounds: number, fault: () => Promise<void>, recover: () => Promise<void>): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    await burst(ctx, 30, async (i) => {
      if (i === 10) {
        await fault();
        ctx.injected += 1;
      }
      if (i === 20) await recover();
    });
    await convergedOnApi(ctx, `${what} ${round + 1}`);
  }
}

Faults('kill -9 the compiler under a burst of changes, three times', (ctx) =>
  faultRounds(ctx, 'compiler kill', 3, () => ctx.compiler.kill(), async () => ctx.compiler.start()));

Faults('restart NATS mid-stream, twice', (ctx) =>
  faultRounds(ctx, 'NATS restart', 2, () => ctx.nats.stop(), () => ctx.nats.start()));

Faults('cut every watch and answer 410 Gone to the re-watch, three times', async (ctx) => {
  for (let round = 0; round < 3; round += 1) {
    const gone = ctx.standin.stats.gone;
    await burst(ctx, 20, async (i) => {
      if (i === 8) {
        ctx.standin.suspendWatches();
        ctx.injected += 1;
      }
      if (i === 14) {
        ctx.standin.expireHistory();
        ctx.standin.resumeWatches();
      }
    });
    await convergedOnApi(ctx, `watch cut ${round + 1}`);
    assert.ok(ctx.standin.stats.gone > gone, 'the watcher was answered 410 Gone and relisted');
  }
});

Faults('no event lost: the newest event of every object carries what the API holds now', async (ctx) => {
  const nc = await connect({ servers: ctx.nats.url });
  const lost: string[] = [];
  try {
    const jsm = await nc.jetstreamManager();
    const n = names(PREFIX);
    for (const kind of ['Namespace', 'Pod', 'NetworkPolicy'] as const) {
      for (const o of ctx.standin.list(kind)) {
        const subject = n.eventSubject(kind, kind === 'Namespace' ? undefined : o.metadata.namespace, o.metadata.name);
        const m = await jsm.streams.getMessage(n.eventsStream, { last_by_subj: subject }).catch(() => undefined);
        // the watcher skips a change that alters nothing the compiler reads, so compare labels, not versions
        const event = m?.json<{ op?: string; resourceVersion?: string; object?: { metadata?: { labels?: unknown } } }>();
        const published = event === undefined || event.op === 'deleted' ? 'none' : JSON.stringify(sorted(event.object?.metadata?.labels));
        const current = JSON.stringify(sorted(o.metadata.labels));
        if (published !== current) lost.push(`${kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}: labels in the API ${current} (rv ${o.metadata.resourceVersion}), in its newest event ${published} (rv ${event?.resourceVersion})`);
      }
    }
  } finally {
    await nc.close();
  }
  process.stdout.write(`after an applier restart, packets followed knp wait --synced within ${worstLagMs} ms (worst of ${APPLIER_KILLS.nftables + APPLIER_KILLS.iptables})\n`);
  process.stdout.write(`faults: ${ctx.injected} injected, ${ctx.converged} converged, ${lost.length} events lost\n`);
  assert.equal(lost, [], lost.join('\n'));
  assert.is(ctx.converged, ctx.injected, 'every fault converged');
});

const sorted = (labels: unknown): [string, unknown][] => Object.entries((labels ?? {}) as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));

Faults.run();
