import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { APPLIER_KEY_PREFIX, applierStatusKey, loadNatsSettings, names, type NatsClientSettings } from '@knp/shared';
import { connectNats, type NatsRole } from '@knp/shared/nats';
import { JSONCodec, type NatsConnection } from 'nats';
import { Service, knp, knpInit, startNatsServer, startStandin, waitSynced, type NatsServer, type Standin } from '@knp/sim';

/**
 * infra/nats/nats.conf as shipped, on a private nats-server: every role is refused outside its grant, and
 * the whole pipeline (knp init, watcher on the API stand-in, compiler, an applier programming nftables in
 * a network namespace, and the operator commands) works inside the grants.
 */

const CONF = fileURLToPath(new URL('../../infra/nats/nats.conf', import.meta.url));
const ROLES: readonly NatsRole[] = ['init', 'watcher', 'compiler', 'applier', 'operator'];
const NODE = 'node-a';
const NETNS = `knproles${process.pid}`;

type Ctx = { dir: string; nats: NatsServer; passwords: Map<NatsRole, string>; standin: Standin; services: Service[]; conns: NatsConnection[] };
const Roles = suite<Ctx>('infra/nats/nats.conf: least privilege per role');

/** The environment of `bin/knp` as `role`: user and password file, as a deployment gives them. */
const envOf = (ctx: Ctx, role: NatsRole): Record<string, string> => ({
  KNP_NATS_URL: ctx.nats.url, KNP_NATS_USER: role, KNP_NATS_PASSWORD_FILE: join(ctx.dir, `${role}.password`), KNP_PREFIX: 'knp', KNP_LOG_LEVEL: 'info', KNP_HEARTBEAT_S: '1',
});

function settingsOf(ctx: Ctx, role: NatsRole): NatsClientSettings {
  const problems: string[] = [];
  const settings = loadNatsSettings(envOf(ctx, role), problems);
  assert.equal(problems, []);
  return settings;
}

async function as(ctx: Ctx, role: NatsRole): Promise<NatsConnection> {
  const nc = await connectNats(settingsOf(ctx, role), role, { timeout: 5_000 });
  ctx.conns.push(nc);
  return nc;
}

Roles.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'knp-roles-'));
  ctx.passwords = new Map(ROLES.map((r) => [r, `k${randomBytes(18).toString('hex')}`]));
  for (const [role, password] of ctx.passwords) writeFileSync(join(ctx.dir, `${role}.password`), `${password}\n`, { mode: 0o600 });
  const env = Object.fromEntries([...ctx.passwords].map(([role, password]) => [`NATS_PASSWORD_${role.toUpperCase()}`, password]));
  ctx.nats = await startNatsServer(['-c', CONF], env);
  ctx.standin = await startStandin();
  ctx.services = [];
  ctx.conns = [];
  execFileSync('ip', ['netns', 'add', NETNS]);
});

