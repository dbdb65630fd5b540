import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { WATCHER_STATUS_KEY, createLogger, isUpToDate, loadConfig, names, type ObjectEvent, type SyncEvent, type WatcherStatus } from '@knp/shared';
import { runWatcher, type WatcherHandle } from '@knp/watcher';
import { DEFAULT_STREAM_SETTINGS, ensureStreams } from '@knp/shared/nats';
import { connect, type JetStreamManager, type KV, type NatsConnection } from 'nats';
import { knp, startNatsServer, startStandin, type K8sObject, type NatsServer, type Standin } from '@knp/sim';
import { foldLiveUids, readEvents, waitFor, type StoredEvent, suite } from '@knp/testing';

/*
 * The cluster-scoped kinds ClusterNetworkPolicy needs: Nodes (labels and addresses, for `nodes` peers) and
 * ClusterNetworkPolicies (a CRD: the watcher discovers it, syncs it empty while it is absent).
 */
type Ctx = { nats: NatsServer; nc: NatsConnection; jsm: JetStreamManager; dir: string; n: number };
const ClusterKinds = suite<Ctx>('watcher: Nodes and ClusterNetworkPolicies against the API stand-in');
const log = createLogger('watcher-test', process.env.KNP_TEST_LOG ?? 'silent');

ClusterKinds.before(async (ctx) => {
  ctx.nats = await startNatsServer();
  ctx.nc = await connect({ servers: ctx.nats.url });
  ctx.jsm = await ctx.nc.jetstreamManager();
  ctx.dir = mkdtempSync(join(tmpdir(), 'knp-watcher-cluster-kinds-'));
  ctx.n = 0;
});
ClusterKinds.after(async (ctx) => {
  await ctx.nc?.close();
  await ctx.nats?.stop();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

// builders
const node = (name: string, labels: Record<string, string>, ip: string): K8sObject => ({
  metadata: { name, labels },
  spec: { podCIDR: '10.244.0.0/24' },
  status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }], conditions: [{ type: 'Ready', status: 'True' }] },
});
const cnp = (name: string, priority: number): K8sObject => ({
  metadata: { name },
  spec: {
    tier: 'Admin', priority, subject: { namespaces: {} },
    egress: [{ name: 'deny-nodes', action: 'Deny', to: [{ nodes: { matchLabels: { 'node-role.kubernetes.io/control-plane': '' } } }] }],
  },
});
/** What a kubelet does every few seconds: conditions and heartbeat times, nothing a policy reads. */
const heartbeat = (o: K8sObject): void => {
  o.status.conditions = [{ type: 'Ready', status: 'True', lastHeartbeatTime: new Date(Date.now() + Math.random() * 1e6).toISOString() }];
};

type Scenario = { standin: Standin; prefix: string; stream: string; kv: KV; watcher: WatcherHandle };

async function scenario(ctx: Ctx, crd: boolean, setup: (standin: Standin) => void = () => {}): Promise<Scenario> {
  ctx.n += 1;
  const standin = await startStandin({ clusterNetworkPolicyCrd: crd });
  setup(standin);
  const kubeconfig = join(ctx.dir, `kubeconfig-${ctx.n}`);
  standin.writeKubeconfig(kubeconfig);
  const prefix = `ck${ctx.n}`;
  await ensureStreams(ctx.nc, prefix, DEFAULT_STREAM_SETTINGS);
  const config = loadConfig({ KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: prefix });
  const watcher = await runWatcher(config, log, { nc: ctx.nc, heartbeatMs: 100, restartMinMs: 20, restartMaxMs: 200, kubeconfigPath: kubeconfig });
  const kv = await ctx.nc.jetstream().views.kv(names(prefix).statusBucket);
  return { standin, prefix, stream: names(prefix).eventsStream, kv, watcher };
}

async function finish(s: Scenario): Promise<void> {
  await s.watcher.stop();
  await s.standin.close();
}

/** The watcher's record once it is up to date and `check` holds for it. */
const record = (s: Scenario, what: string, check: (st: WatcherStatus) => boolean): Promise<WatcherStatus> =>
  waitFor(what, async () => {
    const st = (await s.kv.get(WATCHER_STATUS_KEY))?.json<WatcherStatus>();
    return st !== undefined && isUpToDate(st, s.watcher.instance) && check(st) ? st : undefined;
  });
