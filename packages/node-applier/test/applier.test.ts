import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, type RuleSet } from '@knp/shared';
import { Applier, ApplyError, RenderError, fingerprintNftListing, type Backend, type LoadReport } from '../src/index.js';
import { localPod, ruleSet } from '@knp/testing';

/** A backend that records calls and holds a fake kernel: the hash of what was loaded, or undefined. */
function fakeBackend(failures: Array<Error | undefined> = []) {
  const calls: { hash: string; prev: string | undefined }[] = [];
  const kernel = { loaded: undefined as string | undefined };
  const backend: Backend = {
    kind: 'nftables',
    async load(next: RuleSet, prev: RuleSet | undefined): Promise<LoadReport> {
      calls.push({ hash: next.contentHash, prev: prev?.contentHash });
      const failure = failures.shift();
      if (failure) throw failure;
      kernel.loaded = next.contentHash;
      return { mode: prev ? 'delta' : 'full', scriptBytes: 1, kernelMs: 0 };
    },
    async check() {},
    async observe() {
      return kernel.loaded;
    },
    async remove() {
      kernel.loaded = undefined;
    },
  };
  return { backend, calls, kernel };
}

const log = createLogger('applier-test', 'silent');
const v = (seq: number, isolated = false): RuleSet => ruleSet({ pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], ...(isolated ? { ingress: [] } : {}) })] }, seq);
const sleeps: number[] = [];
const newApplier = (backend: Backend) => new Applier(backend, { log, retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 300 }, sleep: async (ms) => void sleeps.push(ms) });

const Apply = suite('Applier.apply');
Apply.before.each(() => void sleeps.splice(0));

Apply('the first rule set is loaded whole', async () => {
  const { backend, calls } = fakeBackend();
  const outcome = await newApplier(backend).apply(v(1));
  assert.is(outcome.kind, 'applied');
  assert.equal(calls, [{ hash: v(1).contentHash, prev: undefined }]);
});

Apply('a version at or below the applied one is a no-op', async () => {
  const { backend, calls } = fakeBackend();
  const applier = newApplier(backend);
  await applier.apply(v(5));
  assert.equal(await applier.apply(v(5, true)), { kind: 'stale', applied: v(5).version });
  assert.equal(await applier.apply(v(4, true)), { kind: 'stale', applied: v(5).version });
  assert.is(calls.length, 1);
});

Apply('a newer version with the same content writes nothing but is recorded', async () => {
  const { backend, calls } = fakeBackend();
  const applier = newApplier(backend);
  await applier.apply(v(1));
  assert.equal(await applier.apply(v(2)), { kind: 'unchanged' });
  assert.is(calls.length, 1);
  assert.equal(applier.status.applied?.version, v(2).version);
  assert.is(applier.status.kernelWrites, 1);
});

Apply('a changed rule set is loaded with the applied one as the base for a delta', async () => {
  const { backend, calls } = fakeBackend();
  const applier = newApplier(backend);
  await applier.apply(v(1));
  await applier.apply(v(2, true));
  assert.equal(calls[1], { hash: v(2, true).contentHash, prev: v(1).contentHash });
});

Apply('a failing load is retried with growing, capped delays and whole-table loads', async () => {
  const { backend, calls } = fakeBackend([new Error('busy'), new Error('busy'), new Error('busy')]);
  const applier = newApplier(backend);
  const outcome = await applier.apply(v(1));
  assert.equal(outcome.kind === 'applied' && outcome.attempts, 4);
  assert.equal(sleeps, [100, 200, 300]);
  assert.ok(calls.every((c) => c.prev === undefined));
  assert.is(applier.status.lastError, undefined, 'success clears the reported error');
});

Apply('after the last attempt the error is reported and the previous rule set stays applied', async () => {
  const { backend, kernel } = fakeBackend();
  const applier = newApplier(backend);
  await applier.apply(v(1));
  const failing = fakeBackend([1, 2, 3, 4].map(() => new Error('nft rejected line 7 (x): syntax error')));
  Object.assign(backend, { load: failing.backend.load });
  const err = await applier.apply(v(2, true)).catch((e: unknown) => e);
  assert.instance(err, ApplyError);
  assert.match((err as Error).message, /line 7/);
  assert.equal(applier.status.lastError, { version: v(2).version, message: 'nft rejected line 7 (x): syntax error', attempts: 4 });
  assert.equal(applier.status.applied?.version, v(1).version);
  assert.is(kernel.loaded, v(1).contentHash);
});

