import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { compileAll, emptyState, eventsFromObjects, evolveAll } from '@knp/compiler';
import { applierStatusKey, generateSigningKeyPair, makeRuleSet, names, signingKeyFrom, type ApplierRecord, type RuleSet, type SigningKey } from '@knp/shared';
import { readNodeHead, ruleSetMsgHeaders } from '@knp/shared/nats';
import { connect } from 'nats';
import type { StatusReport } from '@knp/cli';
import { startStandin, type K8sObject, type Standin } from '@knp/sim';
import { NetnsCluster } from '@knp/sim';
import { matrixMismatches } from '@knp/sim';
import { inNetns } from '@knp/sim';
import { waitFor, suite } from '@knp/testing';
import { pointersOnRulesStream } from '@knp/testing/history';
import { RestartableNats, Service, knp, knpInit, knpStatus, syncApi, waitSynced } from '@knp/sim';

/**
 * The whole pipeline on real kernels: the API stand-in, a private nats-server, and `bin/knp watcher`,
 * `bin/knp compiler` and one `bin/knp applier` per node (KNP_NETNS = that node's namespace) as processes.
 * Every check goes through the API and `knp wait --synced --after-rv RV`, then real packets.
 * Conformance: every runnable scenario of the compiler's table (SCTP is rendered and unit-tested only: these
 * kernels have no SCTP sockets), about 2 min; KNP_E2E_STRIDE=N runs every N-th (plus the first UDP one) for a quick look.
 * KNP_E2E_BACKEND picks the dataplane (default nftables; e2e-pipeline-iptables.test.ts runs this file with iptables).
 */
import { scenarios, scenarioObjects, NODES, modelObjects, policy, type ModelObject, type NetworkPolicy } from '@knp/testing/conformance';
import { fixturePods } from './scenario-pods.js';

const BACKEND = process.env.KNP_E2E_BACKEND ?? 'nftables';
const PREFIX = 'e2e';
const STRIDE = Math.max(1, Number(process.env.KNP_E2E_STRIDE ?? 1));
const runnable = scenarios.filter((s) => s.compilerOnly === undefined && s.protocol !== 'SCTP');
const selected = runnable.filter((s, i) => i % STRIDE === 0 || s === runnable.find((r) => r.protocol === 'UDP'));
process.stdout.write(`conformance end to end (${BACKEND}): ${selected.length} of ${runnable.length} runnable scenarios (stride ${STRIDE})\n`);

type Ctx = {
  dir: string;
  nats: RestartableNats;
  standin: Standin;
  cluster: NetnsCluster;
  env: Record<string, string>;
  watcher: Service;
  compiler: Service;
  appliers: Map<string, Service>;
  /** The compilers' private key (a test that forges rule sets signs with it where the forgery is not the signature). */
  compilerKey: SigningKey;
};
const E2E = suite<Ctx>(`the pipeline end to end on real kernels (${BACKEND})`);

