import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import {
  REJECTIONS_KEY, checkNodeMessage, checkRuleSet, isNodeMessagePayload, versionRefusal, compilerStatusKey, createLogger, generateSigningKeyPair, loadConfig,
  loadTrustedKeys, makeRuleSet, names, signingKeyFrom, type ClusterEvent, type CompilerStatus, type RejectionsRecord, type RuleSet, type SigningSettings,
} from '@knp/shared';
import { ensureStreams, DEFAULT_STREAM_SETTINGS, receivedRuleSet, ruleSetMsgHeaders } from '@knp/shared/nats';
import { runCompiler, type CompilerHandle, type CompilerOptions } from '@knp/compiler/service';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '@knp/sim';
import { waitFor, suite } from '@knp/testing';
import { NODES, contentOf, expectedContents, history, lastPublished, pointersOnRulesStream, publishEvents, readRulesHistory } from '@knp/testing/history';

type Ctx = { dir: string; nats: NatsServer; nc: NatsConnection; jsm: JetStreamManager; handles: CompilerHandle[]; n: number };
const Service = suite<Ctx>('compiler service on JetStream');
const log = createLogger('compiler-test', process.env.KNP_TEST_LOG ?? 'silent');
/** A small max payload, so a node with a few hundred pods already needs a chunked rule set. */
const MAX_PAYLOAD = 64 * 1024;

Service.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'knp-compiler-test-'));
  const conf = join(ctx.dir, 'small-payload.conf');
  writeFileSync(conf, `max_payload: ${MAX_PAYLOAD}\n`);
  ctx.nats = await startNatsServer(['-c', conf]);
  ctx.nc = await connect({ servers: ctx.nats.url });
  ctx.jsm = await ctx.nc.jetstreamManager();
  ctx.handles = [];
  ctx.n = 0;
});
Service.after.each(async (ctx) => {
  for (const h of ctx.handles.splice(0)) await h.stop();
});
Service.after(async (ctx) => {
  await ctx.nc?.close();
  await ctx.nats?.stop();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

/** A fresh prefix per test: its own streams, buckets and epoch on the shared server. */
async function setup(ctx: Ctx): Promise<{ prefix: string; epoch: string }> {
  ctx.n += 1;
  const prefix = `c${ctx.n}`;
  const { epoch } = await ensureStreams(ctx.nc, prefix, { ...DEFAULT_STREAM_SETTINGS, rulesPerNode: 10_000 });
  return { prefix, epoch };
}

async function start(ctx: Ctx, prefix: string, opts: CompilerOptions = {}): Promise<CompilerHandle> {
  const config = loadConfig({ KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: prefix });
  const h = await runCompiler(config, log, {
    nc: ctx.nc,
    ...opts,
    settings: { heartbeatMs: 200, snapshotEveryEvents: 0, snapshotEveryMs: 0, ...opts.settings },
  });
  ctx.handles.push(h);
  return h;
}

const withSeqs = (events: readonly ClusterEvent[], seqs: readonly number[]): ClusterEvent[] => events.map((e, i) => ({ ...e, seq: seqs[i]! }));
const bytesOf = (m: ReadonlyMap<string, RuleSet>): Record<string, string> => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, JSON.stringify(v)]));

/** Per node, versions strictly increase along the stream, no version is stored twice, no message repeats the previous content. */
async function assertHistorySane(ctx: Ctx, prefix: string): Promise<number> {
  let total = 0;
  for (const [node, list] of await readRulesHistory(ctx.jsm, prefix)) {
    total += list.length;
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1]!.ruleSet, list[i]!.ruleSet];
      assert.ok(b.version.seq > a.version.seq, `${node}: version ${b.version.seq} after ${a.version.seq}`);
      assert.is.not(b.contentHash, a.contentHash, `${node}: the same content published twice`);
    }
    assert.is(new Set(list.map((p) => p.msgId)).size, list.length, `${node}: a message id stored twice`);
  }
  return total;
}

