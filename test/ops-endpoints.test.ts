import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { runCompiler, type CompilerHandle } from '@knp/compiler/service';
import { DEFAULT_KERNEL_SETTINGS } from '@knp/node-applier';
import { DEFAULT_APPLIER_SETTINGS, runApplierService, type ApplierHandle } from '@knp/node-applier/service';
import { createLogger, loadConfig, names } from '@knp/shared';
import { runWatcher, type WatcherHandle } from '@knp/watcher';
import { connect, type NatsConnection } from 'nats';
import { DEFAULT_STREAM_SETTINGS, ensureStreams } from '@knp/shared/nats';
import { freePort, sh, shQuiet, spawnNatsServer, startStandin, type K8sObject, type Standin } from '@knp/sim';
import { waitFor, suite } from '@knp/testing';

/**
 * The operator endpoints of the three services, run in this process against the NATS on 127.0.0.1:4222
 * under a prefix of their own: the watcher reading the API stand-in, a compiler, and an applier driving
 * nftables in a network namespace. Checks /healthz, /readyz (the watcher before and after its first lists,
 * the applier while its kernel refuses and after) and that the documented series move when changes flow,
 * down to knp_policy_implementation_delay_seconds on the applier.
 */

const NATS_URL = 'nats://127.0.0.1:4222';
const NODE = 'node-a';
const suffix = randomBytes(4).toString('hex').slice(0, 6);
const PREFIX = `op${suffix}`;
/** Not created until the test says so: until then every nft command of the applier fails. */
const NETNS = `knp-ops-${suffix}`;
const log = createLogger('ops-test', (process.env.KNP_TEST_LOG ?? 'silent') as 'silent');

type Ctx = {
  dir: string;
  nc: NatsConnection;
  standin: Standin;
  watcher: WatcherHandle;
  compiler: CompilerHandle;
  applier: ApplierHandle;
};
const Ops = suite<Ctx>('/healthz, /readyz and /metrics of the watcher, the compiler and the applier');

// builders
const ns = (name: string): K8sObject => ({ metadata: { name, labels: { team: name } } });
const pod = (namespace: string, name: string, ip: string, labels: Record<string, string> = { app: name }): K8sObject => ({
  metadata: { namespace, name, labels },
  spec: { nodeName: NODE, containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});
const denyIngressTo = (namespace: string, app: string, name: string, cidr?: string): K8sObject => ({
  metadata: { namespace, name },
  spec: { podSelector: { matchLabels: { app } }, policyTypes: ['Ingress'], ingress: cidr ? [{ from: [{ ipBlock: { cidr } }] }] : [] },
});

type Scrape = { status: number; body: string };
async function get(port: number | undefined, path: string): Promise<Scrape> {
  assert.type(port, 'number', 'the service serves its endpoints');
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/** Every sample of a Prometheus text page, by its series (`name{label="v",...}` as printed). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The sum of the samples of `name` whose labels include every one of `labels` (0 when there are none). */
function value(page: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [series, v] of page) {
    const brace = series.indexOf('{');
    if ((brace < 0 ? series : series.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([k, l]) => series.includes(`${k}="${l}"`))) sum += v;
  }
  return sum;
}

const metrics = async (port: number | undefined): Promise<Map<string, number>> => samples((await get(port, '/metrics')).body);
const ready = async (port: number | undefined): Promise<Scrape | false> => {
  const r = await get(port, '/readyz');
  return r.status === 200 && r;
};

Ops.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'knp-ops-test-'));
  ctx.nc = await connect({ servers: NATS_URL });
  await ensureStreams(ctx.nc, PREFIX, DEFAULT_STREAM_SETTINGS); // what `knp init` makes: the services wait for it
  ctx.standin = await startStandin();
  for (const n of ['x', 'y']) ctx.standin.create('Namespace', ns(n));
  ctx.standin.create('Pod', pod('x', 'a', '10.9.0.1'));
  ctx.standin.create('Pod', pod('y', 'b', '10.9.0.2'));
});

