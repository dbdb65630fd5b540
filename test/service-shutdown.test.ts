import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { RestartableNats, Service, freePort, knpInit } from '@knp/sim';

/**
 * SIGTERM ends every service within 10 s whatever state it is in: running, after its NATS server died, and
 * while it is still waiting for NATS at start. Each service is a real `bin/knp` process; the applier
 * programs a network namespace of its own, never this machine's firewall.
 */
type Ctx = { dir: string; netns: string; nats: RestartableNats };
const Shutdown = suite<Ctx>('SIGTERM stops every service within 10 s');
const DEADLINE_MS = 10_000;

Shutdown.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'knp-shutdown-'));
  ctx.netns = `knp-shut-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ctx.netns]);
});
Shutdown.after(async (ctx) => {
  await ctx.nats?.destroy();
  execFileSync('ip', ['netns', 'del', ctx.netns]);
  rmSync(ctx.dir, { recursive: true, force: true });
});

const ROLES = ['watcher', 'compiler', 'applier'] as const;
const PREFIX = `sh${process.pid % 100000}`;
type Role = (typeof ROLES)[number];

function service(ctx: Ctx, role: Role, natsUrl: string, tag: string): Service {
  const env: Record<string, string> = { KNP_NATS_URL: natsUrl, KNP_PREFIX: PREFIX, KNP_LOG_LEVEL: 'info' };
  // the watcher's API server is never reached in these states; the kubeconfig only has to load
  if (role === 'watcher') env.KUBECONFIG = kubeconfig(ctx);
  if (role === 'applier') Object.assign(env, { KNP_NODE_NAME: 'node-1', KNP_NETNS: ctx.netns, KNP_STATE_DIR: join(ctx.dir, 'state'), KNP_BACKEND: 'nftables' });
  return new Service(`${role}-${tag}`, [role], env, join(ctx.dir, 'logs'));
}

function kubeconfig(ctx: Ctx): string {
  const path = join(ctx.dir, 'kubeconfig');
  execFileSync('sh', ['-c', `cat > ${path}`], {
    input: [
      'apiVersion: v1', 'kind: Config', 'current-context: c',
      'clusters: [{name: c, cluster: {server: "http://127.0.0.1:9", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {token: t}}]', 'contexts: [{name: c, context: {cluster: c, user: u}}]', '',
    ].join('\n'),
  });
  return path;
}

/** SIGTERM, then the time until the process has exited (throws past the deadline, after a SIGKILL). */
async function stopTimed(s: Service): Promise<number> {
  assert.ok(s.running, `${s.name} is still running before SIGTERM:\n${s.logTail(15)}`);
  const started = Date.now();
  const stopping = s.stop();
  const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), DEADLINE_MS + 1_000));
  const result = await Promise.race([stopping.then(() => 'done' as const), timer]);
  const took = Date.now() - started;
  if (result === 'late') {
    await s.kill();
    assert.unreachable(`${s.name} was still running ${took} ms after SIGTERM:\n${s.logTail(15)}`);
  }
  assert.ok(took <= DEADLINE_MS, `${s.name} took ${took} ms to exit:\n${s.logTail(15)}`);
  return took;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Shutdown('while NATS is unreachable at start, each service waits for it, and SIGTERM ends the wait', async (ctx) => {
  const nobody = `nats://127.0.0.1:${await freePort()}`;
  const services = ROLES.map((role) => service(ctx, role, nobody, 'no-nats'));
  for (const s of services) s.start();
  await sleep(2_500);
  await Promise.all(services.map((s) => stopTimed(s)));
});

Shutdown('connected but waiting for knp init to make the streams, SIGTERM ends each service', async (ctx) => {
  ctx.nats = await RestartableNats.start();
  const services = ROLES.map((role) => service(ctx, role, ctx.nats.url, 'no-streams'));
  for (const s of services) s.start();
  await sleep(2_500);
  await Promise.all(services.map((s) => stopTimed(s)));
});

Shutdown('running against a live NATS, SIGTERM ends each service', async (ctx) => {
  await knpInit({ KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: PREFIX });
  const services = ROLES.map((role) => service(ctx, role, ctx.nats.url, 'running'));
  for (const s of services) s.start();
  await sleep(3_000);
  await Promise.all(services.map((s) => stopTimed(s)));
});

Shutdown('after its NATS server died, SIGTERM ends each service', async (ctx) => {
  const services = ROLES.map((role) => service(ctx, role, ctx.nats.url, 'nats-died'));
  for (const s of services) s.start();
  await sleep(3_000);
  await ctx.nats.stop();
  await sleep(1_500);
  await Promise.all(services.map((s) => stopTimed(s)));
});

Shutdown.run();
