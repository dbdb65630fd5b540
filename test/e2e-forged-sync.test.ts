import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { EVENT_SCHEMA, eventSignatureHeaders, loadSigningKey, names, type SyncEvent } from '@knp/shared';
import { headers as natsHeaders, connect } from 'nats';
import type { StatusReport } from '@knp/cli';
import { NetnsCluster, RestartableNats, Service, knp, knpInit, knpStatus, startStandin, syncApi, waitSynced, type Standin } from '@knp/sim';
import { waitFor, suite } from '@knp/testing';
import { scenarios, NODES, modelObjects, policy } from '@knp/testing/conformance';
import { fixturePods } from './scenario-pods.js';

/**
 * Signed pipeline on real kernels: `knp keygen` keys, the watcher signing, the compiler trusting only the
 * watcher's key. A forged sync marker that names no policy (which, folded, would delete every policy and
 * open every pod) is published unsigned, then signed by a key nobody trusts: both are refused, counted in
 * `knp status`, and the deny policy keeps denying on real packets.
 */

const PREFIX = 'e2ef';
type Ctx = { dir: string; nats: RestartableNats; standin: Standin; cluster: NetnsCluster; env: Record<string, string>; services: Service[] };
const Forged = suite<Ctx>('a forged sync marker on the signed pipeline');

Forged.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'knp-e2e-forged-'));
  ctx.nats = await RestartableNats.start();
  ctx.standin = await startStandin();
  const kubeconfig = join(ctx.dir, 'kubeconfig');
  ctx.standin.writeKubeconfig(kubeconfig);
  ctx.cluster = await NetnsCluster.create({ nodes: [...NODES], pods: fixturePods(scenarios.filter((s) => s.compilerOnly === undefined && s.protocol === 'TCP').slice(0, 3)) });
  const keys = join(ctx.dir, 'keys');
  for (const name of ['watcher', 'compiler', 'forger']) {
    const run = await knp(['keygen', '--out', keys, '--name', name], {});
    if (run.code !== 0) throw new Error(`knp keygen exited ${run.code}: ${run.stderr}`);
  }
  ctx.env = {
    KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: PREFIX, KNP_LOG_LEVEL: 'info', KNP_HEARTBEAT_S: '1',
    KNP_TRUSTED_WATCHER_KEYS: join(keys, 'watcher.pub'), KNP_TRUSTED_COMPILER_KEYS: join(keys, 'compiler.pub'),
  };
  const logs = join(ctx.dir, 'logs');
  ctx.services = [
    new Service('watcher', ['watcher'], { ...ctx.env, KUBECONFIG: kubeconfig, KNP_SIGNING_KEY: join(keys, 'watcher.key') }, logs),
    new Service('compiler', ['compiler'], { ...ctx.env, KNP_SIGNING_KEY: join(keys, 'compiler.key') }, logs),
    ...NODES.map((node) => new Service(`applier-${node}`, ['applier'], {
      ...ctx.env, KNP_NODE_NAME: node, KNP_NETNS: ctx.cluster.netnsOf(node), KNP_STATE_DIR: join(ctx.dir, 'state'), KNP_RECONCILE_S: '5',
    }, logs)),
  ];
  const rv = syncApi(ctx.standin, modelObjects());
  await knpInit(ctx.env); // the services wait for the streams; they never create them
  for (const s of ctx.services) s.start();
  try {
    await waitSynced(ctx.env, rv, 60);
  } catch (err) {
    // the error itself is printed by @knp/testing's suite: add what the services logged
    for (const s of ctx.services) process.stderr.write(`--- ${s.name} (last lines)\n${s.logTail(30)}\n`);
    throw err;
  }
});

Forged.after(async (ctx) => {
  for (const s of ctx.services ?? []) await s.stop();
  await ctx.cluster?.destroy();
  await ctx.standin?.close();
  await ctx.nats?.destroy();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

/** `knp status --json`, with the text form people read next to it. */
async function status(ctx: Ctx): Promise<StatusReport & { text: string }> {
  const [report, text] = await Promise.all([knpStatus<StatusReport>(ctx.env), knp(['status'], ctx.env)]);
  return { ...report, text: text.stdout };
}
const reaches = (ctx: Ctx, from: string, to: string): Promise<boolean> => ctx.cluster.reaches(from, to);

Forged('a forged sync marker, unsigned or signed by an untrusted key, deletes no policy: enforcement stays', async (ctx) => {
  const deny = policy('x', 'deny-a', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], ingress: [] });
  await waitSynced(ctx.env, syncApi(ctx.standin, [...modelObjects(), deny]));
  assert.not.ok(await reaches(ctx, 'x/b', 'x/a'), 'denied before the forgery');
  const before = await status(ctx);
  assert.match(before.text, /signs events with key/);
  assert.match(before.text, /folds only signed events, loads only signed snapshots/);

  const nc = await connect({ servers: ctx.nats.url });
  try {
    const forged: SyncEvent = { schema: EVENT_SCHEMA, op: 'sync', kind: 'NetworkPolicy', resourceVersion: '999999', syncId: 'forged-sync-0001', chunk: 0, chunks: 1, uids: [] };
    const data = Buffer.from(JSON.stringify(forged));
    const subject = `${PREFIX}.ev.sync.networkpolicy`;
    await nc.jetstream().publish(subject, data);
    const h = natsHeaders();
    const forger = loadSigningKey(join(ctx.dir, 'keys', 'forger.key'));
    for (const [k, v] of eventSignatureHeaders(forger, { start: Date.now() + 60_000, counter: 1 }, data)) h.set(k, v);
    await nc.jetstream().publish(subject, data, { headers: h });
    const last = (await (await nc.jetstreamManager()).streams.info(names(PREFIX).eventsStream)).state.last_seq;
    const report = await waitFor('the compiler reports both refusals', async () => {
      const r = await status(ctx);
      return (r.compilers[0]?.input?.refused ?? 0) >= 2 && (r.compilers[0]?.evaluatedSeq ?? 0) >= last ? r : undefined;
    }, 20_000);
    assert.equal(report.compilers[0]!.input!.refusedByReason, { unsigned: 1, 'untrusted-key': 1 });
    assert.equal(report.compilers[0]!.input!.recentRefused.map((r) => r.seq), [last - 1, last]);
    assert.match(report.text, new RegExp(`seq ${last} ${PREFIX.replace('.', '\\.')}\\.ev\\.sync\\.networkpolicy: untrusted-key`));
    assert.equal(report.nodes.map((n) => n.desired?.version.seq), before.nodes.map((n) => n.desired?.version.seq), 'no new rule set');
    // knp replay verifies as the compiler does: the forgeries are refused there too, and it rebuilds what is in force
    for (const n of report.nodes) {
      const replay = await knp(['replay', '--node', n.node, '--from-start'], ctx.env);
      assert.is(replay.code, 0, replay.stderr);
      assert.match(replay.stderr, /, 2 events refused,/);
      assert.is((JSON.parse(replay.stdout) as { contentHash: string }).contentHash, n.desired?.hash);
    }
  } finally {
    await nc.close();
  }
  assert.not.ok(await reaches(ctx, 'x/b', 'x/a'), 'still denied after the forged sync markers');
  assert.not.ok(await reaches(ctx, 'y/a', 'x/a'), 'still denied from the other node');
  assert.ok(await reaches(ctx, 'x/a', 'x/b'), 'x/b is not selected');
});

Forged.run();