E2E.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'knp-e2e-'));
  ctx.nats = await RestartableNats.start();
  ctx.standin = await startStandin();
  const kubeconfig = join(ctx.dir, 'kubeconfig');
  ctx.standin.writeKubeconfig(kubeconfig);
  ctx.cluster = await NetnsCluster.create({ nodes: [...NODES], pods: fixturePods(selected) });
  // rule sets are signed by the compiler and checked by the appliers and by knp status / knp wait
  const pair = generateSigningKeyPair();
  writeFileSync(join(ctx.dir, 'compiler.key'), pair.privatePem, { mode: 0o600 });
  writeFileSync(join(ctx.dir, 'compiler.pub'), pair.publicPem);
  ctx.compilerKey = signingKeyFrom(createPrivateKey(pair.privatePem));
  ctx.env = { KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: PREFIX, KNP_LOG_LEVEL: 'info', KNP_HEARTBEAT_S: '1', KNP_TRUSTED_COMPILER_KEYS: join(ctx.dir, 'compiler.pub') };
  const logs = join(ctx.dir, 'logs');
  ctx.watcher = new Service('watcher', ['watcher'], { ...ctx.env, KUBECONFIG: kubeconfig }, logs);
  // the iptables run sends every set-only change as a pointer to a signed event manifest (one node is
  // enough), so pointers reach a real kernel through a real applier; the nftables run keeps the default
  const pointers: Record<string, string> = BACKEND === 'iptables' ? { KNP_POINTER_MIN_NODES: '1' } : {};
  ctx.compiler = new Service('compiler', ['compiler'], { ...ctx.env, ...pointers, KNP_SIGNING_KEY: join(ctx.dir, 'compiler.key') }, logs);
  ctx.appliers = new Map(NODES.map((node) => [node, new Service(`applier-${node}`, ['applier'], {
    ...ctx.env, KNP_NODE_NAME: node, KNP_NETNS: ctx.cluster.netnsOf(node), KNP_STATE_DIR: join(ctx.dir, 'state'), KNP_BACKEND: BACKEND, KNP_RECONCILE_S: '5',
  }, logs)]));
  const rv = syncApi(ctx.standin, modelObjects());
  await knpInit(ctx.env); // the services wait for the streams; they never create them
  ctx.watcher.start();
  ctx.compiler.start();
  for (const a of ctx.appliers.values()) a.start();
  try {
    await waitSynced(ctx.env, rv, 60);
    await waitFor('both appliers report', async () => (await status(ctx)).nodes.filter((n) => n.fresh && n.inSync).length === NODES.length, 30_000);
  } catch (err) {
    // the error itself is printed by @knp/testing's suite: add what the services logged
    for (const s of [ctx.watcher, ctx.compiler, ...ctx.appliers.values()]) process.stderr.write(`--- ${s.name} (last lines)\n${s.logTail(30)}\n`);
    throw err;
  }
});

