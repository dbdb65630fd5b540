import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { OBJECT_KINDS, names, type ObjectEvent, type ObjectKind } from '@knp/shared';
import { connect, type NatsConnection } from 'nats';
import { Service, knpInit, startNatsServer, startStandin, type K8sObject, type NatsServer, type Standin, type StandinKind } from '@knp/sim';
import { foldLiveUids, readEvents, waitFor, suite } from '@knp/testing';

/**
 * Two real `knp watcher` processes against the API stand-in and a private nats-server: exactly one holds
 * the Lease and publishes; kill -9 it and the standby takes over within the lease duration; changes made
 * before, during and after the failover all reach the events stream (the last event of every object
 * carries the API's current labels, deleted objects end deleted, and the sync markers keep every live
 * object). A restarted watcher stands by; a holder whose Lease another takes exits at once.
 */

const PREFIX = 'wlease';
const LEASE_S = 3; // renew every 1 s, renew deadline 2 s
const N = names(PREFIX);
type Ctx = { dir: string; nats: NatsServer; nc: NatsConnection; standin: Standin; watchers: Service[] };
const L = suite<Ctx>('watcher lease: one active watcher, failover');

L.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'knp-watcher-lease-'));
  ctx.nats = await startNatsServer();
  ctx.nc = await connect({ servers: ctx.nats.url });
  ctx.standin = await startStandin({ bookmarkIntervalMs: 500 });
  const kubeconfig = join(ctx.dir, 'kubeconfig');
  ctx.standin.writeKubeconfig(kubeconfig);
  const env = {
    KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: PREFIX, KNP_LOG_LEVEL: 'info', KNP_HEARTBEAT_S: '1', KUBECONFIG: kubeconfig,
    KNP_LEASE_DURATION_S: String(LEASE_S), KNP_LEASE_RENEW_S: '1', KNP_LIST_PAGE_SIZE: '4', // lists of 10+ come in pages
  };
  await knpInit(env); // the streams: the watchers wait for them
  ctx.watchers = ['a', 'b'].map((n) => new Service(`watcher-${n}`, ['watcher'], { ...env, HOSTNAME: `watcher-${n}` }, join(ctx.dir, 'logs')));
});

L.after(async (ctx) => {
  for (const w of ctx.watchers ?? []) await w.kill();
  await ctx.nc?.close();
  await ctx.standin?.close();
  await ctx.nats?.stop();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

const holder = (ctx: Ctx): string => String(ctx.standin.lease('knp', 'knp-watcher')?.spec.holderIdentity ?? '');
const holderService = (ctx: Ctx): Service | undefined => ctx.watchers.find((w) => holder(ctx).startsWith(`${w.name}/`));
const logged = (w: Service, msg: string): number => w.logLines().filter((l) => l.msg === msg).length;

const pod = (name: string, v: number): K8sObject => ({
  metadata: { name, namespace: 'ns1', labels: { v: String(v) } },
  spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'x' }] },
  status: { phase: 'Running', podIP: `10.0.0.${10 + Number(name.slice(1))}`, podIPs: [{ ip: `10.0.0.${10 + Number(name.slice(1))}` }] },
});
const relabel = (standin: Standin, kind: StandinKind, namespace: string | undefined, name: string, v: number): void =>
  void standin.update(kind, { ...(namespace ? { namespace } : {}), name }, (o) => void (o.metadata.labels = { ...o.metadata.labels, v: String(v) }));

/** Every API object's last event carries its current labels; every deleted one ends deleted; the folded stream holds exactly the API's uids. */
async function streamMatchesApi(ctx: Ctx): Promise<string | true> {
  const events = (await readEvents(await ctx.nc.jetstreamManager(), N.eventsStream));
  const last = new Map<string, ObjectEvent>();
  for (const { subject, event } of events) if (event.op !== 'sync') last.set(subject, event);
  for (const kind of OBJECT_KINDS) {
    for (const o of ctx.standin.list(kind as StandinKind)) {
      const e = last.get(N.eventSubject(kind, o.metadata.namespace, o.metadata.name));
      const labels = (e?.object as { metadata?: { labels?: unknown } } | undefined)?.metadata?.labels;
      if (e === undefined || e.op === 'deleted' || JSON.stringify(labels ?? {}) !== JSON.stringify(o.metadata.labels ?? {}))
        return `${kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}: last event ${e?.op ?? 'none'} ${JSON.stringify(labels)}, API ${JSON.stringify(o.metadata.labels)}`;
    }
    const apiUids = ctx.standin.list(kind as StandinKind).map((o) => o.metadata.uid!).sort();
    const folded = foldLiveUids(events.map((s) => s.event))[kind as ObjectKind];
    if (JSON.stringify(folded) !== JSON.stringify(apiUids)) return `${kind}: stream holds ${folded.length} live, API ${apiUids.length}`;
  }
  for (const c of ctx.standin.changes.filter((c) => c.type === 'DELETED')) {
    const subject = N.eventSubject(c.kind, c.object.metadata.namespace, c.object.metadata.name);
    // an object created and deleted while no watcher held the Lease was never seen: no event is right
    const e = last.get(subject);
    if (ctx.standin.get(c.kind, c.object.metadata.namespace, c.object.metadata.name) === undefined && e !== undefined && e.op !== 'deleted')
      return `${c.kind} ${c.object.metadata.name}: deleted in the API, last event ${e.op}`;
  }
  return true;
}

