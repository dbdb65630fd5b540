import * as assert from 'uvu/assert';
import { compileAll, emptyState, eventsFromObjects, evolveAll } from '@knp/compiler';
import { names } from '@knp/shared';
import { connect, type NatsConnection } from 'nats';
import type { StatusReport } from '@knp/cli';
import { NatsCluster, Pipeline, knp, knpStatus, syncApi, waitSynced, type K8sObject, type NetnsCluster, type Standin } from '@knp/sim';
import { waitFor, suite } from '@knp/testing';
import { NODES, modelObjects, policy, scenarios } from '@knp/testing/conformance';
import { fixturePods } from './scenario-pods.js';

/**
 * The pipeline on a three-server JetStream cluster (streams, KV and object store at 3 replicas): while pod
 * changes flow, kill -9 a follower of the events stream and restart it, then kill -9 the stream's leader and
 * restart it (one server down at a time, so a quorum of two remains). Every node ends on the rule set a
 * fresh compile of the API's final state gives, `knp replay` agrees, the appliers applied it, the packets
 * follow it, and the events stream holds each change once.
 */
type Ctx = { nats: NatsCluster; p: Pipeline; standin: Standin; cluster: NetnsCluster; env: Record<string, string> };
const Cluster = suite<Ctx>('knp on a three-server JetStream cluster');
const PREFIX = 'jsc';

Cluster.before(async (ctx) => {
  ctx.nats = await NatsCluster.start();
  ctx.p = await Pipeline.create({ prefix: PREFIX, nodes: NODES, pods: fixturePods([scenarios[0]!]), natsUrl: ctx.nats.url, compilers: 2, env: { KNP_STREAM_REPLICAS: '3' } });
  ({ standin: ctx.standin, cluster: ctx.cluster, env: ctx.env } = ctx.p);
  const rv = syncApi(ctx.standin, [...modelObjects(), allowClients]);
  try {
    await ctx.p.init(); // the streams at three replicas (KNP_STREAM_REPLICAS), before any service binds to them
    assert.is((await eventsInfo(ctx)).config.num_replicas, 3);
    ctx.p.start();
    await waitSynced(ctx.env, rv, 90);
  } catch (err) {
    // the error itself is printed by @knp/testing's suite: add what the services logged
    process.stderr.write(`${ctx.p.logTails()}\n`);
    throw err;
  }
});

Cluster.after(async (ctx) => {
  await ctx.p?.destroy();
  await ctx.nats?.destroy();
});

const allowClients = policy('x', 'allow-clients', {
  podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'],
  ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'client' } } }] }],
});

async function withNats<T>(ctx: Ctx, use: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: ctx.nats.url.split(','), timeout: 5_000 });
  try {
    return await use(nc);
  } finally {
    await nc.close();
  }
}

const eventsInfo = (ctx: Ctx) => withNats(ctx, async (nc) => (await nc.jetstreamManager()).streams.info(names(PREFIX).eventsStream));

/** The events stream's leader and a follower, by server index. */
async function roles(ctx: Ctx): Promise<{ leader: number; follower: number }> {
  const info = await eventsInfo(ctx);
  const leader = info.cluster?.leader;
  const follower = info.cluster?.replicas?.find((r) => r.current)?.name;
  if (!leader || !follower) throw new Error(`events stream has no leader or current follower: ${JSON.stringify(info.cluster)}`);
  return { leader: ctx.nats.indexOf(leader), follower: ctx.nats.indexOf(follower) };
}