const rvAtLeast = (st: WatcherStatus, kind: 'Node' | 'ClusterNetworkPolicy', rv: string): boolean => Number(st.kinds[kind].resourceVersion) >= Number(rv);
const objectEvents = (stored: readonly StoredEvent[], kind: string): ObjectEvent[] =>
  stored.map((m) => m.event).filter((e): e is ObjectEvent => e.op !== 'sync' && e.kind === kind);
const syncsOf = (stored: readonly StoredEvent[], kind: string): SyncEvent[] =>
  stored.map((m) => m.event).filter((e): e is SyncEvent => e.op === 'sync' && e.kind === kind);

ClusterKinds('nodes publish trimmed (labels, addresses); heartbeats publish nothing; label, address and CNP changes do', async (ctx) => {
  const s = await scenario(ctx, true, (standin) => {
    standin.create('Node', node('node-a', JSON.parse('{"zone":"a","__proto__":"x"}') as Record<string, string>, '192.168.0.1'));
    standin.create('ClusterNetworkPolicy', cnp('deny-control-plane', 10));
  });
  try {
    const { standin } = s;
    await record(s, 'first lists published', (st) => st.kinds.Node.objects === 1 && st.kinds.ClusterNetworkPolicy.objects === 1);
    const before = (await readEvents(ctx.jsm, s.stream)).length;

    for (let i = 0; i < 40; i++) standin.update('Node', { name: 'node-a' }, heartbeat);
    const afterBeats = standin.resourceVersion();
    await record(s, 'heartbeats seen', (st) => rvAtLeast(st, 'Node', afterBeats));
    assert.is((await readEvents(ctx.jsm, s.stream)).length, before, '40 heartbeats (conditions, resourceVersion): no event');

    standin.update('Node', { name: 'node-a' }, (o) => void (o.metadata.labels = { ...o.metadata.labels, 'node-role.kubernetes.io/control-plane': '' }));
    standin.update('Node', { name: 'node-a' }, (o) => void o.status.addresses.push({ type: 'InternalIP', address: 'fd00::1' }));
    standin.update('ClusterNetworkPolicy', { name: 'deny-control-plane' }, (o) => void (o.spec.priority = 5));
    standin.create('ClusterNetworkPolicy', cnp('second', 20));
    standin.delete('ClusterNetworkPolicy', undefined, 'second');
    const last = standin.resourceVersion();
    await record(s, 'changes published', (st) => rvAtLeast(st, 'Node', last) && rvAtLeast(st, 'ClusterNetworkPolicy', last));

    const stored = await readEvents(ctx.jsm, s.stream);
    const nodes = objectEvents(stored, 'Node');
    assert.equal(nodes.map((e) => e.op), ['added', 'modified', 'modified'], 'the list, the label change, the address change');
    for (const e of nodes) assert.is(e.namespace, undefined, 'a Node is in no namespace');
    assert.ok(stored.every((m) => m.event.op === 'sync' || m.event.kind !== 'Node' || m.subject.split('.').length === 5), 'node subjects have the five tokens of object subjects');
    const newest = nodes.at(-1)!.object as { metadata: Record<string, unknown>; status: unknown; spec?: unknown };
    assert.equal(Object.keys(newest.metadata).sort(), ['creationTimestamp', 'labels', 'name', 'resourceVersion', 'uid']);
    assert.is(Object.getOwnPropertyDescriptor(newest.metadata.labels, '__proto__')?.value, 'x', 'a hostile label key stays a label');
    assert.equal(newest.status, { addresses: [{ type: 'InternalIP', address: '192.168.0.1' }, { type: 'Hostname', address: 'node-a' }, { type: 'InternalIP', address: 'fd00::1' }] });
    assert.is(newest.spec, undefined, 'nothing of the spec');

    const cnps = objectEvents(stored, 'ClusterNetworkPolicy');
    assert.equal(cnps.map((e) => `${e.op} ${e.name}`), ['added deny-control-plane', 'modified deny-control-plane', 'added second', 'deleted second']);
    assert.equal((cnps[1]!.object as { spec: unknown }).spec, { ...cnp('x', 5).spec }, 'the whole spec');
    assert.equal(syncsOf(stored, 'Node').at(-1)!.uids, [standin.get('Node', undefined, 'node-a')!.metadata.uid]);
  } finally {
    await finish(s);
  }
});