Apply('a rule set the renderer refuses is not retried', async () => {
  const { backend, calls } = fakeBackend([new RenderError('pods[0].ips[0]: "x" is not an IP address')]);
  const err = await newApplier(backend).apply(v(1)).catch((e: unknown) => e);
  assert.instance(err, ApplyError);
  assert.is(calls.length, 1);
  assert.equal(sleeps, []);
});

Apply('concurrent calls are serialised in arrival order', async () => {
  const { backend, calls } = fakeBackend();
  const applier = newApplier(backend);
  const outcomes = await Promise.all([applier.apply(v(1)), applier.apply(v(3, true)), applier.apply(v(2))]);
  assert.equal(outcomes.map((o) => o.kind), ['applied', 'applied', 'stale']);
  assert.is(calls.length, 2);
});

const Reconcile = suite('Applier.reconcile');

Reconcile('with nothing applied there is nothing to compare', async () => {
  assert.is(await newApplier(fakeBackend().backend).reconcile(), 'nothing-applied');
});

Reconcile('an untouched kernel is in sync; a removed or changed one is loaded whole again', async () => {
  const { backend, calls, kernel } = fakeBackend();
  const applier = newApplier(backend);
  await applier.apply(v(1));
  assert.is(await applier.reconcile(), 'in-sync');
  kernel.loaded = undefined;
  assert.is(await applier.reconcile(), 'repaired');
  assert.equal(calls.at(-1), { hash: v(1).contentHash, prev: undefined });
  assert.is(await applier.reconcile(), 'in-sync', 'the repaired table is the new reference');
  kernel.loaded = 'someone else';
  assert.is(await applier.reconcile(), 'repaired');
  assert.is(applier.status.repairs, 2);
});

Reconcile('a delta is not read back; the next reconcile loads the whole rule set and reads that back', async () => {
  const { backend, calls } = fakeBackend();
  let observed = 0;
  const counting: Backend = { ...backend, observe: async () => (observed++, backend.observe()) };
  const applier = newApplier(counting);
  await applier.apply(v(1));
  assert.is(await applier.reconcile(), 'in-sync');
  const before = observed;
  await applier.apply(v(2, true));
  assert.equal(calls.at(-1), { hash: v(2, true).contentHash, prev: v(1).contentHash }, 'a delta');
  assert.is(observed, before, 'no read-back after the delta');
  assert.is(await applier.reconcile(), 'refreshed');
  assert.equal(calls.at(-1), { hash: v(2, true).contentHash, prev: undefined }, 'a full load');
  assert.is(await applier.reconcile(), 'in-sync');
});

Reconcile('drift checks never stack up, and a rule set that arrives goes before a waiting one', async () => {
  const { backend } = fakeBackend();
  const order: string[] = [];
  let release: () => void = () => undefined;
  const slowLoad = new Promise<void>((resolve) => (release = resolve));
  const traced: Backend = {
    ...backend,
    load: async (next, prev) => {
      order.push(`load ${next.version.seq}`);
      if (next.version.seq === 2) await slowLoad;
      return backend.load(next, prev);
    },
    observe: async () => (order.push('observe'), backend.observe()),
  };
  const applier = newApplier(traced);
  await applier.apply(v(1));
  await applier.reconcile(); // the read-back of seq 1: the reference later checks compare with
  order.splice(0);
  const loading = applier.apply(v(2, true));
  const checks = Array.from({ length: 5 }, () => applier.reconcile());
  const arriving = applier.apply(v(3));
  release();
  await Promise.all([loading, arriving, ...checks]);
  assert.is(new Set(checks).size, 1, 'five timer ticks, one drift check');
  assert.equal(order.filter((o) => o.startsWith('load')).slice(0, 2), ['load 2', 'load 3'], `the arriving rule set loads before the check runs: ${order.join(', ')}`);
  assert.ok(order.indexOf('load 3') < order.indexOf('observe') || !order.includes('observe'), order.join(', '));
});

const Fingerprint = suite('fingerprintNftListing');

Fingerprint('ignores handles, metainfo and the listing order of set elements', () => {
  const listing = (handle: number, elem: string[]) => ({
    nftables: [
      { metainfo: { version: '1.0.6' } },
      { table: { family: 'inet', name: 'knp', handle } },
      { set: { family: 'inet', name: 's', table: 'knp', type: 'ipv4_addr', handle: handle + 1, elem } },
    ],
  });
  assert.is(fingerprintNftListing(listing(3, ['10.0.0.1', '10.0.0.2'])), fingerprintNftListing(listing(9, ['10.0.0.2', '10.0.0.1'])));
  assert.is.not(fingerprintNftListing(listing(3, ['10.0.0.1'])), fingerprintNftListing(listing(3, ['10.0.0.1', '10.0.0.2'])));
});

Apply.run();
Reconcile.run();
Fingerprint.run();