E2E.after(async (ctx) => {
  for (const s of [ctx.watcher, ctx.compiler, ...(ctx.appliers?.values() ?? [])]) await s?.stop();
  await ctx.cluster?.destroy();
  await ctx.standin?.close();
  await ctx.nats?.destroy();
  if (process.env.KNP_E2E_KEEP_LOGS) process.stdout.write(`logs kept in ${ctx.dir}/logs\n`);
  else if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

const status = (ctx: Ctx): Promise<StatusReport> => knpStatus<StatusReport>(ctx.env);

const reaches = (ctx: Ctx, from: string, to: string): Promise<boolean> => ctx.cluster.reaches(from, to);

const denyIngressTo = (ns: string, podName: string, name = 'deny-a'): NetworkPolicy =>
  policy(ns, name, { podSelector: { matchLabels: { pod: podName } }, policyTypes: ['Ingress'], ingress: [] });

/** The API holds the model plus `policies`; returns the resourceVersion of the last write. */
const apply = (ctx: Ctx, policies: readonly NetworkPolicy[]): string => syncApi(ctx.standin, [...modelObjects(), ...policies]);

/** The table's kernel handle in a node: a whole-table load replaces the table and changes it. */
async function tableHandle(ctx: Ctx, node: string): Promise<string> {
  if (BACKEND !== 'nftables') return 'n/a';
  const text = await inNetns(ctx.cluster.netnsOf(node), ['nft', '-a', 'list', 'table', 'inet', PREFIX]);
  return /# handle (\d+)/.exec(text)?.[1] ?? 'none';
}

E2E('a policy created through the API blocks after knp wait --synced --after-rv; deleted, it allows again', async (ctx) => {
  assert.ok(await reaches(ctx, 'x/b', 'x/a'), 'no policy: allowed');
  const rv = apply(ctx, [denyIngressTo('x', 'a')]);
  const verdict = await waitSynced(ctx.env, rv);
  assert.is(verdict.synced, true);
  assert.not.ok(await reaches(ctx, 'x/b', 'x/a'), 'same node, denied');
  assert.not.ok(await reaches(ctx, 'y/a', 'x/a'), 'other node, denied');
  assert.ok(await reaches(ctx, 'x/a', 'x/b'), 'x/b is not selected');
  await waitSynced(ctx.env, apply(ctx, []));
  assert.ok(await reaches(ctx, 'x/b', 'x/a'), 'policy deleted: allowed again');
  assert.ok(await reaches(ctx, 'y/a', 'x/a'));
});

E2E('conformance scenarios, through the API and the three services', async (ctx) => {
  const failures: string[] = [];
  for (const scenario of selected) {
    const rv = syncApi(ctx.standin, scenarioObjects(scenario));
    await waitSynced(ctx.env, rv);
    const mismatches = await matrixMismatches(ctx.cluster, (from, to) => scenario.expected.isAllowed(from, to), {
      port: scenario.port, protocol: scenario.protocol as 'TCP' | 'UDP', pods: scenario.expected.pods,
    });
    if (mismatches.length > 0) failures.push(`${scenario.name}:\n  ${mismatches.join('\n  ')}`);
  }
  assert.equal(failures, [], failures.join('\n'));
  await waitSynced(ctx.env, apply(ctx, []));
});

E2E('restarting an applier writes nothing to the kernel', async (ctx) => {
  await waitSynced(ctx.env, apply(ctx, [denyIngressTo('x', 'a')]));
  const before = await Promise.all(NODES.map((n) => tableHandle(ctx, n)));
  for (const [node, applier] of ctx.appliers) {
    const old = (await applierRecord(ctx, node))!;
    await applier.stop();
    applier.start();
    const restarted = await waitFor(`${node} applier back`, async () => {
      const rec = await applierRecord(ctx, node);
      return rec && rec.instance !== old.instance && rec.version ? rec : undefined;
    }, 20_000);
    assert.is(restarted.kernelWrites, 0, `${node}: no transaction after a restart`);
    assert.is(restarted.hash, old.hash);
  }
  await waitSynced(ctx.env, ctx.standin.resourceVersion());
  assert.equal(await Promise.all(NODES.map((n) => tableHandle(ctx, n))), before, 'the tables were not replaced');
  assert.not.ok(await reaches(ctx, 'y/a', 'x/a'), 'still enforcing');
});

E2E('forged rule sets on a node\'s subject are refused, enforcement holds, and every later valid change is enforced', async (ctx) => {
  await waitSynced(ctx.env, apply(ctx, [denyIngressTo('x', 'a')]));
  assert.not.ok(await reaches(ctx, 'y/a', 'x/a'), 'denied before the forgeries');
  const node = fixturePods(selected).find((p) => p.name === 'x/a')!.node;
  const before = (await applierRecord(ctx, node))!;
  const nc = await connect({ servers: ctx.nats.url });
  try {
    const n = names(PREFIX);
    const info = await (await nc.jetstreamManager()).streams.info(n.eventsStream);
    const epoch = info.created, seq = info.state.last_seq;
    const open = (s: number, e = epoch): RuleSet => makeRuleSet({ node, pods: [], rules: [], sets: [] }, { epoch: e, seq: s }); // every jump gone
    const intruder = signingKeyFrom(createPrivateKey(generateSigningKeyPair().privatePem));
    // the newest version made whole (node messages name their sets in the set store)
    const transport = { js: nc.jetstream(), jsm: await nc.jetstreamManager(), prefix: PREFIX, maxPayload: nc.info!.max_payload, trust: { mode: 'unsigned' } as const };
    const genuine = (await readNodeHead(transport, node)).head!.ruleSet;
    const forgeries: Array<[RuleSet, SigningKey | undefined, string?]> = [
      [open(seq), undefined], // published by hand, unsigned
      [open(seq), intruder], // signed by a key nobody trusts
      [genuine, ctx.compilerKey, JSON.stringify({ ...genuine, pods: [], rules: [], sets: [] })], // the genuine statement over emptied content
      [open(Number.MAX_SAFE_INTEGER), ctx.compilerKey], // a seq the events stream has not reached
      [open(seq, 'zzzz'), ctx.compilerKey], // a foreign epoch
    ];
    for (const [rs, key, body] of forgeries)
      await nc.jetstream().publish(n.rulesSubject(node), Buffer.from(body ?? JSON.stringify(rs)), { headers: ruleSetMsgHeaders(key, rs) });
  } finally {
    await nc.close();
  }
  const after = await waitFor('the applier refused all five', async () => {
    const rec = await applierRecord(ctx, node);
    return rec && (rec.refused?.total ?? 0) >= (before.refused?.total ?? 0) + 5 ? rec : undefined;
  }, 20_000);
  assert.equal(Object.keys(after.refused!.byReason).sort(), ['foreign-epoch', 'future-seq', 'hash-mismatch', 'unsigned', 'untrusted-key']);
  assert.is(after.hash, before.hash, 'the rules in force did not change');
  assert.not.ok(await reaches(ctx, 'y/a', 'x/a'), 'still denied after the forgeries');
  const report = await status(ctx);
  assert.match(report.nodes.find((r) => r.node === node)!.error ?? '', /refused: foreign-epoch/, 'knp status names the invalid newest rule set');
  // the next valid changes: the compiler publishes over the forgeries, the applier applies them
  await waitSynced(ctx.env, apply(ctx, []));
  assert.ok(await reaches(ctx, 'y/a', 'x/a'), 'the deletion after the forgeries is enforced');
  await waitSynced(ctx.env, apply(ctx, [denyIngressTo('x', 'a')]));
  assert.not.ok(await reaches(ctx, 'y/a', 'x/a'), 'and so is the next deny');
  await waitSynced(ctx.env, apply(ctx, []));
});

/** The applier's raw record (instance, kernelWrites), read from the status bucket; `knp status` shows the judged view. */
async function applierRecord(ctx: Ctx, node: string): Promise<ApplierRecord | undefined> {
  const nc = await connect({ servers: ctx.nats.url });
  try {
    const kv = await nc.jetstream().views.kv(names(PREFIX).statusBucket, { bindOnly: true });
    return (await kv.get(applierStatusKey(node)))?.json<ApplierRecord>();
  } finally {
    await nc.close();
  }
}

/** Per node: the newest rule set's hash, the applied one, `knp replay`'s, and a fresh compile of the API's objects. */
async function ruleSetHashes(ctx: Ctx): Promise<Record<string, { desired?: string; applied?: string; replay: string; direct: string }>> {
  const report = await status(ctx);
  const objects: K8sObject[] = [...ctx.standin.list('Namespace'), ...ctx.standin.list('Pod'), ...ctx.standin.list('NetworkPolicy')];
  const direct = compileAll(evolveAll(emptyState('direct'), eventsFromObjects(objects).events));
  const out: Record<string, { desired?: string; applied?: string; replay: string; direct: string }> = {};
  for (const node of NODES) {
    const run = await knp(['replay', '--node', node], ctx.env);
    if (run.code !== 0) throw new Error(`knp replay --node ${node} exited ${run.code}: ${run.stderr}`);
    const n = report.nodes.find((r) => r.node === node);
    out[node] = {
      ...(n?.desired ? { desired: n.desired.hash } : {}),
      ...(n?.applied ? { applied: n.applied.hash } : {}),
      replay: (JSON.parse(run.stdout) as { contentHash: string }).contentHash,
      direct: direct[node]!.contentHash,
    };
  }
  return out;
}

E2E('kill -9 the compiler mid-stream and restart it: the same rule sets; knp replay equals what each applier applied', async (ctx) => {
  const rulesBefore = await rulesLastSeq(ctx);
  const allowClients = policy('x', 'allow-clients', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'client' } } }] }] });
  await waitSynced(ctx.env, apply(ctx, [allowClients]));
  const clients = ['y/a', 'y/b', 'y/c', 'z/a', 'z/b', 'z/c'];
  let rv = '';
  for (let i = 0; i < 40; i += 1) {
    const ref = clients[i % clients.length]!;
    const [ns, name] = ref.split('/') as [string, string];
    rv = ctx.standin.update('Pod', { namespace: ns, name }, (o) => {
      o.metadata.labels = i % 2 === 0 ? { pod: name, role: 'client' } : { pod: name };
    }).metadata.resourceVersion!;
    if (i === 15) await ctx.compiler.kill();
    if (i === 30) ctx.compiler.start();
  }
  await waitSynced(ctx.env, rv, 60);
  const hashes = await ruleSetHashes(ctx);
  for (const [node, h] of Object.entries(hashes)) {
    assert.is(h.desired, h.direct, `${node}: the published rule set is what a fresh compile of the API gives`);
    assert.is(h.replay, h.desired, `${node}: knp replay equals the newest rule set`);
    assert.is(h.applied, h.desired, `${node}: the applier applied it`);
  }
  const wanted = (ref: string): boolean => ctx.standin.get('Pod', ref.split('/')[0], ref.split('/')[1]!)!.metadata.labels?.role === 'client';
  for (const from of ['y/a', 'y/b', 'z/c']) assert.is(await reaches(ctx, from, 'x/a'), wanted(from), `${from} -> x/a`);
  if (BACKEND === 'iptables') assert.ok((await pointersOnStream(ctx, rulesBefore)) > 0, 'client label changes travelled as pointers');
});

