import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { createPrivateKey } from 'node:crypto';
import {
  NODE_SUBJECT_MESSAGES, addressSetHash, applierStatusKey, deltaMessage, nodeMessageStatement, pointerText, transportHeaders, createLogger, generateSigningKeyPair, loadConfig, loadTrustedKeys, makeRuleSet, names, signingKeyFrom,
  type ApplierRecord, type RuleSet, type SigningKey, type Trust,
} from '@knp/shared';
import { DEFAULT_STREAM_SETTINGS, NodeWriter, ensureStreams, publishLarge, ruleSetMsgHeaders, setsStreamConfig } from '@knp/shared/nats';
import { renderNft, type Backend, type LoadReport } from '@knp/node-applier';
import {
  DEFAULT_APPLIER_SETTINGS, durableName, ensureDurable, runApplierService, stateFilePath, type ApplierHandle, type ApplierSettings,
} from '@knp/node-applier/service';
import { connect, headers as natsHeaders, nanos, type JetStreamManager, type NatsConnection } from 'nats';
import { freePort, startNatsServer, type NatsServer } from '@knp/sim';
import { waitFor, suite } from '@knp/testing';
import { FactsReader } from '@knp/cli';

/**
 * The applier service against a private nats-server, driving an in-memory kernel: what it loads at start,
 * what it applies, acks without writing, refuses and reports. Real kernels are in test/e2e-pipeline.test.ts.
 */

