import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import {
  WATCHED_KINDS, WATCHER_STATUS_KEY, checkEventSignature, createLogger, generateSigningKeyPair, isUpToDate, loadConfig, names, signingKeyFrom, type ClusterEvent, type ObjectEvent,
  type ObjectKind, type WatchedKind, type SigningKey, type Trust, type WatcherStatus,
} from '@knp/shared';
import { runWatcher, type WatcherHandle, type WatcherOptions } from '@knp/watcher';
import { DEFAULT_STREAM_SETTINGS, ensureStreams } from '@knp/shared/nats';
import { connect, type JetStreamManager, type KV, type NatsConnection } from 'nats';
import { startStandin, type Change, type K8sObject, type Standin, type StandinKind } from '@knp/sim';
import { startNatsServer, type NatsServer } from '@knp/sim';
import { foldLiveUids, readEvents, type StoredEvent, suite } from '@knp/testing';
import { waitFor } from '@knp/testing';

type Ctx = { nats: NatsServer; nc: NatsConnection; jsm: JetStreamManager; dir: string; n: number };
const Watcher = suite<Ctx>('watcher against the API stand-in and JetStream');
const log = createLogger('watcher-test', process.env.KNP_TEST_LOG ?? 'silent');
const KINDS: readonly StandinKind[] = ['Namespace', 'Pod', 'NetworkPolicy'];