async function waitStreamMatches(ctx: Ctx, what: string, timeoutMs = 20_000): Promise<void> {
  let last: string | true = 'not checked';
  try {
    await waitFor(what, async () => (last = await streamMatchesApi(ctx)) === true, timeoutMs);
  } catch (err) {
    for (const w of ctx.watchers) process.stderr.write(`--- ${w.name} (last lines)\n${w.logTail(20)}\n`);
    throw new Error(`${what}: ${String(last)}`, { cause: err });
  }
}

L('one publishes, the other stands by; kill -9 the active one: the standby takes over and nothing is lost', async (ctx) => {
  const { standin } = ctx;
  standin.create('Namespace', { metadata: { name: 'ns1', labels: { v: '0' } } });
  for (let i = 0; i < 10; i += 1) standin.create('Pod', pod(`p${i}`, 0));
  standin.create('NetworkPolicy', { metadata: { name: 'np', namespace: 'ns1', labels: { v: '0' } }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
  for (const w of ctx.watchers) w.start();

  // exactly one holds the Lease and publishes; the other logs that it stands by and reads nothing
  const active = await waitFor('a lease holder', () => holderService(ctx), 10_000);
  const standby = ctx.watchers.find((w) => w !== active)!;
  await waitStreamMatches(ctx, 'first lists published');
  await waitFor('the standby says so', () => logged(standby, 'standby: another watcher holds the lease') > 0, 5_000);
  assert.is(logged(standby, 'list received'), 0, 'a standby lists nothing');
  assert.ok(ctx.standin.stats.lists >= 5, 'pods came in pages of 4'); // 3 pages of pods + namespaces + policies

  // before the failover
  relabel(standin, 'Pod', 'ns1', 'p0', 1);
  standin.delete('Pod', 'ns1', 'p1');
  await waitStreamMatches(ctx, 'changes before the failover');

  // kill -9 the active one, change things while nobody holds the Lease
  await active.kill();
  const killedAt = Date.now();
  relabel(standin, 'Pod', 'ns1', 'p2', 2);
  relabel(standin, 'Namespace', undefined, 'ns1', 2);
  standin.delete('Pod', 'ns1', 'p3');
  standin.create('Pod', pod('p10', 2));
  await waitFor('the standby takes over', () => holderService(ctx) === standby, (LEASE_S + 5) * 1000);
  const takeoverMs = Date.now() - killedAt;
  process.stdout.write(`  takeover after kill -9: ${takeoverMs} ms (lease ${LEASE_S} s)\n`);
  assert.ok(takeoverMs <= LEASE_S * 1000 + 2_500, `took over after ${takeoverMs} ms`);
  assert.ok(takeoverMs >= (LEASE_S - 1) * 1000, `took over after ${takeoverMs} ms: before the lease could expire`);

  // after the failover
  relabel(standin, 'Pod', 'ns1', 'p4', 3);
  relabel(standin, 'NetworkPolicy', 'ns1', 'np', 3);
  standin.delete('Pod', 'ns1', 'p10');
  await waitStreamMatches(ctx, 'changes before, during and after the failover');

  // the killed one comes back (as Kubernetes restarts it): a standby, publishing nothing
  const listsBefore = logged(active, 'list received');
  active.start();
  await waitFor('the restarted watcher stands by', () => logged(active, 'standby: another watcher holds the lease') > 0, 10_000);
  relabel(standin, 'Pod', 'ns1', 'p5', 4);
  await waitStreamMatches(ctx, 'a change with the restarted one standing by');
  assert.is(logged(active, 'list received'), listsBefore, 'the restarted watcher lists nothing');
  assert.is(holderService(ctx), standby);
});

L('a holder whose Lease someone else takes stops publishing and exits at once', async (ctx) => {
  const current = holderService(ctx)!;
  const other = ctx.watchers.find((w) => w !== current)!;
  const lease = ctx.standin.lease('knp', 'knp-watcher')!;
  const res = await fetch(`${ctx.standin.url}/apis/coordination.k8s.io/v1/namespaces/knp/leases/knp-watcher`, {
    method: 'PUT', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ metadata: { name: 'knp-watcher', resourceVersion: lease.metadata.resourceVersion }, spec: { ...lease.spec, holderIdentity: 'intruder/1', leaseDurationSeconds: LEASE_S } }),
  });
  assert.is(res.status, 200);
  const takenAt = Date.now();
  await waitFor('the old holder exits', () => !current.running, 5_000);
  const exitMs = Date.now() - takenAt;
  process.stdout.write(`  holder exited ${exitMs} ms after its Lease was taken\n`);
  assert.ok(exitMs <= 2_500, `exited after ${exitMs} ms`);
  assert.ok(logged(current, 'lease lost; exiting so that this watcher restarts as a standby') === 1, current.logTail(5));
  // the intruder never renews: the remaining standby takes over once its lease expires, and catches up
  relabel(ctx.standin, 'Pod', 'ns1', 'p6', 5);
  await waitFor('the standby takes over from the intruder', () => holderService(ctx) === other, (LEASE_S + 5) * 1000).catch((err: unknown) => {
    process.stderr.write(`holder ${holder(ctx)}\n--- ${other.name}\n${other.logTail(15)}\n`);
    throw err;
  });
  await waitStreamMatches(ctx, 'a change made while the intruder held the Lease');
});

L.run();
