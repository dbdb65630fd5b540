import { createPrivateKey, createPublicKey } from 'node:crypto';
import * as assert from 'uvu/assert';
import {
  WATCHED_KINDS,
  EVENT_SCHEMA, compilerStatusKey, createLogger, generateSigningKeyPair, loadConfig, signingKeyFrom, type ClusterEvent, type CompilerStatus,
  type SigningKey, type SigningSettings, type TrustedKeys,
} from '@knp/shared';
import { DEFAULT_STREAM_SETTINGS, ensureStreams, publishLarge } from '@knp/shared/nats';
import { runCompiler, type CompilerHandle } from '@knp/compiler/service';
import { EventSigner, eventSubjectOf, messageIdOf } from '@knp/watcher';
import { headers as natsHeaders, connect, JSONCodec, type JetStreamManager, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '@knp/sim';
import { foldLiveUids, suite } from '@knp/testing';
import { NODES, contentOf, expectedContents, history, publishEvents } from '@knp/testing/history';

/*
 * Signed events on a real nats-server: the compiler folds only events signed by trusted watcher keys, newer
 * than the last one folded from that key; everything else is refused, counted, reported with its sequence,
 * and later valid changes still compile. A forged sync marker that would delete every policy deletes nothing.
 */

type Ctx = { nats: NatsServer; nc: NatsConnection; jsm: JetStreamManager; handles: CompilerHandle[]; n: number };
const Trust = suite<Ctx>('event signatures on JetStream');
const log = createLogger('event-trust-test', process.env.KNP_TEST_LOG ?? 'silent');

Trust.before(async (ctx) => {
  ctx.nats = await startNatsServer();
  ctx.nc = await connect({ servers: ctx.nats.url });
  ctx.jsm = await ctx.nc.jetstreamManager();
  ctx.handles = [];
  ctx.n = 0;
});
Trust.after.each(async (ctx) => {
  for (const h of ctx.handles.splice(0)) await h.stop();
});
Trust.after(async (ctx) => {
  await ctx.nc?.close();
  await ctx.nats?.stop();
});

const keyPair = (): { key: SigningKey; trusted: TrustedKeys } => {
  const p = generateSigningKeyPair();
  return { key: signingKeyFrom(createPrivateKey(p.privatePem)), trusted: new Map([[p.keyId, createPublicKey(p.publicPem)]]) };
};
const watcherKey = keyPair(), forgerKey = keyPair(), compilerKey = keyPair();
const signing: SigningSettings = { signer: compilerKey.key, watchers: { mode: 'signed', keys: watcherKey.trusted }, compilers: { mode: 'signed', keys: compilerKey.trusted } };

async function setup(ctx: Ctx): Promise<{ prefix: string; epoch: string }> {
  ctx.n += 1;
  const prefix = `t${ctx.n}`;
  const { epoch } = await ensureStreams(ctx.nc, prefix, { ...DEFAULT_STREAM_SETTINGS, rulesPerNode: 10_000 });
  return { prefix, epoch };
}

async function start(ctx: Ctx, prefix: string, s: SigningSettings = signing): Promise<CompilerHandle> {
  const config = loadConfig({ KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: prefix });
  const h = await runCompiler(config, log, { nc: ctx.nc, settings: { heartbeatMs: 200, snapshotEveryEvents: 0, snapshotEveryMs: 0, signing: s } });
  ctx.handles.push(h);
  return h;
}

/** One stored message as published: subject, payload and headers (what an attacker who captured it holds). */
type Sent = { readonly subject: string; readonly data: Uint8Array; readonly headers: ReadonlyMap<string, string>; readonly seq: number };

/** Publishes events the way the watcher does, signed by `signer` (or unsigned with none); `msgSuffix` lets a forger dodge dedup. */
async function publish(nc: NatsConnection, prefix: string, events: readonly ClusterEvent[], signer?: EventSigner, msgSuffix = ''): Promise<Sent[]> {
  const sent: Sent[] = [];
  for (const e of events) {
    const data = Buffer.from(JSON.stringify(e));
    const signed = signer ? signer.headers(signer.next(), data) : new Map<string, string>();
    sent.push(await publishRaw(nc, eventSubjectOf(prefix, e), data, signed, `${messageIdOf(e)}${msgSuffix}`));
  }
  return sent;
}

async function publishRaw(nc: NatsConnection, subject: string, data: Uint8Array, signed: ReadonlyMap<string, string>, msgID: string): Promise<Sent> {
  const h = natsHeaders();
  for (const [k, v] of signed) h.set(k, v);
  const ack = await publishLarge(nc.jetstream(), subject, data, { maxPayload: nc.info!.max_payload, msgID, ...(signed.size > 0 ? { headers: h } : {}) });
  return { subject, data, headers: signed, seq: ack.seq };
}

/** Sync markers naming the live objects of every kind (what the watcher publishes after its lists). */
function syncs(events: readonly ClusterEvent[], id: string): ClusterEvent[] {
  const live = foldLiveUids(events);
  return WATCHED_KINDS.map((kind): ClusterEvent => ({ schema: EVENT_SCHEMA, op: 'sync', kind, resourceVersion: '1', syncId: `${id}-${kind.toLowerCase()}`, chunk: 0, chunks: 1, uids: live[kind] }));
}
const forgedSync = (id: string): ClusterEvent => ({ schema: EVENT_SCHEMA, op: 'sync', kind: 'NetworkPolicy', resourceVersion: '1', syncId: id, chunk: 0, chunks: 1, uids: [] });

const contents = (h: CompilerHandle): Map<string, string> => new Map([...h.ruleSets()].map(([node, rs]) => [node, contentOf(rs)]));
const sameContents = (h: CompilerHandle, epoch: string, events: readonly ClusterEvent[], what: string): void => {
  const expected = expectedContents(epoch, events);
  for (const node of NODES) {
    const got = contents(h).get(node);
    // a node whose pods all left before this replica looked was never known to it: no rule set to hold
    if (got === undefined && (JSON.parse(expected.get(node)!) as { pods: unknown[] }).pods.length === 0) continue;
    assert.is(got, expected.get(node), `${what}: ${node}`);
  }
};
const statusRecord = async (ctx: Ctx, prefix: string, h: CompilerHandle): Promise<CompilerStatus> => {
  const kv = await ctx.nc.jetstream().views.kv(`${prefix.toUpperCase()}_status`);
  const e = await kv.get(compilerStatusKey(h.instance));
  return JSONCodec<CompilerStatus>().decode(e!.value);
};

Trust('forged, replayed and older-instance events are refused, counted with their sequences, and later valid changes still compile', async (ctx) => {
  const { prefix, epoch } = await setup(ctx);
  const watcher = new EventSigner(watcherKey.key, () => 2_000_000);
  const events = history({ seed: 3, churn: 40 });
  const withDeleted: ClusterEvent[] = [...events];
  const extra = { schema: EVENT_SCHEMA, kind: 'NetworkPolicy', uid: 'np-shop-open', namespace: 'shop', name: 'open', object: { metadata: { name: 'open', namespace: 'shop', uid: 'np-shop-open' }, spec: { podSelector: {}, ingress: [{}] } } } as const;
  withDeleted.push({ ...extra, op: 'added', resourceVersion: '900' }, { ...extra, op: 'deleted', resourceVersion: '901' });
  const sent = await publish(ctx.nc, prefix, [...withDeleted, ...syncs(withDeleted, 'a')], watcher);
  const h = await start(ctx, prefix);
  await h.caughtUp();
  const folded = [...withDeleted, ...syncs(withDeleted, 'a')];
  sameContents(h, epoch, folded, 'signed history');
  assert.ok(h.ruleSets().size > 0, 'the signed history was published');

  // the forgeries: each alone would delete every policy or bring back one that allowed everything
  const addedOpen = sent[withDeleted.length - 2]!;
  const older = new EventSigner(watcherKey.key, () => 1_000_000); // a captured event of an older instance
  const forged = [
    ...(await publish(ctx.nc, prefix, [forgedSync('f1')], undefined, '#1')), // unsigned
    ...(await publish(ctx.nc, prefix, [forgedSync('f2')], new EventSigner(forgerKey.key), '#2')), // untrusted key
    await publishRaw(ctx.nc, addedOpen.subject, addedOpen.data, new Map([...addedOpen.headers].map(([k, v]) => [k, k === 'Knp-Signature' ? Buffer.alloc(64, 1).toString('base64') : v])), 'bad#3'),
    await publishRaw(ctx.nc, addedOpen.subject, addedOpen.data, addedOpen.headers, 'replay#4'), // a replayed old event, byte for byte
    ...(await publish(ctx.nc, prefix, [forgedSync('f5')], older, '#5')),
  ];
  // then a valid change: the policy comes back, signed by the watcher
  const valid: ClusterEvent = { ...extra, op: 'added', resourceVersion: '950' };
  await publish(ctx.nc, prefix, [valid], watcher);
  await h.caughtUp();
  sameContents(h, epoch, [...folded, valid], 'after the forgeries and one valid change');
  const input = h.status().input!;
  assert.equal([input.refused, input.refusedByReason], [5, { unsigned: 1, 'untrusted-key': 1, 'bad-signature': 1, replayed: 2 }]);
  assert.equal(input.recentRefused.map((r) => r.seq), forged.map((f) => f.seq));
  assert.equal(h.status().signing, { events: 'signed', snapshots: 'signed', signsSnapshots: true, keyId: compilerKey.key.keyId, waitingForSync: [] });
  assert.is(h.status().lastSeq, (await ctx.jsm.streams.info(`${prefix.toUpperCase()}_EVENTS`)).state.last_seq, 'every refused message was consumed: nothing waits to be redelivered');

  // the guard survives a signed snapshot: a new replica from it still refuses the replay
  await h.snapshot();
  await publishRaw(ctx.nc, addedOpen.subject, addedOpen.data, addedOpen.headers, 'replay#6');
  const h2 = await start(ctx, prefix);
  await h2.caughtUp();
  assert.ok(h2.status().startedFromSeq > 0, 'started from the signed snapshot');
  assert.equal([h2.status().input!.refused, h2.status().input!.refusedByReason], [1, { replayed: 1 }]);
  sameContents(h2, epoch, [...folded, valid], 'a replica from the snapshot');
  const record = await statusRecord(ctx, prefix, h2);
  assert.is(record.input?.recentRefused[0]?.seq, (await ctx.jsm.streams.info(`${prefix.toUpperCase()}_EVENTS`)).state.last_seq, 'the status record names the sequence');

  // a replica trusting other compiler keys ignores that snapshot and replays the stream, to the same rules
  const h3 = await start(ctx, prefix, { ...signing, signer: undefined, compilers: { mode: 'signed', keys: forgerKey.trusted } });
  await h3.caughtUp();
  assert.is(h3.status().startedFromSeq, 0);
  sameContents(h3, epoch, [...folded, valid], 'a replica that ignored the snapshot');
});

Trust('signing turned on for a stream of unsigned history: nothing is published until a signed full sync, then the same rules', async (ctx) => {
  const { prefix, epoch } = await setup(ctx);
  const events = history({ seed: 5, churn: 30 });
  await publishEvents(ctx.nc, prefix, [...events, ...syncs(events, 'u')]);
  // events unsigned, snapshots already signed by the compiler key: a replica requiring signed events must
  // still not start from it, as it was folded from events nobody signed
  const unsigned = await start(ctx, prefix, { signer: compilerKey.key, watchers: { mode: 'unsigned' }, compilers: { mode: 'unsigned' } });
  await unsigned.caughtUp();
  await unsigned.snapshot();
  const before = contents(unsigned);
  assert.ok(before.size > 0);
  assert.equal(unsigned.status().signing?.events, 'unsigned');

  const h = await start(ctx, prefix);
  await h.caughtUp();
  assert.is(h.status().startedFromSeq, 0, 'the snapshot folded from unsigned events was ignored');
  assert.equal(h.status().signing?.waitingForSync, WATCHED_KINDS);
  assert.is(h.ruleSets().size, 0, 'nothing published from unsigned history');
  assert.is(h.status().caughtUp, false, 'held by the gate: `knp wait --synced` does not count this replica');
  assert.is(h.status().input!.refusedByReason.unsigned, events.length + WATCHED_KINDS.length);

  // the watcher restarts with a key: what the stream holds unsigned it publishes again, signed, then syncs
  const watcher = new EventSigner(watcherKey.key, () => 3_000_000);
  const relisted = [...foldLiveUidsEvents(events)];
  await publish(ctx.nc, prefix, [...relisted, ...syncs(relisted, 's')], watcher, '@signed');
  await h.caughtUp();
  assert.equal(h.status().signing?.waitingForSync, []);
  assert.is(h.status().caughtUp, true);
  assert.equal(contents(h), before, 'the signed republish gives the rules the unsigned history gave');
  sameContents(h, epoch, [...events, ...syncs(events, 'u')], 'signed');
});

Trust('retiring a watcher key: after the new key republished everything, a replica trusting only the new key has the same rules', async (ctx) => {
  const { prefix } = await setup(ctx);
  const events = history({ seed: 9, churn: 30 });
  await publish(ctx.nc, prefix, [...events, ...syncs(events, 'old')], new EventSigner(watcherKey.key, () => 4_000_000));
  const newKey = keyPair();
  const both: SigningSettings = { ...signing, watchers: { mode: 'signed', keys: new Map([...watcherKey.trusted, ...newKey.trusted]) } };
  const h = await start(ctx, prefix, both);
  await h.caughtUp();
  const before = contents(h);
  assert.ok(before.size > 0);
  // the watcher restarts with the new key: every live object again, then syncs (the watcher test checks it does)
  const relisted = foldLiveUidsEvents(events);
  await publish(ctx.nc, prefix, [...relisted, ...syncs(relisted, 'new')], new EventSigner(newKey.key, () => 5_000_000), '@new');
  await h.caughtUp();
  assert.equal(contents(h), before, 'the republish changes no rule');
  await h.snapshot();

  const onlyNew: SigningSettings = { ...signing, watchers: { mode: 'signed', keys: newKey.trusted } };
  const fromSnapshot = await start(ctx, prefix, onlyNew);
  await fromSnapshot.caughtUp();
  assert.ok(fromSnapshot.status().startedFromSeq > 0);
  assert.equal([contents(fromSnapshot), fromSnapshot.status().input!.refused], [before, 0], 'from the snapshot: nothing of the old key read');
  const fromStart = await start(ctx, prefix, { ...onlyNew, compilers: { mode: 'signed', keys: forgerKey.trusted } }); // no usable snapshot
  await fromStart.caughtUp();
  assert.is(fromStart.status().startedFromSeq, 0);
  assert.equal(fromStart.status().input!.refusedByReason, { 'untrusted-key': events.length + WATCHED_KINDS.length }, 'the old key\'s history is refused');
  assert.equal(contents(fromStart), before, 'and the new key\'s republish carries the whole state');
});

/** The last event of every live object (what a relisting watcher publishes again). */
function foldLiveUidsEvents(events: readonly ClusterEvent[]): ClusterEvent[] {
  const last = new Map<string, ClusterEvent>();
  for (const e of events) if (e.op !== 'sync') (e.op === 'deleted' ? last.delete(e.uid) : last.set(e.uid, { ...e, op: 'added' }));
  return [...last.values()];
}

Trust.run();