Watcher.before(async (ctx) => {
  ctx.nats = await startNatsServer();
  ctx.nc = await connect({ servers: ctx.nats.url });
  ctx.jsm = await ctx.nc.jetstreamManager();
  ctx.dir = mkdtempSync(join(tmpdir(), 'knp-watcher-test-'));
  ctx.n = 0;
});
Watcher.after(async (ctx) => {
  await ctx.nc?.close();
  await ctx.nats?.stop();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

// builders
const ns = (name: string, labels: Record<string, string> = {}): K8sObject => ({ metadata: { name, labels } });
const pod = (namespace: string, name: string, labels: Record<string, string> = {}, ip = '10.0.0.1'): K8sObject => ({
  metadata: { namespace, name, labels },
  spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null }] },
});
const policy = (namespace: string, name: string, app: string): K8sObject => ({
  metadata: { namespace, name },
  spec: { podSelector: { matchLabels: { app } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
});
/** A status heartbeat: changes nothing the compiler reads. */
const heartbeat = (o: K8sObject): void => {
  o.status.conditions = [{ type: 'Ready', status: 'True', lastProbeTime: new Date(Date.now() + Math.random()).toISOString() }];
};

type Scenario = { standin: Standin; prefix: string; stream: string; kv: KV; kubeconfig: string; watchers: WatcherHandle[] };

async function scenario(ctx: Ctx): Promise<Scenario> {
  ctx.n += 1;
  const standin = await startStandin();
  const kubeconfig = join(ctx.dir, `kubeconfig-${ctx.n}`);
  standin.writeKubeconfig(kubeconfig);
  const prefix = `t${ctx.n}`;
  return { standin, prefix, stream: names(prefix).eventsStream, kv: undefined as unknown as KV, kubeconfig, watchers: [] };
}

async function startWatcher(ctx: Ctx, s: Scenario, signer?: SigningKey, extra: WatcherOptions = {}): Promise<WatcherHandle> {
  const config = loadConfig({ KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: s.prefix });
  await ensureStreams(ctx.nc, s.prefix, DEFAULT_STREAM_SETTINGS); // what `knp init` does: the watcher waits for it
  const w = await runWatcher(config, log, { nc: ctx.nc, heartbeatMs: 100, restartMinMs: 20, restartMaxMs: 200, kubeconfigPath: s.kubeconfig, ...(signer ? { signer } : {}), ...extra });
  s.watchers.push(w);
  s.kv = await ctx.nc.jetstream().views.kv(names(s.prefix).statusBucket);
  return w;
}

async function finish(s: Scenario): Promise<void> {
  for (const w of s.watchers) await w.stop();
  await s.standin.close();
}

/** Waits until the watcher recorded that it has seen every change made so far and published all of it. */
async function caughtUp(s: Scenario, w: WatcherHandle): Promise<WatcherStatus> {
  const last = (kind: StandinKind): number => Math.max(0, ...s.standin.changes.filter((c) => c.kind === kind).map((c) => c.rv));
  return waitFor(`watcher ${w.instance} caught up`, async () => {
    const status = (await s.kv.get(WATCHER_STATUS_KEY))?.json<WatcherStatus>();
    if (!isUpToDate(status, w.instance)) return undefined;
    return KINDS.every((k) => Number(status!.kinds[k as WatchedKind].resourceVersion) >= last(k)) ? status : undefined;
  });
}

const objectEvents = (stored: readonly StoredEvent[]): ObjectEvent[] =>
  stored.map((m) => m.event).filter((e): e is ObjectEvent => e.op !== 'sync');
const line = (e: { op: string; uid: string; resourceVersion: string }): string => `${e.op} ${e.uid}@${e.resourceVersion}`;
const opOf = (c: Change): ObjectEvent['op'] => (c.type === 'ADDED' ? 'added' : c.type === 'MODIFIED' ? 'modified' : 'deleted');
const liveUids = (s: Scenario): Record<ObjectKind, string[]> => ({
  Pod: s.standin.list('Pod').map((o) => o.metadata.uid!).sort(),
  Namespace: s.standin.list('Namespace').map((o) => o.metadata.uid!).sort(),
  NetworkPolicy: s.standin.list('NetworkPolicy').map((o) => o.metadata.uid!).sort(),
  Node: [],
  ClusterNetworkPolicy: [],
});

Watcher('every create, update and delete appears once in the stream, in API order per kind', async (ctx) => {
  const s = await scenario(ctx);
  try {
    const { standin } = s;
    standin.create('Namespace', ns('prod', { team: 'a' }));
    const a = standin.create('Pod', pod('prod', 'a', { app: 'web' }, '10.0.0.1'));
    standin.create('Pod', pod('prod', 'b', { app: 'db' }, '10.0.0.2'));
    const gone = standin.create('Pod', pod('prod', 'short-lived'));
    standin.delete('Pod', 'prod', gone.metadata.name);
    standin.create('NetworkPolicy', policy('prod', 'p', 'web'));
    const startRv = Number(standin.resourceVersion());
    const w = await startWatcher(ctx, s);
    await caughtUp(s, w);

    standin.create('Pod', pod('prod', 'c', { app: 'web' }, '10.0.0.3'));
    standin.update('Pod', { namespace: 'prod', name: 'a' }, (o) => { o.metadata.labels = { app: 'web', tier: 'front' }; });
    const irrelevant = standin.update('Pod', { namespace: 'prod', name: 'a' }, heartbeat);
    standin.update('NetworkPolicy', { namespace: 'prod', name: 'p' }, (o) => { o.spec.podSelector = { matchLabels: { app: 'db' } }; });
    standin.delete('Pod', 'prod', 'b');
    standin.create('Namespace', ns('dev'));
    standin.update('Namespace', { name: 'prod' }, (o) => { o.metadata.labels = { team: 'b' }; });
    standin.delete('NetworkPolicy', 'prod', 'p');
    await caughtUp(s, w);

    const stored = await readEvents(ctx.jsm, s.stream);
    const events = objectEvents(stored);
    for (const kind of KINDS) {
      const atStart = standin.changes.filter((c) => c.kind === kind && c.rv <= startRv);
      const liveAtStart = new Map<string, Change>();
      for (const c of atStart) c.type === 'DELETED' ? liveAtStart.delete(c.object.metadata.uid!) : liveAtStart.set(c.object.metadata.uid!, c);
      const expectedList = [...liveAtStart.values()].map((c) => line({ op: 'added', uid: c.object.metadata.uid!, resourceVersion: String(c.rv) })).sort();
      const expectedWatch = standin.changes
        .filter((c) => c.kind === kind && c.rv > startRv && c.rv !== Number(irrelevant.metadata.resourceVersion))
        .map((c) => line({ op: opOf(c), uid: c.object.metadata.uid!, resourceVersion: String(c.rv) }));
      const actual = events.filter((e) => e.kind === kind).map(line);
      // the initial list has no order across objects; after it, the stream follows the API exactly
      assert.equal(actual.slice(0, expectedList.length).sort(), expectedList, `${kind}: initial list`);
      assert.equal(actual.slice(expectedList.length), expectedWatch, `${kind}: changes in API order`);
    }
    const ids = stored.map((m) => m.msgId);
    assert.is(new Set(ids).size, ids.length, 'every message id once');
    assert.ok(!events.some((e) => e.uid === gone.metadata.uid), 'an object deleted before the list never appears');
    const modifiedA = events.find((e) => e.uid === a.metadata.uid && e.op === 'modified')!;
    assert.equal((modifiedA.object as K8sObject).metadata.labels, { app: 'web', tier: 'front' });
    assert.is((modifiedA.object as K8sObject).status.conditions, undefined, 'trimmed: no conditions');
    const syncs = stored.map((m) => m.event).filter((e) => e.op === 'sync');
    assert.equal(syncs.map((e) => e.kind).sort(), [...WATCHED_KINDS].sort(), 'one sync marker per kind after its list');
    assert.equal(foldLiveUids(stored.map((m) => m.event)), liveUids(s));
  } finally {
    await finish(s);
  }
});

Watcher('a watcher restart publishes no duplicates, and publishes what changed while it was down', async (ctx) => {
  const s = await scenario(ctx);
  try {
    const { standin } = s;
    standin.create('Namespace', ns('prod'));
    for (const name of ['p1', 'p2', 'p3']) standin.create('Pod', pod('prod', name, { app: name }));
    standin.create('NetworkPolicy', policy('prod', 'deny', 'p1'));
    const first = await startWatcher(ctx, s);
    await caughtUp(s, first);
    await first.stop();
    const before = (await ctx.jsm.streams.info(s.stream)).state.last_seq;

    const second = await startWatcher(ctx, s);
    const status = await caughtUp(s, second);
    assert.is((await ctx.jsm.streams.info(s.stream)).state.last_seq, before, 'nothing stored by a restart with no changes');
    assert.is(status.published, 0);
    assert.is(status.duplicates, 0, 'nothing even re-sent: the restart read the stream back, not only the dedup window');
    await second.stop();

    standin.update('Pod', { namespace: 'prod', name: 'p2' }, (o) => { o.metadata.labels = { app: 'p2', v: '2' }; });
    standin.update('Pod', { namespace: 'prod', name: 'p3' }, heartbeat);
    const p4 = standin.create('Pod', pod('prod', 'p4'));
    const third = await startWatcher(ctx, s);
    await caughtUp(s, third);
    const after = (await readEvents(ctx.jsm, s.stream)).filter((m) => m.seq > before).map((m) => m.event);
    const objects = after.filter((e): e is ObjectEvent => e.op !== 'sync').map((e) => `${e.op} ${e.name}`);
    assert.equal([...objects].sort(), ['added p4', 'modified p2'], 'only the two relevant changes');
    assert.ok(after.some((e) => e.op === 'sync' && e.kind === 'Pod' && e.uids.includes(p4.metadata.uid!)), 'a new pod sync names p4');
  } finally {
    await finish(s);
  }
});

Watcher('signing turned on, or a new key: every live object is published again, signed, then sync markers; a signed restart publishes nothing', async (ctx) => {
  const s = await scenario(ctx);
  const newKey = (): { key: SigningKey; trust: Trust } => {
    const p = generateSigningKeyPair();
    return { key: signingKeyFrom(createPrivateKey(p.privatePem)), trust: { mode: 'signed', keys: new Map([[p.keyId, createPublicKey(p.publicPem)]]) } };
  };
  /** The stored messages after `seq`, each with what checking its signature against `trust` gives. */
  const storedAfter = async (seq: number, trust: Trust) => {
    const out: Array<{ event: ClusterEvent; origin?: { start: number; counter: number }; refused?: string }> = [];
    const { state } = await ctx.jsm.streams.info(s.stream);
    for (let q = seq + 1; q <= state.last_seq; q++) {
      const m = await ctx.jsm.streams.getMessage(s.stream, { seq: q });
      const checked = checkEventSignature(trust, m.header, m.data);
      out.push({ event: JSON.parse(Buffer.from(m.data).toString('utf8')) as ClusterEvent, ...('refusal' in checked ? { refused: checked.refusal.reason } : { origin: checked.origin! }) });
    }
    return out;
  };
  try {
    const { standin } = s;
    standin.create('Namespace', ns('prod'));
    for (const name of ['p1', 'p2']) standin.create('Pod', pod('prod', name, { app: name }));
    standin.create('NetworkPolicy', policy('prod', 'deny', 'p1'));
    const unsigned = await startWatcher(ctx, s);
    await caughtUp(s, unsigned);
    await unsigned.stop();
    const before = (await ctx.jsm.streams.info(s.stream)).state.last_seq;

    const first = newKey();
    const signed = await startWatcher(ctx, s, first.key);
    assert.equal((await caughtUp(s, signed)).signing?.keyId, first.key.keyId);
    await signed.stop();
    const republished = await storedAfter(before, first.trust);
    assert.equal(republished.filter((m) => m.refused), [], 'every message signed and verifying');
    assert.equal(republished.filter((m) => m.event.op !== 'sync').map((m) => (m.event as ObjectEvent).name).sort(), ['deny', 'p1', 'p2', 'prod']);
    assert.equal(republished.filter((m) => m.event.op === 'sync').map((m) => m.event.kind).sort(), [...WATCHED_KINDS].sort());
    const counters = republished.map((m) => m.origin!.counter);
    assert.equal(counters, counters.map((_, i) => i + 1), 'one instance, counting up in stream order');

    const afterSigned = (await ctx.jsm.streams.info(s.stream)).state.last_seq;
    const again = await startWatcher(ctx, s, first.key);
    assert.is((await caughtUp(s, again)).published, 0, 'a signed restart: everything is already published under this key');
    await again.stop();
    assert.is((await ctx.jsm.streams.info(s.stream)).state.last_seq, afterSigned);

    const second = newKey();
    const rotated = await startWatcher(ctx, s, second.key);
    await caughtUp(s, rotated);
    const underNewKey = await storedAfter(afterSigned, second.trust);
    assert.equal(underNewKey.filter((m) => m.refused), []);
    assert.equal(underNewKey.filter((m) => m.event.op !== 'sync').length, 4, 'a new key publishes every live object again');
    assert.ok(underNewKey[0]!.origin!.start > republished[0]!.origin!.start, 'a later instance');
  } finally {
    await finish(s);
  }
});

Watcher('an object deleted while the watcher was down is deleted downstream', async (ctx) => {
  const s = await scenario(ctx);
  try {
    const { standin } = s;
    standin.create('Namespace', ns('prod'));
    const doomed = standin.create('Pod', pod('prod', 'doomed'));
    standin.create('Pod', pod('prod', 'stays'));
    const doomedNs = standin.create('Namespace', ns('old'));
    const first = await startWatcher(ctx, s);
    await caughtUp(s, first);
    await first.stop();
    const before = (await ctx.jsm.streams.info(s.stream)).state.last_seq;

    standin.delete('Pod', 'prod', 'doomed');
    standin.delete('Namespace', undefined, 'old');
    const second = await startWatcher(ctx, s);
    await caughtUp(s, second);
    const stored = await readEvents(ctx.jsm, s.stream);
    const after = stored.filter((m) => m.seq > before).map((m) => m.event);
    const podSync = after.find((e) => e.op === 'sync' && e.kind === 'Pod');
    assert.ok(podSync && podSync.op === 'sync' && !podSync.uids.includes(doomed.metadata.uid!), 'the pod sync marker no longer names it');
    assert.ok(after.some((e) => e.op === 'deleted' && e.uid === doomed.metadata.uid), 'and its subject records the deletion');
    assert.equal(foldLiveUids(stored.map((m) => m.event)), liveUids(s));
    // a reader that only trusts sync markers (the deletion aged out of a bounded stream) reaches the same state
    const syncOnly = stored.map((m) => m.event).filter((e: ClusterEvent) => e.op !== 'deleted');
    assert.equal(foldLiveUids(syncOnly), liveUids(s));
    assert.not.ok(foldLiveUids(syncOnly).Namespace.includes(doomedNs.metadata.uid!));
  } finally {
    await finish(s);
  }
});

Watcher('a 410 Gone relist loses nothing', async (ctx) => {
  const s = await scenario(ctx);
  try {
    const { standin } = s;
    standin.create('Namespace', ns('prod'));
    for (const name of ['x', 'y', 'z']) standin.create('Pod', pod('prod', name));
    const w = await startWatcher(ctx, s);
    await caughtUp(s, w);
    const before = (await ctx.jsm.streams.info(s.stream)).state.last_seq;
    const listsBefore = standin.stats.lists;

    standin.suspendWatches();
    const created = standin.create('Pod', pod('prod', 'new'));
    const deleted = standin.delete('Pod', 'prod', 'y');
    const modified = standin.update('Pod', { namespace: 'prod', name: 'z' }, (o) => { o.status.podIP = '10.9.9.9'; o.status.podIPs = [{ ip: '10.9.9.9' }]; });
    standin.update('Pod', { namespace: 'prod', name: 'x' }, heartbeat);
    standin.expireHistory();
    standin.resumeWatches();
    await caughtUp(s, w);
    assert.ok(standin.stats.gone > 0, 'the watch was answered 410 Gone');
    assert.ok(standin.stats.lists > listsBefore, 'and the watcher relisted');

    const stored = await readEvents(ctx.jsm, s.stream);
    const after = objectEvents(stored.filter((m) => m.seq > before)).map((e) => `${e.op} ${e.uid}`).sort();
    assert.equal(after, [`added ${created.metadata.uid}`, `deleted ${deleted.metadata.uid}`, `modified ${modified.metadata.uid}`].sort());
    assert.equal(foldLiveUids(stored.map((m) => m.event)), liveUids(s));
  } finally {
    await finish(s);
  }
});

Watcher('a queue over its bound stops the informers, which list again (in pages) once half is published: nothing lost', async (ctx) => {
  const s = await scenario(ctx);
  try {
    const { standin } = s;
    standin.create('Namespace', ns('prod'));
    for (let i = 0; i < 60; i += 1) standin.create('Pod', pod('prod', `p${i}`, { v: '0' }, `10.0.1.${i}`));
    const w = await startWatcher(ctx, s, undefined, { maxQueue: 10, listPageSize: 7 });
    for (let i = 0; i < 10; i += 1) standin.update('Pod', { namespace: 'prod', name: `p${i}` }, (o) => void (o.metadata.labels = { v: '1' }));
    for (let i = 50; i < 55; i += 1) standin.delete('Pod', 'prod', `p${i}`);
    await caughtUp(s, w);
    // 60 pods in pages of 7 are 9 list requests; the pause and resume listed every kind again
    assert.ok(standin.stats.lists > 9 + 2, `${standin.stats.lists} list requests: the informers were never stopped and restarted`);
    const events = await readEvents(ctx.jsm, s.stream);
    assert.equal(foldLiveUids(events.map((m) => m.event)), liveUids(s));
    const lastLabels = new Map<string, unknown>();
    for (const e of objectEvents(events)) lastLabels.set(e.uid, (e.object as { metadata?: { labels?: unknown } } | undefined)?.metadata?.labels);
    for (const o of standin.list('Pod')) assert.equal(lastLabels.get(o.metadata.uid!), o.metadata.labels, o.metadata.name);
  } finally {
    await finish(s);
  }
});

Watcher('the watcher survives API errors (its own restart loop) and keeps publishing', async (ctx) => {
  const s = await scenario(ctx);
  try {
    const { standin } = s;
    standin.create('Namespace', ns('prod'));
    const w = await startWatcher(ctx, s);
    await caughtUp(s, w);
    standin.failNext(6); // the re-watches after the close get HTTP 500: the client's informer stops for good
    standin.closeWatches();
    const p = standin.create('Pod', pod('prod', 'after-errors'));
    await caughtUp(s, w);
    const events = objectEvents(await readEvents(ctx.jsm, s.stream));
    assert.equal(events.filter((e) => e.uid === p.metadata.uid).map((e) => e.op), ['added']);
  } finally {
    await finish(s);
  }
});

Watcher('bookmarks move the recorded resourceVersion of a kind that did not change', async (ctx) => {
  const s = await scenario(ctx);
  try {
    const { standin } = s;
    standin.create('Pod', pod('prod', 'a'));
    const w = await startWatcher(ctx, s);
    await caughtUp(s, w);
    const nsChange = standin.create('Namespace', ns('later'));
    await caughtUp(s, w);
    standin.bookmark();
    const status = await waitFor('a pod resourceVersion from a bookmark', async () => {
      const st = (await s.kv.get(WATCHER_STATUS_KEY))?.json<WatcherStatus>();
      return st && st.kinds.Pod.resourceVersion === nsChange.metadata.resourceVersion ? st : undefined;
    });
    assert.ok(status.upToDate);
  } finally {
    await finish(s);
  }
});

Watcher('a pod larger than the max payload arrives whole, and a restart does not repeat it', async (ctx) => {
  const s = await scenario(ctx);
  try {
    const { standin } = s;
    standin.create('Namespace', ns('prod'));
    const labels: Record<string, string> = {};
    for (let i = 0; i < 12_000; i += 1) labels[`example.com/label-${i}`] = `value-${i}-${'x'.repeat(100)}`;
    const big = standin.create('Pod', pod('prod', 'big', labels));
    const first = await startWatcher(ctx, s);
    await caughtUp(s, first);
    const stored = await readEvents(ctx.jsm, s.stream);
    const event = objectEvents(stored).find((e) => e.uid === big.metadata.uid)!;
    assert.equal((event.object as K8sObject).metadata.labels, labels);
    const info = await ctx.jsm.streams.info(s.stream);
    assert.ok(info.state.messages > stored.length, 'stored as parts plus a manifest');
    await first.stop();
    const second = await startWatcher(ctx, s);
    await caughtUp(s, second);
    assert.is((await ctx.jsm.streams.info(s.stream)).state.last_seq, info.state.last_seq, 'restart read it back and published nothing');
  } finally {
    await finish(s);
  }
});

Watcher('a stream recreated under the same name (knp init again) gets a new epoch and everything again', async (ctx) => {
  const s = await scenario(ctx);
  try {
    const { standin } = s;
    standin.create('Namespace', ns('prod'));
    standin.create('Pod', pod('prod', 'a'));
    standin.create('NetworkPolicy', policy('prod', 'p', 'a'));
    const w = await startWatcher(ctx, s);
    const status = await caughtUp(s, w);
    const epoch = status.epoch;
    assert.is(w.epoch(), epoch);
    await ctx.jsm.streams.delete(s.stream);
    await ensureStreams(ctx.nc, s.prefix, DEFAULT_STREAM_SETTINGS);
    const next = await waitFor('a new epoch in the status record', async () => {
      const st = (await s.kv.get(WATCHER_STATUS_KEY))?.json<WatcherStatus>();
      return st && st.epoch !== epoch && st.upToDate ? st : undefined;
    });
    assert.is.not(next.epoch, epoch);
    assert.is((await ctx.jsm.streams.info(s.stream)).created, next.epoch);
    const stored = await readEvents(ctx.jsm, s.stream);
    assert.equal(foldLiveUids(stored.map((m) => m.event)), liveUids(s), 'the new stream holds every live object');
  } finally {
    await finish(s);
  }
});

Watcher.run();