Service('live following, a replay from scratch and one from a snapshot hold byte-identical rule sets for every node', async (ctx) => {
  const { prefix, epoch } = await setup(ctx);
  const events = history({ seed: 7, churn: 120, bigNode: 400 });
  const half = Math.floor(events.length / 2);

  // pointers from two set-only nodes on (three nodes here): the history below expands every one of them. One
  // event per evaluation, so a set-only change is never folded into a bigger one by how fast events arrive.
  const live = await start(ctx, prefix, { settings: { pointerMinNodes: 2, maxBatchEvents: 1 } });
  const seqs = await publishEvents(ctx.nc, prefix, events.slice(0, half));
  await live.caughtUp();
  const snapshotSeq = await live.snapshot();
  assert.is(snapshotSeq, seqs[seqs.length - 1]);
  seqs.push(...(await publishEvents(ctx.nc, prefix, events.slice(half))));
  await live.caughtUp();

  // the content is what the pure core computes from the same events
  const expected = expectedContents(epoch, withSeqs(events, seqs));
  const published = await lastPublished(ctx.jsm, prefix);
  for (const node of NODES) assert.is(contentOf(published.get(node)!), expected.get(node), `${node} content`);
  assert.equal(bytesOf(live.ruleSets()), bytesOf(published), 'what the live replica holds is what the stream holds');
  const sizeOfBig = JSON.stringify(published.get(NODES[0])).length;
  assert.ok(sizeOfBig > MAX_PAYLOAD, `node-a's rule set (${sizeOfBig} bytes) is over the max payload and still arrived`);
  assert.equal(published.get(NODES[2])!.pods, [], 'a node whose last pod left has an empty rule set');
  const before = await assertHistorySane(ctx, prefix);
  assert.ok((await pointersOnRulesStream(ctx.jsm, prefix)) > 0, 'set-only changes travelled as pointers');

  const scratch = await start(ctx, prefix, { ignoreSnapshots: true });
  const fromSnapshot = await start(ctx, prefix);
  await scratch.caughtUp();
  await fromSnapshot.caughtUp();
  assert.is(scratch.status().startedFromSeq, 0);
  assert.is(fromSnapshot.status().startedFromSeq, snapshotSeq);
  assert.equal(bytesOf(scratch.ruleSets()), bytesOf(published), 'from scratch');
  assert.equal(bytesOf(fromSnapshot.ruleSets()), bytesOf(published), 'from a snapshot');
  assert.is(scratch.status().published + fromSnapshot.status().published, 0, 'neither published anything');
  assert.is(await assertHistorySane(ctx, prefix), before);
});

Service('two replicas running at once leave one copy of each version and never go backwards', async (ctx) => {
  const { prefix, epoch } = await setup(ctx);
  const events = history({ seed: 11, churn: 150 });
  const a = await start(ctx, prefix, { settings: { pointerMinNodes: 2 } });
  const b = await start(ctx, prefix, { settings: { maxBatchEvents: 3, pointerMinNodes: 2 } });
  const seqs: number[] = [];
  for (let i = 0; i < events.length; i += 25) seqs.push(...(await publishEvents(ctx.nc, prefix, events.slice(i, i + 25))));
  await Promise.all([a.caughtUp(), b.caughtUp()]);

  const published = await lastPublished(ctx.jsm, prefix);
  const expected = expectedContents(epoch, withSeqs(events, seqs));
  for (const node of NODES) assert.is(contentOf(published.get(node)!), expected.get(node), `${node} content`);
  assert.equal(bytesOf(a.ruleSets()), bytesOf(published));
  assert.equal(bytesOf(b.ruleSets()), bytesOf(published));
  const total = await assertHistorySane(ctx, prefix);
  const { published: pa, adopted: aa } = a.status(), { published: pb, adopted: ab } = b.status();
  assert.is(pa + pb, total, 'every stored rule set was published by exactly one replica');
  assert.ok(aa + ab > 0, 'each replica adopted what the other published');
});