/** A kernel in memory: the rule set it holds, and every transaction sent to it. */
class FakeKernel implements Backend {
  readonly kind = 'nftables' as const;
  table: RuleSet | undefined;
  readonly loads: { seq: number; epoch: string; mode: 'full' | 'delta' }[] = [];
  private gate: Promise<void> | undefined;
  /** Makes the loads from now on wait (a slow kernel) until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((resolve) => (release = resolve));
    return release;
  }
  async load(next: RuleSet, prev: RuleSet | undefined): Promise<LoadReport> {
    renderNft(next, { prefix: 'knp' }); // the real renderer: a rule set it cannot print never reaches the "kernel"
    this.loads.push({ seq: next.version.seq, epoch: next.version.epoch, mode: prev ? 'delta' : 'full' });
    await this.gate;
    this.table = next;
    return { mode: prev ? 'delta' : 'full', scriptBytes: 1, kernelMs: 0 };
  }
  async check(): Promise<void> {}
  async observe(): Promise<string | undefined> {
    return this.table && `listing-of-${this.table.contentHash}`;
  }
  async remove(): Promise<void> {
    this.table = undefined;
  }
}

type Ctx = { nats: NatsServer; nc: NatsConnection; jsm: JetStreamManager; dir: string; n: number; handles: ApplierHandle[] };
const Service = suite<Ctx>('applier service (NATS, in-memory kernel)');
const log = createLogger('applier-service-test', process.env.KNP_TEST_LOG ?? 'silent');

Service.before(async (ctx) => {
  ctx.nats = await startNatsServer();
  ctx.nc = await connect({ servers: ctx.nats.url });
  ctx.jsm = await ctx.nc.jetstreamManager();
  ctx.dir = mkdtempSync(join(tmpdir(), 'knp-applier-test-'));
  ctx.n = 0;
  ctx.handles = [];
});
// a failed assertion skips the test's own stopAll: an applier left running would keep the file from exiting
Service.after.each(async (ctx) => {
  for (const h of ctx.handles.splice(0)) await h.stop();
});
Service.after(async (ctx) => {
  await ctx.nc?.close();
  await ctx.nats?.stop();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

const NODE = 'node-1.example';
/** The events stream's epoch of the running scenario: rule sets of any other epoch are refused. */
let EPOCH = '';
/** Events published by `scenario`: rule set seqs up to this are ones the events stream has reached. */
const EVENTS = 20;
/** A rule set for `node` whose content is determined by `content` (same content, same hash). */
const ruleSet = (seq: number, content: string, opts: { node?: string; epoch?: string } = {}): RuleSet =>
  makeRuleSet({
    node: opts.node ?? NODE,
    pods: [{ uid: `uid-${content}`, pod: `ns/${content}`, ips: ['10.0.0.1'], ingress: { isolated: true, policies: ['ns/p'], rules: [] }, egress: { isolated: false, policies: [], rules: [] } }],
    rules: [],
    sets: [],
  }, { epoch: opts.epoch ?? EPOCH, seq });

type Env = { prefix: string; stateDir: string; settings: ApplierSettings; handles: ApplierHandle[] };

async function scenario(ctx: Ctx): Promise<Env> {
  ctx.n += 1;
  const prefix = `a${ctx.n}`;
  EPOCH = (await ensureStreams(ctx.nc, prefix, DEFAULT_STREAM_SETTINGS)).epoch;
  for (let i = 0; i < EVENTS; i++) await ctx.nc.jetstream().publish(`${names(prefix).eventsSubjects.slice(0, -1)}e`, new Uint8Array(0));
  const stateDir = join(ctx.dir, `state-${ctx.n}`);
  return { prefix, stateDir, settings: { ...DEFAULT_APPLIER_SETTINGS, node: NODE, stateDir, heartbeatMs: 200, reconcileMs: 0, retryDelayMs: 100 }, handles: ctx.handles };
}

async function start(ctx: Ctx, env: Env, kernel: Backend, natsUrl = ctx.nats.url): Promise<ApplierHandle> {
  const config = loadConfig({ KNP_NATS_URL: natsUrl, KNP_PREFIX: env.prefix });
  const handle = await runApplierService(config, log, { settings: env.settings, backend: kernel });
  env.handles.push(handle);
  return handle;
}

async function stopAll(env: Env): Promise<void> {
  for (const h of env.handles.splice(0)) await h.stop();
}

/** Publishes a rule set; `withoutId` stores it even when the same version is on the stream already (no dedup). */
async function publish(ctx: Ctx, env: Env, rs: RuleSet, opts: { node?: string; maxPayload?: number; raw?: string; withoutId?: boolean; signer?: SigningKey } = {}): Promise<number> {
  const data = Buffer.from(opts.raw ?? JSON.stringify(rs), 'utf8');
  const headers = ruleSetMsgHeaders(opts.signer, rs);
  const ack = await publishLarge(ctx.nc.jetstream(), names(env.prefix).rulesSubject(opts.node ?? rs.node), data, {
    maxPayload: opts.maxPayload ?? 1024 * 1024,
    headers,
    ...(opts.withoutId ? {} : { msgID: `${rs.node}:${rs.version.epoch}:${rs.version.seq}:${opts.raw ? 'raw' : ''}` }),
  });
  assert.not.ok(ack.duplicate, 'the stream stored the message');
  return ack.seq;
}

/** Waits until the node's durable has acked everything on its subject (at least up to stream seq `upTo`). */
async function drained(ctx: Ctx, env: Env, upTo = 1): Promise<void> {
  const n = names(env.prefix);
  await waitFor('the durable acked everything', async () => {
    const info = await ctx.jsm.consumers.info(n.rulesStream, durableName(env.prefix, NODE));
    return info.num_pending === 0 && info.num_ack_pending === 0 && info.ack_floor.stream_seq >= upTo;
  });
}

async function statusRecord(ctx: Ctx, env: Env): Promise<ApplierRecord | undefined> {
  const kv = await ctx.nc.jetstream().views.kv(names(env.prefix).statusBucket);
  return (await kv.get(applierStatusKey(NODE)))?.json<ApplierRecord>();
}

Service('applies the newest rule set, then follows: older versions are acked without a kernel write', async (ctx) => {
  const env = await scenario(ctx);
  const kernel = new FakeKernel();
  await publish(ctx, env, ruleSet(5, 'a'));
  await publish(ctx, env, ruleSet(7, 'b'));
  const handle = await start(ctx, env, kernel);
  await handle.following();
  assert.equal(kernel.loads.map((l) => l.seq), [7], 'only the newest was loaded');
  await publish(ctx, env, ruleSet(6, 'c')); // older: an out-of-order publish must not move the node backwards
  // the same version stored a second time (no message id, so no dedup): delivered, acked, nothing written
  const again = await publish(ctx, env, ruleSet(7, 'b'), { withoutId: true });
  await drained(ctx, env, again);
  assert.equal(kernel.loads.map((l) => l.seq), [7]);
  await publish(ctx, env, ruleSet(9, 'd'));
  await waitFor('seq 9 applied', () => handle.record().version?.seq === 9);
  assert.equal(kernel.loads.map((l) => [l.seq, l.mode]), [[7, 'full'], [9, 'delta']]);
  // a recreated events stream is a newer epoch: its rule sets apply whatever their seq
  const e1 = EPOCH;
  await ctx.jsm.streams.delete(names(env.prefix).eventsStream);
  const e2 = (await ensureStreams(ctx.nc, env.prefix, DEFAULT_STREAM_SETTINGS)).epoch;
  for (let i = 0; i < 3; i++) await ctx.nc.jetstream().publish(`${names(env.prefix).eventsSubjects.slice(0, -1)}e`, new Uint8Array(0));
  await publish(ctx, env, ruleSet(3, 'e', { epoch: e2 }));
  await waitFor('the new epoch applied', () => handle.record().version?.epoch === e2);
  await drained(ctx, env);
  assert.equal(kernel.loads.map((l) => `${l.epoch}/${l.seq}`), [`${e1}/7`, `${e1}/9`, `${e2}/3`]);
  const record = await waitFor('status record', async () => {
    const r = await statusRecord(ctx, env);
    return r?.version?.epoch === e2 ? r : undefined;
  });
  assert.is(record.hash, ruleSet(3, 'e', { epoch: e2 }).contentHash);
  assert.is(record.kernelWrites, 3);
  assert.ok(record.appliedAt && record.heartbeatAt);
  await stopAll(env);
});

/** Version `seq` of a node with a shared set of 2,000 addresses and 30 pods: a pod joins or leaves the set each time. */
const bigVersion = (seq: number): RuleSet => {
  const ips = Array.from({ length: 2000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`).filter((_, i) => i !== seq).sort();
  const dir = { isolated: true, policies: ['ns/p'], rules: ['r1'] };
  return makeRuleSet({
    node: NODE,
    pods: Array.from({ length: 30 }, (_, i) => ({ uid: `uid-${i}`, pod: `ns/p${i}`, ips: [`10.99.0.${i + 1}`], ingress: dir, egress: { ...dir, isolated: false, rules: [] } })),
    rules: [{ id: 'r1', direction: 'ingress', terms: [{ kind: 'peers', peers: ['pall'], ports: 'any' }], origins: [{ policy: 'ns/p', rule: 0 }] }],
    sets: [{ kind: 'pods', id: 'pall', selector: 'everyone', ips }],
  }, { epoch: EPOCH, seq });
};

/** A scenario whose rules stream carries node messages: the set store, a signing writer, version 1 as a FULL, an applier following. */
async function nodeMessageScenario(ctx: Ctx) {
  const env = await scenario(ctx);
  const signer = signingKeyFrom(createPrivateKey(generateSigningKeyPair().privatePem));
  await ctx.jsm.streams.add(setsStreamConfig(env.prefix, DEFAULT_STREAM_SETTINGS));
  await ctx.jsm.streams.update(names(env.prefix).rulesStream, { ...(await ctx.jsm.streams.info(names(env.prefix).rulesStream)).config, max_msgs_per_subject: NODE_SUBJECT_MESSAGES });
  const writer = new NodeWriter({ js: ctx.nc.jetstream(), jsm: ctx.jsm, prefix: env.prefix, maxPayload: ctx.nc.info!.max_payload, trust: { mode: 'unsigned' }, signer });
  const kernel = new FakeKernel();
  assert.is((await writer.publish(bigVersion(1))).kind, 'full');
  const handle = await start(ctx, env, kernel);
  await handle.following();
  return { env, signer, writer, kernel, handle };
}

Service('node messages: a FULL then DELTAs with sets from the store; a restart resumes deltas on its state file; a new applier rebuilds from the subject', async (ctx) => {
  const { env, signer, writer, kernel, handle } = await nodeMessageScenario(ctx);
  for (const seq of [2, 3, 4]) assert.is((await writer.publish(bigVersion(seq))).kind, 'delta');
  await waitFor('seq 4 applied', () => handle.record().version?.seq === 4);
  assert.is(kernel.table?.contentHash, bigVersion(4).contentHash, 'the expanded rule set is the compiled one');
  assert.equal(kernel.loads.map((l) => l.seq), [1, 2, 3, 4]);
  // a compaction FULL of the version in force: acked as stale, no kernel write
  assert.ok(await writer.compact(NODE, 3));
  await drained(ctx, env, (await ctx.jsm.streams.info(names(env.prefix).rulesStream)).state.last_seq);
  assert.equal(kernel.loads.map((l) => l.seq), [1, 2, 3, 4]);
  // restart: the state file's rule set is the base the next delta applies on
  await stopAll(env);
  const restarted = await start(ctx, env, kernel);
  await restarted.following();
  assert.is((await writer.publish(bigVersion(5))).kind, 'delta');
  await waitFor('seq 5 applied after the restart', () => restarted.record().version?.seq === 5);
  // `knp status` reads the newest node message's signed statement: the version and hash the applier holds
  const desired = (await new FactsReader(ctx.nc, env.prefix).read()).desired.find((d) => d.node === NODE);
  assert.equal([desired?.version?.seq, desired?.hash, desired?.error], [5, bigVersion(5).contentHash, undefined]);
  // an old delta delivered again (another base, an older version): acked as stale, nothing written
  const writes = kernel.loads.length;
  const old = deltaMessage(bigVersion(2), bigVersion(3)).message;
  const oldHeaders = natsHeaders();
  for (const [k, v] of transportHeaders(signer, nodeMessageStatement(old))) oldHeaders.set(k, v);
  const oldSeq = (await ctx.nc.jetstream().publish(names(env.prefix).rulesSubject(NODE), Buffer.from(JSON.stringify(old)), { headers: oldHeaders })).seq;
  await drained(ctx, env, oldSeq);
  assert.is(kernel.loads.length, writes);
  assert.is(restarted.record().error, undefined);
  await stopAll(env);
  // a new applier (no state file, no durable): the newest message is a delta; it rebuilds from the FULL
  assert.is((await writer.publish(bigVersion(6))).kind, 'delta');
  await ctx.jsm.consumers.delete(names(env.prefix).rulesStream, durableName(env.prefix, NODE));
  const fresh = new FakeKernel();
  const newcomer = await start(ctx, { ...env, settings: { ...env.settings, stateDir: `${env.stateDir}-new` } }, fresh);
  await newcomer.following();
  await waitFor('the newest version rebuilt and applied', () => fresh.table?.contentHash === bigVersion(6).contentHash);
  // a delta naming a set content the store does not hold: never applied half, the rules in force stay
  const seven = bigVersion(7);
  const missing = makeRuleSet({ node: NODE, pods: seven.pods, rules: seven.rules, sets: [{ kind: 'pods', id: 'pall', selector: 'everyone', ips: ['10.0.0.1'] }] }, seven.version);
  const orphan = deltaMessage(bigVersion(6), missing).message;
  const h = natsHeaders();
  for (const [k, v] of transportHeaders(signer, nodeMessageStatement(orphan))) h.set(k, v);
  await ctx.nc.jetstream().publish(names(env.prefix).rulesSubject(NODE), Buffer.from(JSON.stringify(orphan)), { headers: h });
  await waitFor('reported unreadable', () => newcomer.record().error?.kind === 'unreadable');
  assert.is(fresh.table?.contentHash, bigVersion(6).contentHash);
  await stopAll(env);
});

Service('pointers: a set-only change arrives as a pointer to a signed manifest and is applied; status reads its version; a new applier rebuilds through it', async (ctx) => {
  const { env, signer, writer, kernel, handle } = await nodeMessageScenario(ctx);
  let threeAt = 0;
  for (const seq of [2, 3]) {
    const [out] = await writer.publishMany([bigVersion(seq)], undefined, { min: 1 });
    assert.is(out?.status === 'fulfilled' && out.value.kind, 'pointer');
    if (out?.status === 'fulfilled') threeAt = out.value.subjectSeq;
  }
  await waitFor('seq 3 applied', () => handle.record().version?.seq === 3);
  assert.is(kernel.table?.contentHash, bigVersion(3).contentHash, 'the pointer expanded to the compiled rule set');
  assert.equal(kernel.loads.map((l) => l.seq), [1, 2, 3]);
  const desired = (await new FactsReader(ctx.nc, env.prefix).read()).desired.find((d) => d.node === NODE);
  assert.equal([desired?.version?.seq, desired?.hash, desired?.error], [3, bigVersion(3).contentHash, undefined]);
  // a pointer naming a manifest that is not in the store: the subject is read again at once (no retries
  // holding a delivery slot), the rules in force stay
  const forged = (await ctx.nc.jetstream().publish(names(env.prefix).rulesSubject(NODE), Buffer.from(pointerText('f'.repeat(64))))).seq;
  await drained(ctx, env, forged);
  assert.is(handle.record().error, undefined);
  assert.equal(kernel.loads.map((l) => l.seq), [1, 2, 3]);
  const [four] = await writer.publishMany([bigVersion(4)], undefined, { min: 1 });
  assert.is(four?.status === 'fulfilled' && four.value.kind, 'delta', 'the writer moved on past the forged pointer');
  await waitFor('seq 4 applied past the forged pointer', () => handle.record().version?.seq === 4);
  await stopAll(env);
  // a new applier whose subject ends in a pointer rebuilds from the FULL through it
  const [five] = await writer.publishMany([bigVersion(5)], undefined, { min: 1 });
  assert.is(five?.status === 'fulfilled' && five.value.kind, 'pointer');
  await ctx.jsm.consumers.delete(names(env.prefix).rulesStream, durableName(env.prefix, NODE));
  const fresh = new FakeKernel();
  const newcomer = await start(ctx, { ...env, settings: { ...env.settings, stateDir: `${env.stateDir}-new` } }, fresh);
  await newcomer.following();
  await waitFor('the newest version rebuilt and applied', () => fresh.table?.contentHash === bigVersion(5).contentHash);
  // the version 3 pointer published again (pointers are unsigned: anyone who saw it can), after the set
  // content its manifest names was swept: the applier takes it for the rules in force, without fetching
  // (no retries holding the node's deliveries), and a status reader that saw version 5 keeps reporting it
  const n = names(env.prefix);
  const facts = new FactsReader(ctx.nc, env.prefix);
  assert.is((await facts.read()).desired.find((d) => d.node === NODE)?.version?.seq, 5);
  const old = await ctx.jsm.streams.getMessage(n.rulesStream, { seq: threeAt });
  await ctx.jsm.streams.purge(n.setsStream, { filter: n.setSubject('pall', addressSetHash(bigVersion(3).sets[0]!)) });
  const replayed = (await ctx.nc.jetstream().publish(n.rulesSubject(NODE), old.data)).seq;
  await drained(ctx, env, replayed);
  assert.is(newcomer.record().error, undefined);
  assert.is(newcomer.record().version?.seq, 5);
  assert.is(fresh.table?.contentHash, bigVersion(5).contentHash);
  assert.is((await facts.read()).desired.find((d) => d.node === NODE)?.version?.seq, 5, 'status does not step back to the replayed version');
  await stopAll(env);
});

Service('a rule set delivered again (its first delivery was never acked) is acked without a kernel write', async (ctx) => {
  const env = await scenario(ctx);
  const { rulesStream, rulesSubject } = names(env.prefix);
  const durable = durableName(env.prefix, NODE);
  // an applier that died between its kernel write and its ack: the durable holds that delivery unacked,
  // and JetStream delivers it again once ack_wait (short here) runs out
  await ensureDurable(ctx.jsm, rulesStream, durable, rulesSubject(NODE));
  await ctx.jsm.consumers.update(rulesStream, durable, { ack_wait: nanos(300) });
  const seq = await publish(ctx, env, ruleSet(4, 'a'));
  const first = await (await ctx.nc.jetstream().consumers.get(rulesStream, durable)).next();
  assert.is(first?.seq, seq, 'the first delivery, never acked');
  const kernel = new FakeKernel();
  const handle = await start(ctx, env, kernel);
  await handle.following(); // the restarted applier loaded the newest rule set from the stream
  await drained(ctx, env, seq);
  const info = await ctx.jsm.consumers.info(rulesStream, durable);
  assert.ok(info.delivered.consumer_seq >= 2, `delivered ${info.delivered.consumer_seq} times`);
  assert.equal(kernel.loads.map((l) => l.seq), [4], 'one kernel write, from the catch-up');
  assert.is(handle.record().kernelWrites, 1);
  assert.is(handle.record().version?.seq, 4);
  await stopAll(env);
});

Service('refuses a rule set for another node or of an unknown schema, keeps its rules and reports', async (ctx) => {
  const env = await scenario(ctx);
  const kernel = new FakeKernel();
  const handle = await start(ctx, env, kernel);
  await publish(ctx, env, ruleSet(2, 'a'));
  await waitFor('seq 2 applied', () => handle.record().version?.seq === 2);
  await publish(ctx, env, ruleSet(3, 'x', { node: 'node-2' }), { node: NODE });
  await waitFor('wrong node reported', () => handle.record().error?.kind === 'refused');
  assert.match(handle.record().error!.message, /^wrong-node: statement names node "node-2"/);
  await publish(ctx, env, ruleSet(4, 'y'), { raw: JSON.stringify({ ...ruleSet(4, 'y'), schema: 99 }) });
  await waitFor('unknown schema reported', () => /schema version 99/.test(handle.record().error?.message ?? ''));
  await drained(ctx, env);
  assert.equal(kernel.loads.map((l) => l.seq), [2], 'the rules in force did not change');
  assert.is(kernel.table?.version.seq, 2);
  await publish(ctx, env, ruleSet(5, 'z'));
  await waitFor('a good rule set clears the error', () => handle.record().version?.seq === 5 && handle.record().error === undefined);
  await stopAll(env);
});

/** A compiler key pair: its signer, and the Trust of an applier given its public key file. */
function compilerKey(ctx: Ctx, name: string): { signer: SigningKey; trust: Trust } {
  const pair = generateSigningKeyPair();
  const file = join(ctx.dir, `${name}.pub`);
  writeFileSync(file, pair.publicPem);
  return { signer: signingKeyFrom(createPrivateKey(pair.privatePem)), trust: { mode: 'signed', keys: loadTrustedKeys([file]) } };
}

Service('refuses forged rule sets (unsigned, wrong key, wrong hash, future seq, foreign epoch), acks them, keeps its rules; the next valid one applies', async (ctx) => {
  const env = await scenario(ctx);
  const { signer, trust } = compilerKey(ctx, 'compiler');
  const { signer: intruder } = compilerKey(ctx, 'intruder');
  env.settings = { ...env.settings, trust };
  const kernel = new FakeKernel();
  const handle = await start(ctx, env, kernel);
  assert.is(handle.record().trust, 'signed');
  await publish(ctx, env, ruleSet(2, 'a'), { signer });
  await waitFor('seq 2 applied', () => handle.record().version?.seq === 2);
  const good = ruleSet(3, 'b');
  await publish(ctx, env, good); // by hand, no signature: every jump gone on main
  await publish(ctx, env, ruleSet(4, 'c'), { signer: intruder });
  await publish(ctx, env, ruleSet(5, 'd'), { signer, raw: JSON.stringify({ ...ruleSet(5, 'd'), pods: [] }) }); // content swapped under a genuine statement
  await publish(ctx, env, ruleSet(Number.MAX_SAFE_INTEGER, 'e'), { signer }); // would freeze the node once stored
  const last = await publish(ctx, env, ruleSet(6, 'f', { epoch: 'zzzz' }), { signer }); // likewise, compared as text
  await drained(ctx, env, last);
  assert.equal(kernel.loads.map((l) => l.seq), [2], 'no forged rule set reached the kernel');
  const refused = await waitFor('the refusals are in the status record', async () => {
    const r = await statusRecord(ctx, env);
    return r?.refused?.total === 5 ? r.refused : undefined;
  });
  assert.equal({ ...refused.byReason }, { 'foreign-epoch': 1, 'future-seq': 1, 'hash-mismatch': 1, unsigned: 1, 'untrusted-key': 1 });
  assert.match(refused.last.source, /stream seq \d+/);
  assert.match(readText(stateFilePath(env.stateDir, env.prefix, NODE)), new RegExp(ruleSet(2, 'a').contentHash), 'only accepted rule sets are stored');
  await publish(ctx, env, ruleSet(7, 'g'), { signer });
  await waitFor('the next valid version applies', () => handle.record().version?.seq === 7);
  assert.equal(kernel.loads.map((l) => l.seq), [2, 7]);
  await stopAll(env);
});

Service('a rule set the renderer cannot print is refused once and acked; the rules in force stay and the next valid one applies', async (ctx) => {
  const env = await scenario(ctx);
  const kernel = new FakeKernel();
  const handle = await start(ctx, env, kernel);
  await publish(ctx, env, ruleSet(2, 'a'));
  await waitFor('seq 2 applied', () => handle.record().version?.seq === 2);
  const base = ruleSet(3, 'b');
  // a pod naming a rule the rule set does not hold: the renderer throws RenderError
  const broken = makeRuleSet({ node: NODE, rules: [], sets: [], pods: [{ ...base.pods[0]!, ingress: { isolated: true, policies: ['ns/p'], rules: ['missing'] } }] }, base.version);
  const seq = await publish(ctx, env, broken);
  await drained(ctx, env, seq);
  await waitFor('reported', () => handle.record().error?.kind === 'refused');
  assert.match(handle.record().error!.message, /^unrenderable: /, handle.record().error!.message);
  assert.is(handle.record().refused?.byReason.unrenderable, 1, 'refused once, not retried');
  assert.is(kernel.table?.version.seq, 2, 'the last good rules stay in force');
  await publish(ctx, env, ruleSet(4, 'c'));
  await waitFor('the next valid version applies', () => handle.record().version?.seq === 4 && handle.record().error === undefined);
  await stopAll(env);
});

Service('reassembles a chunked rule set', async (ctx) => {
  const env = await scenario(ctx);
  const kernel = new FakeKernel();
  const big = makeRuleSet({
    node: NODE,
    pods: [],
    rules: [],
    sets: [{ kind: 'pods', id: 'big', selector: 'sel', ips: Array.from({ length: 4000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`) }],
  }, { epoch: EPOCH, seq: 11 });
  await publish(ctx, env, big, { maxPayload: 24 * 1024 }); // ~70 KiB: parts plus a manifest
  const handle = await start(ctx, env, kernel);
  await handle.following();
  assert.is(kernel.table?.contentHash, big.contentHash);
  await publish(ctx, env, { ...big, version: { epoch: EPOCH, seq: 12 } }, { maxPayload: 24 * 1024 });
  await waitFor('chunked seq 12 followed', () => handle.record().version?.seq === 12);
  assert.is(kernel.loads.length, 1, 'same content under a newer version: no kernel write');
  await stopAll(env);
});