/** Pointer messages on the rules stream after `afterSeq` (set-only changes, as the iptables run publishes them). */
async function pointersOnStream(ctx: Ctx, afterSeq: number): Promise<number> {
  const nc = await connect({ servers: ctx.nats.url });
  try {
    return await pointersOnRulesStream(await nc.jetstreamManager(), PREFIX, afterSeq);
  } finally {
    await nc.close();
  }
}

async function rulesLastSeq(ctx: Ctx): Promise<number> {
  const nc = await connect({ servers: ctx.nats.url });
  try {
    return (await (await nc.jetstreamManager()).streams.info(names(PREFIX).rulesStream)).state.last_seq;
  } finally {
    await nc.close();
  }
}

E2E('stop the watcher, delete a policy in the API, start it again: the deny is gone', async (ctx) => {
  await waitSynced(ctx.env, apply(ctx, [denyIngressTo('x', 'a')]));
  assert.not.ok(await reaches(ctx, 'y/a', 'x/a'));
  await ctx.watcher.stop();
  const rv = apply(ctx, []);
  ctx.watcher.start();
  await waitSynced(ctx.env, rv);
  assert.ok(await reaches(ctx, 'y/a', 'x/a'), 'the deletion made while nobody watched reached the kernel');
});

E2E('a policy created while the watcher is down keeps its peers (it arrives by a list, not a watch)', async (ctx) => {
  // the list path hands the trim typed objects: spec.ingress[].from must survive it as well as the watch path's JSON
  const fromClients = policy('x', 'from-clients', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'client' } } }], ports: [{ protocol: 'TCP', port: 80 }] }] });
  await waitSynced(ctx.env, apply(ctx, []));
  await ctx.watcher.stop();
  const rv = syncApi(ctx.standin, [...withLabel(modelObjects(), 'y/a', 'role', 'client'), fromClients]);
  ctx.watcher.start();
  await waitSynced(ctx.env, rv);
  assert.ok(await reaches(ctx, 'y/a', 'x/a'), 'y/a is a client: the peer survived the list');
  assert.not.ok(await reaches(ctx, 'y/b', 'x/a'), 'y/b is no client');
  await waitSynced(ctx.env, apply(ctx, []));
});

