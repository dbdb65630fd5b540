import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '@knp/shared';
import { KubeConfig } from '@kubernetes/client-node';
import { startStandin, type Standin } from '@knp/sim';
import { LeaseKeeper, type LeaseSettings, type LostReason } from '../src/lease-keeper.js';

// Two LeaseKeepers against the stand-in's Leases over HTTP: one leads, the other stands by and takes over.
const K = suite<{ standin: Standin; kc: KubeConfig; keepers: LeaseKeeper[] }>('LeaseKeeper');
const log = createLogger('watcher-test', 'silent');
const settings: LeaseSettings = { namespace: 'knp', name: 'knp-watcher', durationS: 2, renewS: 1 };

K.before.each(async (ctx) => {
  ctx.standin = await startStandin();
  ctx.kc = new KubeConfig();
  ctx.kc.loadFromString(ctx.standin.kubeconfig());
  ctx.keepers = [];
});
K.after.each(async (ctx) => {
  await Promise.all(ctx.keepers.map((k) => k.release()));
  await ctx.standin.close();
});
const keeper = (ctx: { kc: KubeConfig; keepers: LeaseKeeper[] }, identity: string): LeaseKeeper => {
  const k = new LeaseKeeper(ctx.kc, settings, identity, log);
  ctx.keepers.push(k);
  return k;
};
const settle = (p: Promise<void>): Promise<boolean> => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);

K('the first keeper creates the Lease at once; a second stands by; a release hands over at once', async (ctx) => {
  const started = Date.now();
  const a = keeper(ctx, 'a/1');
  await a.acquire(() => assert.unreachable('a lost'));
  assert.ok(Date.now() - started < 1_000, 'no wait for a missing Lease');
  assert.is(ctx.standin.lease('knp', 'knp-watcher')?.spec.holderIdentity, 'a/1');
  const b = keeper(ctx, 'b/2');
  const bLeads = b.acquire(() => {});
  await new Promise((r) => setTimeout(r, 1_200));
  assert.is(await settle(bLeads), false, 'b must stand by while a renews');
  assert.ok(ctx.standin.leaseStats.writes >= 2, 'a renewed');
  const releasedAt = Date.now();
  await a.release();
  await bLeads;
  assert.ok(Date.now() - releasedAt < 1_500, 'released: taken over within a retry period');
  const spec = ctx.standin.lease('knp', 'knp-watcher')!.spec;
  assert.equal([spec.holderIdentity, spec.leaseDurationSeconds], ['b/2', 2]);
});

K('a holder that stops renewing (killed) is replaced after the lease duration, not before', async (ctx) => {
  const a = keeper(ctx, 'a/1');
  await a.acquire(() => {});
  // stand-in for kill -9: the Lease stays as a wrote it, nobody renews it
  const lease = ctx.standin.lease('knp', 'knp-watcher')!;
  (a as unknown as { stopped: boolean }).stopped = true;
  clearTimeout((a as unknown as { deadlineTimer: NodeJS.Timeout }).deadlineTimer);
  ctx.keepers.length = 0;
  const started = Date.now();
  const b = keeper(ctx, 'b/2');
  await b.acquire(() => {});
  const waitedMs = Date.now() - started;
  assert.ok(waitedMs >= 1_900 && waitedMs < 4_500, `took over after ${waitedMs} ms`);
  const spec = ctx.standin.lease('knp', 'knp-watcher')!.spec;
  assert.equal([spec.holderIdentity, spec.leaseTransitions], ['b/2', 1]);
  assert.is.not(ctx.standin.lease('knp', 'knp-watcher')!.metadata.resourceVersion, lease.metadata.resourceVersion);
});

K('a holder whose Lease another took is told at once, with the reason', async (ctx) => {
  const a = keeper(ctx, 'a/1');
  const lost = new Promise<LostReason>((resolve) => void a.acquire(resolve));
  await new Promise((r) => setTimeout(r, 200));
  const rv = ctx.standin.lease('knp', 'knp-watcher')!.metadata.resourceVersion;
  const res = await fetch(`${ctx.standin.url}/apis/coordination.k8s.io/v1/namespaces/knp/leases/knp-watcher`, {
    method: 'PUT', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ metadata: { name: 'knp-watcher', resourceVersion: rv }, spec: { holderIdentity: 'thief/9', leaseDurationSeconds: 2 } }),
  });
  assert.is(res.status, 200);
  assert.is(await lost, 'taken');
});

K('the stand-in refuses stale and duplicate writes with 409', async (ctx) => {
  const url = `${ctx.standin.url}/apis/coordination.k8s.io/v1/namespaces/knp/leases`;
  const send = (method: string, path: string, body: unknown) => fetch(url + path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const created = await send('POST', '', { metadata: { name: 'l' }, spec: { holderIdentity: 'x' } });
  assert.is(created.status, 201);
  const rv = ((await created.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  assert.is((await send('POST', '', { metadata: { name: 'l' }, spec: {} })).status, 409);
  assert.is((await send('PUT', '/l', { metadata: { name: 'l', resourceVersion: rv }, spec: { holderIdentity: 'y' } })).status, 200);
  assert.is((await send('PUT', '/l', { metadata: { name: 'l', resourceVersion: rv }, spec: { holderIdentity: 'z' } })).status, 409);
  assert.is((await send('PUT', '/m', { metadata: { name: 'm' }, spec: {} })).status, 404);
  assert.is((await fetch(`${url}/l`)).status, 200);
  assert.is(ctx.standin.lease('knp', 'l')?.spec.holderIdentity, 'y');
  assert.equal(ctx.standin.leaseStats, { writes: 2, conflicts: 2 });
});
K.run();
