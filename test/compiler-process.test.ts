import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { REJECTIONS_KEY, createLogger, loadConfig, names, type CompilerStatus, type RuleSet } from '@knp/shared';
import { DEFAULT_STREAM_SETTINGS, ensureStreams, kvKeys } from '@knp/shared/nats';
import { runCompiler } from '@knp/compiler/service';
import { connect, type JetStreamManager, type KV, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '@knp/sim';
import { waitFor, suite } from '@knp/testing';
import { NODES, contentOf, expectedContents, history, lastPublished, publishEvents, readRulesHistory } from '@knp/testing/history';

type Ctx = { nats: NatsServer; nc: NatsConnection; jsm: JetStreamManager; children: ChildProcess[] };
const Process = suite<Ctx>('bin/knp compiler and bin/knp replay as processes');
const KNP = fileURLToPath(new URL('../../bin/knp', import.meta.url));
const PREFIX = 'proc';
const log = createLogger('compiler-process-test', process.env.KNP_TEST_LOG ?? 'silent');

Process.before(async (ctx) => {
  ctx.nats = await startNatsServer();
  ctx.nc = await connect({ servers: ctx.nats.url });
  ctx.jsm = await ctx.nc.jetstreamManager();
  ctx.children = [];
});
Process.after(async (ctx) => {
  for (const c of ctx.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await ctx.nc?.close();
  await ctx.nats?.stop();
});

const env = (ctx: Ctx, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env, KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: PREFIX, KNP_LOG_LEVEL: process.env.KNP_TEST_LOG ?? 'error', ...extra,
});

function startCompiler(ctx: Ctx): ChildProcess {
  const child = spawn(KNP, ['compiler'], { env: env(ctx, { KNP_SNAPSHOT_EVENTS: '40', KNP_HEARTBEAT_S: '1' }), stdio: ['ignore', 'inherit', 'inherit'] });
  ctx.children.push(child);
  return child;
}

/** The compilers' status records (keys read with `kvKeys`, as `knp status` reads them). */
async function statuses(jsm: JetStreamManager, kv: KV): Promise<CompilerStatus[]> {
  const out: CompilerStatus[] = [];
  for (const key of await kvKeys(jsm, names(PREFIX).statusBucket, 'compiler.*')) {
    if (key === REJECTIONS_KEY) continue;
    const s = (await kv.get(key))?.json<CompilerStatus>();
    if (s) out.push(s);
  }
  return out;
}

/** Waits until a compiler instance (other than those in `not`) has evaluated everything up to `seq`. */
const evaluatedTo = (ctx: Ctx, kv: KV, seq: number, not: readonly string[] = []): Promise<CompilerStatus> =>
  waitFor(`a compiler evaluated up to ${seq}`, async () => (await statuses(ctx.jsm, kv)).find((s) => s.caughtUp && s.evaluatedSeq >= seq && !not.includes(s.instance)));

function run(ctx: Ctx, args: readonly string[], extra: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(KNP, [...args], { env: env(ctx, extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

Process('kill -9 mid-stream and a restart from the snapshot end with the rule sets of an uninterrupted replay; knp replay --to-seq S prints what was published at S', async (ctx) => {
  const { epoch } = await ensureStreams(ctx.nc, PREFIX, DEFAULT_STREAM_SETTINGS);
  const kv = await ctx.nc.jetstream().views.kv(names(PREFIX).statusBucket);
  const events = history({ seed: 21, churn: 150 });
  const third = Math.floor(events.length / 3);
  const seqs = await publishEvents(ctx.nc, PREFIX, events.slice(0, third));

  const first = startCompiler(ctx);
  const before = await evaluatedTo(ctx, kv, seqs[seqs.length - 1]!);
  // more events arrive while it follows; it dies without warning in the middle of them
  const arriving = publishEvents(ctx.nc, PREFIX, events.slice(third, 2 * third));
  // (its status record says so once a snapshot is stored: the kill must leave one behind to restart from)
  await waitFor('the compiler to follow a few new events and store a snapshot', async () =>
    (await statuses(ctx.jsm, kv)).some((s) => s.instance === before.instance && s.lastSeq > seqs[seqs.length - 1]! + 10 && s.lastSnapshotSeq > 0));
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  seqs.push(...(await arriving));

  startCompiler(ctx);
  seqs.push(...(await publishEvents(ctx.nc, PREFIX, events.slice(2 * third))));
  const after = await evaluatedTo(ctx, kv, seqs[seqs.length - 1]!, [before.instance]);
  assert.ok(after.startedFromSeq > 0, `the restart used a snapshot (started from ${after.startedFromSeq})`);

  // same content as the pure core computes from the whole stream
  const published = await lastPublished(ctx.jsm, PREFIX);
  const expected = expectedContents(epoch, events.map((e, i) => ({ ...e, seq: seqs[i]! })));
  for (const node of NODES) assert.is(contentOf(published.get(node)!), expected.get(node), node);
  // and an uninterrupted replay from the start agrees byte for byte, publishing nothing
  const reference = await runCompiler(loadConfig({ KNP_NATS_URL: ctx.nats.url, KNP_PREFIX: PREFIX }), log, { nc: ctx.nc, ignoreSnapshots: true });
  await reference.caughtUp();
  const held = Object.fromEntries([...reference.ruleSets()].map(([n, rs]) => [n, JSON.stringify(rs)]));
  await reference.stop();
  assert.equal(held, Object.fromEntries([...published].map(([n, rs]) => [n, JSON.stringify(rs)])));
  assert.is(reference.status().published, 0);

  // every version still on the rules stream is what `knp replay --to-seq <its seq>` prints
  const history_ = await readRulesHistory(ctx.jsm, PREFIX);
  const samples = [...history_.values()].flatMap((list) => list.slice(-2));
  assert.ok(samples.length >= 4);
  for (const { ruleSet } of samples) {
    const out = await run(ctx, ['replay', '--node', ruleSet.node, '--to-seq', String(ruleSet.version.seq)]);
    assert.is(out.code, 0, out.stderr);
    assert.is(JSON.stringify(JSON.parse(out.stdout)), JSON.stringify(ruleSet), `${ruleSet.node} at ${ruleSet.version.seq}`);
  }
  const latest = published.get(NODES[0])!;
  const fromStart = await run(ctx, ['replay', '--node', NODES[0], '--from-start']);
  assert.equal(JSON.parse(fromStart.stdout) as RuleSet, latest, 'from the start, as of now');
  if (existsSync(fileURLToPath(new URL('../../packages/node-applier/dist/src/renderers.js', import.meta.url)))) {
    const nft = await run(ctx, ['replay', '--node', NODES[0], '--format', 'nft']);
    assert.is(nft.code, 0, nft.stderr);
    assert.match(nft.stdout, new RegExp(`table inet ${PREFIX}`));
  }
});

Process('knp replay refuses what it cannot do with exit code 2', async (ctx) => {
  const cases: Array<[what: string, args: string[], extra: Record<string, string>, stderr: RegExp]> = [
    ['no --node', ['replay'], {}, /--node is required/],
    ['a sequence past the stream', ['replay', '--node', 'node-a', '--to-seq', '999999'], {}, /past the stream's last sequence/],
    ['a bad sequence', ['replay', '--node', 'node-a', '--to-seq', '-3'], {}, /--to-seq/],
    ['an unknown format', ['replay', '--node', 'node-a', '--format', 'pf'], {}, /--format "pf"/],
  ];
  for (const [what, args, extra, stderr] of cases) {
    const out = await run(ctx, args, extra);
    assert.is(out.code, 2, `${what}: ${out.stderr}`);
    assert.match(out.stderr, stderr, what);
  }
});

Process('knp replay --apply loads the replayed rule set into a node through the applier core, nftables and iptables', async (ctx) => {
  const ns = `knpr${process.pid % 100_000}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const inNs = (cmd: string, ...args: string[]): string => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });
  try {
    const nft = await run(ctx, ['replay', '--node', NODES[0], '--apply'], { KNP_NETNS: ns });
    assert.is(nft.code, 0, nft.stderr);
    assert.match(nft.stdout, /: applied version \d+ hash [0-9a-f]{64} \(nftables\)/);
    assert.match(inNs('nft', 'list', 'table', 'inet', PREFIX), /hook forward/);

    const ipt = await run(ctx, ['replay', '--node', NODES[0], '--apply'], { KNP_NETNS: ns, KNP_BACKEND: 'iptables' });
    assert.is(ipt.code, 0, ipt.stderr);
    assert.match(ipt.stdout, /: applied version \d+ hash [0-9a-f]{64} \(iptables\)/);
    assert.match(inNs('iptables-save'), new RegExp(`-A FORWARD -j ${PREFIX.toUpperCase()}-FW-`));
    assert.ok(inNs('ipset', 'list', '-n').split('\n').some((n) => n.startsWith(`${PREFIX}-`)), 'its address sets are loaded');
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});

Process.run();