Service('starts from the state file with NATS unreachable; a restart that finds its rules in place writes nothing', async (ctx) => {
  const env = await scenario(ctx);
  const kernel = new FakeKernel();
  let handle = await start(ctx, env, kernel);
  await publish(ctx, env, ruleSet(4, 'a'));
  await waitFor('seq 4 applied', () => handle.record().version?.seq === 4);
  await waitFor('state file has the read-back listing', () => /listing-of-/.test(readText(stateFilePath(env.stateDir, env.prefix, NODE))));
  await stopAll(env);

  // NATS unreachable: the stored rule set is enforced; the kernel already holds it, so nothing is written
  const deadPort = await freePort();
  handle = await start(ctx, env, kernel, `nats://127.0.0.1:${deadPort}`);
  assert.is(handle.record().version?.seq, 4);
  assert.is(handle.record().kernelWrites, 0);
  assert.is(kernel.loads.length, 1);
  await stopAll(env);

  // a rebooted node (empty kernel): the stored rule set is loaded again before any NATS traffic
  const fresh = new FakeKernel();
  handle = await start(ctx, env, fresh, `nats://127.0.0.1:${deadPort}`);
  assert.equal(fresh.loads.map((l) => l.seq), [4]);
  await stopAll(env);

  // a corrupt state file is ignored (logged), the stream brings the rules
  writeFileSync(stateFilePath(env.stateDir, env.prefix, NODE), '{"schema":1,"ruleSet":');
  const third = new FakeKernel();
  handle = await start(ctx, env, third);
  await handle.following();
  assert.equal(third.loads.map((l) => l.seq), [4]);
  await stopAll(env);
});