/** `objects` with one more label on the pod `ref` (ns/name). */
function withLabel(objects: readonly ModelObject[], ref: string, key: string, value: string): ModelObject[] {
  return objects.map((o) => o.kind === 'Pod' && `${o.metadata.namespace}/${o.metadata.name}` === ref
    ? { ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, [key]: value } } }
    : o);
}

E2E('NATS stopped: appliers keep enforcing (and restart from their state file); NATS back: they catch up', async (ctx) => {
  await waitSynced(ctx.env, apply(ctx, [denyIngressTo('x', 'a')]));
  await ctx.nats.stop();
  assert.not.ok(await reaches(ctx, 'y/a', 'x/a'), 'enforcing with NATS down');
  const node1 = ctx.appliers.get('node-1')!;
  await node1.stop();
  node1.start(); // restarts with NATS unreachable: the state file keeps the rules in force
  const rv = apply(ctx, []); // the watcher cannot publish this until NATS is back
  await waitFor('the restarted applier loaded its state file', () => node1.logLines().some((l) => l.msg === 'applying the stored rule set' || l.msg === 'kernel already holds the stored rule set, nothing written') ? true : undefined, 10_000);
  assert.not.ok(await reaches(ctx, 'y/a', 'x/a'), 'still enforcing after an applier restart without NATS');
  await ctx.nats.start();
  await waitSynced(ctx.env, rv, 60);
  assert.ok(await reaches(ctx, 'y/a', 'x/a'), 'caught up once NATS is back');
  const hashes = await ruleSetHashes(ctx);
  for (const [node, h] of Object.entries(hashes)) assert.is(h.applied, h.replay, `${node}: knp replay equals what the applier applied`);
});

E2E.run();