ClusterKinds('CRD absent: the status says so and an empty sync is published; installed later it is listed; removed, synced empty again', async (ctx) => {
  const s = await scenario(ctx, false, (standin) => void standin.create('Node', node('node-a', {}, '192.168.0.1')));
  try {
    const { standin } = s;
    const absent = await record(s, 'CNP marked absent', (st) => st.kinds.ClusterNetworkPolicy.absent === true);
    assert.equal({ ...absent.kinds.ClusterNetworkPolicy, resourceVersion: 'x' }, { resourceVersion: 'x', listed: true, objects: 0, absent: true });
    assert.is(absent.kinds.Node.absent, undefined);
    let stored = await readEvents(ctx.jsm, s.stream);
    assert.equal(syncsOf(stored, 'ClusterNetworkPolicy').map((e) => e.uids), [[]], 'one empty sync, not one per discovery retry');

    const status = await knp(['status'], { KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: s.prefix });
    assert.is(status.code, 0, status.stderr);
    assert.match(status.stdout, /ClusterNetworkPolicy: not served by the API \(CRD not installed\)/);

    standin.setCrdInstalled(true);
    const created = standin.create('ClusterNetworkPolicy', cnp('late', 1));
    const listed = await record(s, 'CNP listed once installed', (st) => st.kinds.ClusterNetworkPolicy.absent === undefined && st.kinds.ClusterNetworkPolicy.objects === 1);
    assert.ok(listed.kinds.ClusterNetworkPolicy.listed);
    stored = await readEvents(ctx.jsm, s.stream);
    assert.equal(objectEvents(stored, 'ClusterNetworkPolicy').map((e) => `${e.op} ${e.uid}`), [`added ${created.metadata.uid}`]);
    assert.equal(syncsOf(stored, 'ClusterNetworkPolicy').at(-1)!.uids, [created.metadata.uid]);

    standin.setCrdInstalled(false); // the API server deletes a CRD's objects with it
    await record(s, 'CNP absent again', (st) => st.kinds.ClusterNetworkPolicy.absent === true);
    stored = await readEvents(ctx.jsm, s.stream);
    assert.equal(objectEvents(stored, 'ClusterNetworkPolicy').map((e) => e.op), ['added', 'deleted']);
    // the empty sync is the one published first, so the stream's dedup window may drop it as a duplicate
    assert.equal(foldLiveUids(stored.map((m) => m.event)).ClusterNetworkPolicy, [], 'none live downstream');
    assert.equal(syncsOf(stored, 'ClusterNetworkPolicy').map((e) => e.uids.length), [0, 1], 'an empty sync, then the installed one');
  } finally {
    await finish(s);
  }
});

ClusterKinds('a transient 404 for the CRD (one discovery round) publishes nothing: no deletion, no empty sync', async (ctx) => {
  const s = await scenario(ctx, true, (standin) => void standin.create('ClusterNetworkPolicy', cnp('kept', 1)));
  try {
    const { standin } = s;
    await record(s, 'CNP listed', (st) => st.kinds.ClusterNetworkPolicy.objects === 1);
    // the watch, the discovery and the LIST probe of one round get 404; the next round finds it served
    standin.hideCrdFor(3);
    standin.closeWatches();
    await waitFor('the 404s served', () => (standin.crdNotFound() >= 3 ? true : undefined));
    const later = standin.create('ClusterNetworkPolicy', cnp('later', 2));
    await record(s, 'watched again', (st) => st.kinds.ClusterNetworkPolicy.objects === 2 && rvAtLeast(st, 'ClusterNetworkPolicy', later.metadata.resourceVersion!));
    const stored = await readEvents(ctx.jsm, s.stream);
    assert.equal(objectEvents(stored, 'ClusterNetworkPolicy').map((e) => `${e.op} ${e.name}`), ['added kept', 'added later'], 'nothing deleted');
    assert.ok(syncsOf(stored, 'ClusterNetworkPolicy').every((e) => e.uids.length > 0), 'no empty sync');
    assert.is(standin.crdNotFound(), 3);
  } finally {
    await finish(s);
  }
});

ClusterKinds.run();