Service('stop() during the catch-up returns, also with nothing left for the durable to deliver', async (ctx) => {
  const env = await scenario(ctx);
  const first = await start(ctx, env, new FakeKernel());
  const seq = await publish(ctx, env, ruleSet(4, 'a'));
  await waitFor('seq 4 applied', () => first.record().version?.seq === 4);
  await drained(ctx, env, seq);
  await stopAll(env);
  rmSync(stateFilePath(env.stateDir, env.prefix, NODE)); // so the restart takes its rules from the stream

  const kernel = new FakeKernel();
  const release = kernel.hold();
  const handle = await start(ctx, env, kernel);
  await waitFor('the catch-up load started', () => kernel.loads.length === 1);
  let stopped = false;
  void handle.stop().then(() => (stopped = true));
  release();
  await waitFor('stop() returned', () => stopped);
  assert.is(kernel.table?.version.seq, 4, 'the catch-up finished before the applier stopped');
});

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

Service.run();

const Settings = suite('knp applier configuration');
const root = fileURLToPath(new URL('../../', import.meta.url));
Settings('a start with bad shared and applier variables lists every problem at once and exits 2', () => {
  const r = spawnSync(join(root, 'bin/knp'), ['applier'], { encoding: 'utf8', env: { PATH: process.env.PATH, KNP_PREFIX: 'Bad', KNP_BACKEND: 'ebpf', KNP_STATE_DIR: 'rel' } });
  assert.is(r.status, 2, r.stderr);
  const problems = r.stderr.split('\n').slice(1).map((l) => l.trim().split(':')[0]).filter(Boolean);
  assert.equal(problems, ['KNP_PREFIX', 'KNP_NODE_NAME', 'KNP_BACKEND', 'KNP_STATE_DIR']);
});
Settings.run();