Roles.after(async (ctx) => {
  for (const s of ctx.services ?? []) await s.stop();
  for (const nc of ctx.conns ?? []) await nc.close().catch(() => undefined);
  await ctx.standin?.close();
  await ctx.nats?.stop();
  try {
    execFileSync('ip', ['netns', 'del', NETNS], { stdio: 'ignore' });
  } catch {
    // never created
  }
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

/** Resolves to the error of `action`; fails the test when it succeeds. */
async function refused(what: string, action: () => Promise<unknown>): Promise<Error> {
  try {
    await action();
  } catch (err) {
    return err as Error;
  }
  assert.unreachable(`${what} was allowed`);
  throw new Error('unreachable');
}

Roles('knp init creates the streams as the init role, and the init role can do nothing else', async (ctx) => {
  await knpInit(envOf(ctx, 'init'));
  const again = await knp(['init'], envOf(ctx, 'init'));
  assert.is(again.code, 0, `a second init changes nothing and succeeds: ${again.stderr}`);
  const nc = await as(ctx, 'init');
  await refused('init publishing an event', () => nc.jetstream().publish('knp.ev.pod.x.y', new Uint8Array(1), { timeout: 2_000 }));
  const jsm = await nc.jetstreamManager();
  await refused('init deleting the events stream', () => jsm.streams.delete('KNP_EVENTS'));
});

Roles('each service role is refused outside its grant', async (ctx) => {
  const n = names('knp');
  const publishes: Array<[NatsRole, string, string]> = [
    ['applier', n.rulesSubject(NODE), 'an applier publishing rules'],
    ['applier', n.eventSubject('Pod', 'x', 'y'), 'an applier publishing events'],
    ['applier', n.setSubject('pods-x', 'f'.repeat(64)), 'an applier publishing a set content'],
    ['watcher', n.setSubject('pods-x', 'f'.repeat(64)), 'the watcher publishing a set content'],
    ['operator', n.setSubject('pods-x', 'f'.repeat(64)), 'an operator publishing a set content'],
    ['applier', '$KV.KNP_status.watcher', 'an applier writing the watcher\'s status'],
    ['watcher', n.rulesSubject(NODE), 'the watcher publishing rules'],
    ['watcher', `$KV.KNP_status.${applierStatusKey(NODE)}`, 'the watcher writing an applier\'s status'],
    ['compiler', n.eventSubject('Pod', 'x', 'y'), 'a compiler publishing events'],
    ['operator', n.rulesSubject(NODE), 'an operator publishing rules'],
    ['operator', n.eventSubject('Pod', 'x', 'y'), 'an operator publishing events'],
    ['operator', `$KV.KNP_status.${APPLIER_KEY_PREFIX}x`, 'an operator writing status'],
  ];
  for (const [role, subject, what] of publishes) {
    const nc = await as(ctx, role);
    const err = await refused(what, () => nc.jetstream().publish(subject, JSONCodec().encode({ forged: true }), { timeout: 2_000 }));
    assert.match(err.message, /Permissions Violation for Publish/, `${what}: ${err.message}`);
  }
  for (const role of ['watcher', 'compiler', 'applier', 'operator'] as const) {
    const jsm = await (await as(ctx, role)).jetstreamManager();
    for (const [what, action] of [['deleting the rules stream', () => jsm.streams.delete('KNP_RULES')], ['creating a stream', () => jsm.streams.add({ name: 'ROGUE', subjects: ['rogue.>'] })]] as const) {
      const err = await refused(`${role} ${what}`, action);
      assert.match(err.message, /Permissions Violation for Publish to "\$JS\.API\.STREAM\./, `${role} ${what}: ${err.message}`);
    }
  }
  // nothing forged landed: the operator reads both streams
  const jsm = await (await as(ctx, 'operator')).jetstreamManager();
  assert.is((await jsm.streams.info('KNP_EVENTS')).state.messages, 0, 'no forged event stored');
  assert.is((await jsm.streams.info('KNP_RULES')).state.messages, 0, 'no forged rule set stored');
  assert.is((await jsm.streams.info('KNP_SETS')).state.messages, 0, 'no forged set content stored');
  // only compilers sweep the set store
  for (const role of ['watcher', 'applier', 'operator'] as const) {
    const roleJsm = await (await as(ctx, role)).jetstreamManager();
    const err = await refused(`${role} purging the set store`, () => roleJsm.streams.purge('KNP_SETS'));
    assert.match(err.message, /Permissions Violation for Publish to "\$JS\.API\.STREAM\.PURGE/, `${role}: ${err.message}`);
  }
});

Roles('the pipeline works inside the grants: watcher, compiler, an applier in a netns, and the operator commands', async (ctx) => {
  const { standin } = ctx;
  standin.create('Namespace', { metadata: { name: 'prod', labels: {} } });
  standin.create('Pod', {
    metadata: { namespace: 'prod', name: 'web', labels: { app: 'web' } },
    spec: { nodeName: NODE, containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }] },
  });
  standin.create('NetworkPolicy', { metadata: { namespace: 'prod', name: 'web' }, spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] } });
  const kubeconfig = join(ctx.dir, 'kubeconfig');
  standin.writeKubeconfig(kubeconfig);
  const logs = join(ctx.dir, 'logs');
  const start = (name: string, role: NatsRole, extra: Record<string, string>): void => {
    const s = new Service(name, [role], { ...envOf(ctx, role), ...extra }, logs);
    ctx.services.push(s);
    s.start();
  };
  start('watcher', 'watcher', { KUBECONFIG: kubeconfig });
  start('compiler', 'compiler', {});
  start('applier', 'applier', { KNP_NODE_NAME: NODE, KNP_NETNS: NETNS, KNP_BACKEND: 'nftables', KNP_STATE_DIR: join(ctx.dir, 'state') });
  try {
    await waitSynced(envOf(ctx, 'operator'), standin.resourceVersion(), 60);
  } catch (err) {
    for (const s of ctx.services) process.stderr.write(`--- ${s.name}\n${s.logTail(20)}\n`);
    throw err;
  }
  const table = execFileSync('ip', ['netns', 'exec', NETNS, 'nft', 'list', 'table', 'inet', 'knp'], { encoding: 'utf8' });
  assert.match(table, /10\.0\.0\.5/, 'the applier programmed the pod into its netns');

  const status = await knp(['status', '--json'], envOf(ctx, 'operator'));
  assert.is(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as { nodes: Array<{ node: string; inSync: boolean }> };
  assert.ok(report.nodes.some((r) => r.node === NODE && r.inSync), status.stdout);
  const replay = await knp(['replay', '--node', NODE], envOf(ctx, 'operator'));
  assert.is(replay.code, 0, replay.stderr);
  const explain = await knp(['explain', '--all-pairs', '--port', '80/TCP'], envOf(ctx, 'operator'));
  assert.is(explain.code, 0, `explain as the operator: ${explain.stderr}`);
  const history = await knp(['history', '--node', NODE], envOf(ctx, 'operator'));
  assert.is(history.code, 0, `history as the operator: ${history.stderr}`);

  // no password reached a log or the status output
  const text = [status.stdout, status.stderr, replay.stderr, explain.stdout, explain.stderr, history.stdout, history.stderr, ...ctx.services.map((s) => readFileSync(s.logPath, 'utf8'))].join('\n');
  for (const [role, password] of ctx.passwords) assert.not.ok(text.includes(password), `${role}'s password leaked`);
});

Roles.run();