Service('status records: a heartbeat with the last consumed sequence, and rejected policies with object, field and reason', async (ctx) => {
  const { prefix } = await setup(ctx);
  const events = history({ seed: 3, churn: 10 });
  const h = await start(ctx, prefix);
  const seqs = await publishEvents(ctx.nc, prefix, events);
  await h.caughtUp();
  const kv = await ctx.nc.jetstream().views.kv(names(prefix).statusBucket);
  const last = seqs[seqs.length - 1]!;
  const status = (await kv.get(compilerStatusKey(h.instance)))?.json<CompilerStatus>();
  assert.ok(status && status.lastSeq === last && status.caughtUp && status.epoch === h.status().epoch, JSON.stringify(status));
  const rejections = (await kv.get(REJECTIONS_KEY))?.json<RejectionsRecord>();
  assert.equal(rejections?.rejections, [
    { object: 'NetworkPolicy ops/broken', field: 'spec.ingress[0].from[0].ipBlock.cidr', reason: rejections?.rejections[0]?.reason },
  ]);
  assert.match(rejections!.rejections[0]!.reason, /10\.0\.0\/8/);
});

Service('a recreated stream: the running compiler starts over on the new epoch, and its old snapshot is refused', async (ctx) => {
  const { prefix } = await setup(ctx);
  const first = await start(ctx, prefix);
  await publishEvents(ctx.nc, prefix, history({ seed: 5, churn: 5 }));
  await first.caughtUp();
  assert.ok((await first.snapshot()) > 0);
  await ctx.jsm.streams.delete(names(prefix).eventsStream);
  const { epoch } = await ensureStreams(ctx.nc, prefix, { ...DEFAULT_STREAM_SETTINGS, rulesPerNode: 10_000 });
  const events = history({ seed: 6, churn: 5 });
  const seqs = await publishEvents(ctx.nc, prefix, events);
  const expected = expectedContents(epoch, withSeqs(events, seqs));
  const second = await start(ctx, prefix);
  await second.caughtUp();
  assert.is(second.status().startedFromSeq, 0, 'the old epoch snapshot was not used');
  for (const h of [first, second]) {
    await waitFor('the replica to follow the new epoch', async () => (h.status().epoch === epoch && h.status().caughtUp ? (await h.caughtUp(), true) : false));
    // every node, node-c too: its pods all left, but the rules stream still names it, so it gets an empty rule set
    const held = h.ruleSets();
    assert.equal([...held.keys()].sort(), [...NODES].sort(), 'the nodes the replica holds');
    for (const node of NODES) {
      assert.is(contentOf(held.get(node)!), expected.get(node), node);
      assert.is(held.get(node)!.version.epoch, epoch, `${node}: a version of the new epoch`);
    }
  }
});

/** A compiler key pair written to the test directory: the signing settings of a compiler that signs with it and trusts it. */
function signing(ctx: Ctx): SigningSettings {
  const pair = generateSigningKeyPair();
  const file = join(ctx.dir, `compiler-${ctx.n}.pub`);
  writeFileSync(file, pair.publicPem);
  const trust = { mode: 'signed', keys: loadTrustedKeys([file]) } as const;
  return { signer: signingKeyFrom(createPrivateKey(pair.privatePem)), watchers: { mode: 'unsigned' }, compilers: trust };
}

/** The newest message on a node's rules subject, as an applier of that node trusting `keys` judges it now. */
async function judgeNewest(ctx: Ctx, prefix: string, node: string, keys: SigningSettings): Promise<string> {
  const n = names(prefix);
  const m = await ctx.jsm.streams.getMessage(n.rulesStream, { last_by_subj: n.rulesSubject(node) }).catch(() => undefined);
  if (!m) return 'none';
  const info = await ctx.jsm.streams.info(n.eventsStream);
  const events = { epoch: info.created, lastSeq: info.state.last_seq };
  if (isNodeMessagePayload(m.data)) {
    const check = checkNodeMessage(receivedRuleSet(m.header, m.data), keys.compilers, node);
    return check.kind === 'refuse' ? check.reason : (versionRefusal(check.value.version, events)?.reason ?? 'accept');
  }
  const check = checkRuleSet(receivedRuleSet(m.header, m.data), keys.compilers, node, events, undefined);
  return check.kind === 'refuse' ? check.reason : check.kind;
}