Ops.after(async (ctx) => {
  // each step on its own: a failed one must not leave the streams, the namespace or the directory behind
  for (const s of [ctx.applier, ctx.compiler, ctx.watcher]) await s?.stop().catch(() => undefined);
  await ctx.standin?.close().catch(() => undefined);
  if (ctx.nc) {
    const n = names(PREFIX);
    const jsm = await ctx.nc.jetstreamManager();
    for (const stream of [n.eventsStream, n.rulesStream, `KV_${n.statusBucket}`, `OBJ_${n.snapshotBucket}`]) await jsm.streams.delete(stream).catch(() => false);
    await ctx.nc.close();
  }
  shQuiet(['ip', 'netns', 'delete', NETNS]);
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

Ops('the watcher is alive but not ready until its first lists are published', async (ctx) => {
  ctx.standin.failNext(1_000_000); // every list fails: the informers retry
  const config = loadConfig({ KNP_NATS_URL: NATS_URL, KNP_PREFIX: PREFIX, KNP_HTTP_PORT: '0' });
  ctx.watcher = await runWatcher(config, log, { nc: ctx.nc, heartbeatMs: 200, restartMinMs: 20, restartMaxMs: 100, kubeconfigPath: writeKubeconfig(ctx) });
  assert.is((await get(ctx.watcher.httpPort, '/healthz')).status, 200);
  const before = await get(ctx.watcher.httpPort, '/readyz');
  assert.is(before.status, 503);
  assert.match(before.body, /waiting for the first list of/);
  assert.is((await get(ctx.watcher.httpPort, '/nothing')).status, 404);
  ctx.standin.failNext(0);
  const after = await waitFor('the watcher ready', () => ready(ctx.watcher.httpPort));
  assert.match(after.body, /lists published/);
  const page = await metrics(ctx.watcher.httpPort);
  assert.is(value(page, 'knp_watcher_events_published_total', { kind: 'Pod', op: 'added' }), 2);
  assert.is(value(page, 'knp_watcher_events_published_total', { kind: 'Namespace', op: 'added' }), 2);
  assert.is(value(page, 'knp_watcher_objects', { kind: 'Pod' }), 2);
  assert.ok(value(page, 'knp_watcher_lists_total', { kind: 'NetworkPolicy' }) >= 1);
  assert.ok(value(page, 'knp_process_resident_memory_bytes') > 0, 'process defaults are there');
});

Ops('the compiler is ready once caught up; the applier is not while its kernel refuses, and is once it takes the rules', async (ctx) => {
  const config = loadConfig({ KNP_NATS_URL: NATS_URL, KNP_PREFIX: PREFIX, KNP_HTTP_PORT: '0' });
  ctx.compiler = await runCompiler(config, log, { nc: ctx.nc, settings: { heartbeatMs: 200 } });
  const compilerReady = await waitFor('the compiler ready', () => ready(ctx.compiler.httpPort));
  assert.match(compilerReady.body, /caught up/);
  assert.is((await get(ctx.compiler.httpPort, '/healthz')).status, 200);

  const settings = { ...DEFAULT_APPLIER_SETTINGS, node: NODE, stateDir: join(ctx.dir, 'state'), kernel: { ...DEFAULT_KERNEL_SETTINGS, backend: 'nftables' as const, netns: NETNS }, heartbeatMs: 200, reconcileMs: 0, retryDelayMs: 200 };
  ctx.applier = await runApplierService(config, log, { settings });
  assert.is((await get(ctx.applier.httpPort, '/healthz')).status, 200);
  // the node's first rule set cannot be applied: there is no such network namespace yet
  await waitFor('an apply error counted', async () => value(await metrics(ctx.applier.httpPort), 'knp_applier_apply_errors_total', { reason: 'apply-failed' }) >= 1, 30_000);
  const notReady = await get(ctx.applier.httpPort, '/readyz');
  assert.is(notReady.status, 503);
  assert.match(notReady.body, /newest rule set \S+ not in force yet/);
  assert.ok(value(await metrics(ctx.applier.httpPort), 'knp_applier_lag_events') > 0, 'the newest rule set is behind');

  await sh(['ip', 'netns', 'add', NETNS]);
  const applierReady = await waitFor('the applier ready', () => ready(ctx.applier.httpPort), 30_000);
  assert.match(applierReady.body, /in force/);
  const page = await metrics(ctx.applier.httpPort);
  assert.is(value(page, 'knp_applier_lag_events'), 0);
  assert.ok(value(page, 'knp_applier_apply_duration_seconds_count', { backend: 'nftables', mode: 'full' }) >= 1);
  assert.ok(value(page, 'knp_applier_kernel_rules', { backend: 'nftables' }) > 0);
  assert.ok(value(page, 'knp_applier_applied_version_seq') > 0);
});

Ops('a policy change moves the series of all three, down to the implementation delay on the node', async (ctx) => {
  const [w0, c0, a0] = await scrapeAll(ctx);
  ctx.standin.create('NetworkPolicy', denyIngressTo('x', 'a', 'deny-a'));
  await waitFor('the implementation delay observed', async () => value(await metrics(ctx.applier.httpPort), 'knp_policy_implementation_delay_seconds_count') >= 1, 30_000);
  // a policy with a field the compiler rejects, and a pod it skips (a label value no API server accepts)
  ctx.standin.create('NetworkPolicy', denyIngressTo('y', 'b', 'bad-cidr', '10.0.0.0/33'));
  ctx.standin.create('Pod', pod('y', 'c', '10.9.0.3', { app: 'not a label value!' }));
  await waitFor('the rejections counted', async () => value(await metrics(ctx.compiler.httpPort), 'knp_compiler_rejected_policies') >= 1 && value(await metrics(ctx.compiler.httpPort), 'knp_compiler_events_rejected_total') >= 1);
  await waitFor('every service ready again', async () => (await ready(ctx.applier.httpPort)) && (await ready(ctx.compiler.httpPort)) && (await ready(ctx.watcher.httpPort)));
  const [w1, c1, a1] = await scrapeAll(ctx);

  const grew = (before: Map<string, number>, after: Map<string, number>, name: string, labels: Record<string, string> = {}): void =>
    assert.ok(value(after, name, labels) > value(before, name, labels), `${name} ${JSON.stringify(labels)} grew: ${value(before, name, labels)} -> ${value(after, name, labels)}`);
  grew(w0, w1, 'knp_watcher_events_published_total', { kind: 'NetworkPolicy', op: 'added' });
  grew(w0, w1, 'knp_watcher_objects', { kind: 'NetworkPolicy' });
  grew(c0, c1, 'knp_compiler_events_folded_total');
  grew(c0, c1, 'knp_compiler_events_rejected_total', { reason: 'skipped' });
  grew(c0, c1, 'knp_compiler_rule_sets_published_total');
  grew(c0, c1, 'knp_compiler_compile_duration_seconds_count');
  grew(c0, c1, 'knp_compiler_evaluation_duration_seconds_count');
  grew(c0, c1, 'knp_compiler_rejected_policies');
  assert.ok(value(c1, 'knp_compiler_rule_set_bytes', { node: NODE }) > 0);
  assert.is(value(c1, 'knp_compiler_caught_up'), 1);
  grew(a0, a1, 'knp_applier_apply_duration_seconds_count', { backend: 'nftables' });
  grew(a0, a1, 'knp_applier_applied_version_seq');
  grew(a0, a1, 'knp_policy_implementation_delay_seconds_count');
  assert.is(value(a1, 'knp_applier_lag_events'), 0);
  assert.ok(value(a1, 'knp_applier_set_elements', { backend: 'nftables' }) > 0);
  // the delay is measured from the watcher's receive time: seconds at most here, never negative
  const delaySum = value(a1, 'knp_policy_implementation_delay_seconds_sum');
  assert.ok(delaySum > 0 && delaySum < 30, `delay sum ${delaySum}s`);
});

Ops('a compiler whose start waits for NATS is alive and not ready, and ready once NATS comes', async (ctx) => {
  const [natsPort, httpPort] = [await freePort(), await freePort()];
  const config = loadConfig({ KNP_NATS_URL: `nats://127.0.0.1:${natsPort}`, KNP_PREFIX: PREFIX, KNP_HTTP_PORT: String(httpPort) });
  const starting = runCompiler(config, log, { settings: { heartbeatMs: 200 } });
  await waitFor('the endpoints served', async () => (await get(httpPort, '/healthz').catch(() => undefined))?.status === 200);
  const waiting = await get(httpPort, '/readyz');
  assert.is(waiting.status, 503);
  assert.match(waiting.body, /connecting to NATS/);
  const server = await spawnNatsServer(natsPort, join(ctx.dir, 'nats-store'));
  try {
    const init = await connect({ servers: `nats://127.0.0.1:${natsPort}` });
    await ensureStreams(init, PREFIX, DEFAULT_STREAM_SETTINGS);
    await init.close();
    const compiler = await starting;
    assert.is(compiler.httpPort, httpPort);
    await waitFor('the compiler ready', () => ready(httpPort));
    await compiler.stop();
  } finally {
    server.kill('SIGKILL');
  }
});

Ops('stopping a service closes its endpoints', async (ctx) => {
  const port = ctx.watcher.httpPort;
  await ctx.watcher.stop();
  const refused = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => false, () => true);
  assert.ok(refused, 'nothing listens on the port any more');
});

type Page = Map<string, number>;
/** The /metrics pages of the watcher, the compiler and the applier. */
const scrapeAll = async (ctx: Ctx): Promise<[Page, Page, Page]> =>
  Promise.all([metrics(ctx.watcher.httpPort), metrics(ctx.compiler.httpPort), metrics(ctx.applier.httpPort)]);

function writeKubeconfig(ctx: Ctx): string {
  const path = join(ctx.dir, 'kubeconfig');
  ctx.standin.writeKubeconfig(path);
  return path;
}

Ops.run();