/** Every message id on the events stream, with how often it is stored. */
async function storedIds(ctx: Ctx): Promise<Map<string, number>> {
  return withNats(ctx, async (nc) => {
    const jsm = await nc.jetstreamManager();
    const { state } = await jsm.streams.info(names(PREFIX).eventsStream);
    const counts = new Map<string, number>();
    for (let seq = state.first_seq; seq <= state.last_seq; seq += 1) {
      const m = await jsm.streams.getMessage(names(PREFIX).eventsStream, { seq });
      const id = m.header?.get('Nats-Msg-Id') ?? `seq ${seq}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  });
}

const status = (ctx: Ctx): Promise<StatusReport> => knpStatus<StatusReport>(ctx.env);

const reaches = (ctx: Ctx, from: string, to: string): Promise<boolean> => ctx.cluster.reaches(from, to);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Cluster('kill -9 a follower, then the events leader, while changes flow: everything converges, nothing lost or twice', async (ctx) => {
  const clients = ['y/a', 'y/b', 'y/c', 'z/a', 'z/b', 'z/c'];
  let rv = '';
  const faults: string[] = [];
  for (let i = 0; i < 60; i += 1) {
    const ref = clients[i % clients.length]!;
    const [ns, name] = ref.split('/') as [string, string];
    rv = ctx.standin.update('Pod', { namespace: ns, name }, (o) => {
      o.metadata.labels = (i * 7) % 3 === 0 ? { pod: name, role: 'client' } : { pod: name };
    }).metadata.resourceVersion!;
    if (i === 10) {
      const { follower } = await roles(ctx);
      faults.push(`kill -9 follower ${ctx.nats.nameOf(follower)}`);
      await ctx.nats.kill(follower);
    }
    if (i === 25) for (let s = 0; s < 3; s += 1) if (!ctx.nats.running(s)) await ctx.nats.startServer(s);
    if (i === 35) {
      // the restarted follower must be current again before the leader goes, or no quorum would remain
      const { leader } = await waitFor('all three replicas current', async () => {
        const info = await eventsInfo(ctx);
        return info.cluster?.replicas?.length === 2 && info.cluster.replicas.every((r) => r.current) ? roles(ctx) : undefined;
      }, 60_000);
      faults.push(`kill -9 leader ${ctx.nats.nameOf(leader)}`);
      await ctx.nats.kill(leader);
    }
    if (i === 50) for (let s = 0; s < 3; s += 1) if (!ctx.nats.running(s)) await ctx.nats.startServer(s);
    await sleep(150);
  }
  assert.is(faults.length, 2, faults.join(', '));
  await waitSynced(ctx.env, rv, 120);

  const objects: K8sObject[] = [...ctx.standin.list('Namespace'), ...ctx.standin.list('Pod'), ...ctx.standin.list('NetworkPolicy')];
  const direct = compileAll(evolveAll(emptyState('direct'), eventsFromObjects(objects).events));
  const report = await waitFor('every applier applied the newest rule set', async () => {
    const r = await status(ctx);
    return r.nodes.every((n) => n.applied?.hash === n.desired?.hash && n.desired?.hash === direct[n.node]?.contentHash) ? r : undefined;
  }, 60_000);
  for (const node of NODES) {
    const run = await knp(['replay', '--node', node], ctx.env);
    assert.is(run.code, 0, run.stderr);
    const replayed = (JSON.parse(run.stdout) as { contentHash: string }).contentHash;
    const n = report.nodes.find((r) => r.node === node)!;
    assert.is(n.desired?.hash, direct[node]!.contentHash, `${node}: the published rule set is a fresh compile of the API`);
    assert.is(replayed, n.desired?.hash, `${node}: knp replay agrees`);
    assert.is(n.applied?.hash, n.desired?.hash, `${node}: applied`);
  }

  const twice = [...(await storedIds(ctx))].filter(([, n]) => n > 1);
  assert.equal(twice, [], 'each event stored once');
  const isClient = (ref: string): boolean => ctx.standin.get('Pod', ref.split('/')[0], ref.split('/')[1]!)!.metadata.labels?.role === 'client';
  for (const from of clients) assert.is(await reaches(ctx, from, 'x/a'), isClient(from), `${from} -> x/a after ${faults.join(', ')}`);
});

Cluster.run();