Service('an invalid newest rule set on a node\'s subject (forged seq 2^53-1, epoch "zzzz", unsigned) is published over, not deferred to', async (ctx) => {
  const { prefix } = await setup(ctx);
  const keys = signing(ctx);
  const first = await start(ctx, prefix, { settings: { signing: keys } });
  await publishEvents(ctx.nc, prefix, history({ seed: 4, churn: 5 }));
  await first.caughtUp();
  for (const node of NODES) assert.is(await judgeNewest(ctx, prefix, node, keys), 'accept', `${node}: the compiler signs what it publishes`);
  await first.stop();
  // forgeries by hand, each the newest on its subject; on main each froze its node for good ("behind")
  const n = names(prefix);
  const forge = async (node: string, rs: RuleSet, sign: boolean): Promise<void> => {
    await ctx.nc.jetstream().publish(n.rulesSubject(node), Buffer.from(JSON.stringify(rs)), { headers: ruleSetMsgHeaders(sign ? keys.signer : undefined, rs) });
  };
  const empty = (node: string, epoch: string, seq: number): RuleSet => makeRuleSet({ node, pods: [], rules: [], sets: [] }, { epoch, seq });
  const epoch = first.status().epoch;
  await forge(NODES[0], empty(NODES[0], epoch, Number.MAX_SAFE_INTEGER), true);
  await forge(NODES[1], empty(NODES[1], 'zzzz', 5), true);
  await forge(NODES[2], empty(NODES[2], epoch, 1_000_000), false);
  assert.equal(await Promise.all(NODES.map((node) => judgeNewest(ctx, prefix, node, keys))), ['future-seq', 'foreign-epoch', 'unsigned']);
  const second = await start(ctx, prefix, { settings: { signing: keys } });
  await second.caughtUp();
  for (const node of NODES) assert.is(await judgeNewest(ctx, prefix, node, keys), 'accept', `${node}: a valid version was published over the forgery`);
});

Service('a purged rules subject is published again at the next evaluation', async (ctx) => {
  const { prefix } = await setup(ctx);
  const keys = signing(ctx);
  const h = await start(ctx, prefix, { settings: { signing: keys } });
  const events = history({ seed: 8, churn: 6 });
  await publishEvents(ctx.nc, prefix, events);
  await h.caughtUp();
  const n = names(prefix);
  await ctx.jsm.streams.purge(n.rulesStream, { filter: n.rulesSubject(NODES[1]) });
  assert.is(await judgeNewest(ctx, prefix, NODES[1], keys), 'none');
  // an event that changes no node's rules (an empty namespace no policy selects): only the purge calls for a publish
  const quiet = { ...events[0]!, uid: 'ns-quiet', name: 'quiet', resourceVersion: '9999', object: { metadata: { name: 'quiet', uid: 'ns-quiet', labels: { team: 'none' } } } } as ClusterEvent;
  const before = h.status().published;
  await publishEvents(ctx.nc, prefix, [quiet]);
  await h.caughtUp();
  assert.is(h.status().published, before + 1, 'one publish: the purged node');
  assert.is(await judgeNewest(ctx, prefix, NODES[1], keys), 'accept', 'the purged node has its rules again');
});

Service('a subject purged and republished under the same version and expected sequence is not dropped as a duplicate', async (ctx) => {
  const { prefix } = await setup(ctx);
  const keys = signing(ctx);
  await publishEvents(ctx.nc, prefix, history({ seed: 9, churn: 4 }));
  // a backlog: every node's first publish is at the last seq, expecting an empty subject (subject seq 0)
  const first = await start(ctx, prefix, { settings: { signing: keys } });
  await first.caughtUp();
  await first.stop();
  const n = names(prefix);
  await ctx.jsm.streams.purge(n.rulesStream, { filter: n.rulesSubject(NODES[0]) });
  // the same backlog again, within the duplicate window: same version, same expected subject seq 0
  const second = await start(ctx, prefix, { settings: { signing: keys } });
  await second.caughtUp();
  assert.is(await judgeNewest(ctx, prefix, NODES[0], keys), 'accept', 'the purged node has its rules again');
});

Service.run();
