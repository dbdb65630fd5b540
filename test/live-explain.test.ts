import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENT_SCHEMA, type ClusterEvent, type ObjectKind } from '@knp/shared';
import { DEFAULT_STREAM_SETTINGS, ensureStreams } from '@knp/shared/nats';
import { connect, type NatsConnection } from 'nats';
import { knp, startNatsServer, type NatsServer } from '@knp/sim';
import { namespace, pod, policy, suite } from '@knp/testing';
import { publishEvents } from '@knp/testing/history';

/**
 * `knp explain` without --manifests and `knp history` read the events stream: the verdict and the rule sets
 * as of now, of a past sequence or of a past wall-clock time, recomputed from the events alone.
 */
type Ctx = { server: NatsServer; nc: NatsConnection; env: Record<string, string>; seqs: { pods: number; denied: number; lifted: number }; times: { denied: number; lifted: number } };
const Live = suite<Ctx>('knp explain and knp history from the stream');
const PREFIX = 'live';

let uidCounter = 0;
function wire(op: 'added' | 'deleted', object: { kind: string; metadata: { name: string; namespace?: string; uid?: string } }): ClusterEvent {
  const kind = object.kind as ObjectKind;
  object.metadata.uid ??= `uid-${++uidCounter}`;
  return {
    schema: EVENT_SCHEMA, op, kind, uid: object.metadata.uid, name: object.metadata.name,
    ...(kind === 'Namespace' ? {} : { namespace: object.metadata.namespace! }),
    resourceVersion: String(++uidCounter), object,
  } as ClusterEvent;
}

Live.before(async (ctx) => {
  ctx.server = await startNatsServer();
  ctx.nc = await connect({ servers: ctx.server.url });
  await ensureStreams(ctx.nc, PREFIX, DEFAULT_STREAM_SETTINGS);
  ctx.env = { KNP_NATS_URL: ctx.server.url, KNP_PREFIX: PREFIX };
  const deny = policy('x', 'deny-a', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'] });
  const base = [namespace('x'), namespace('y'), pod({ ns: 'x', name: 'a', labels: { pod: 'a' }, ip: '10.0.0.1', node: 'node-1' }), pod({ ns: 'y', name: 'b', labels: { pod: 'b' }, ip: '10.0.0.2', node: 'node-2' })];
  const pods = await publishEvents(ctx.nc, PREFIX, base.map((o) => wire('added', o)));
  await sleep(1_100); // stream timestamps one second apart, so --at can name a moment between them
  const denied = await publishEvents(ctx.nc, PREFIX, [wire('added', deny)]);
  const deniedAt = Date.now();
  await sleep(1_100);
  const lifted = await publishEvents(ctx.nc, PREFIX, [wire('deleted', deny)]);
  ctx.seqs = { pods: pods.at(-1)!, denied: denied[0]!, lifted: lifted[0]! };
  ctx.times = { denied: deniedAt, lifted: Date.now() };
});
Live.after(async (ctx) => {
  await ctx.nc?.close();
  await ctx.server?.stop();
});

const explainArgs = ['explain', '--from', 'y/b', '--to', 'x/a', '--port', '80/TCP'];
const verdict = (stdout: string): string => /: (ALLOWED|DENIED)/.exec(stdout)?.[1] ?? stdout;

Live('as of now, the deny policy has been deleted: allowed', async (ctx) => {
  const r = await knp(explainArgs, ctx.env);
  assert.is(r.code, 0, r.stderr);
  assert.is(verdict(r.stdout), 'ALLOWED');
  assert.match(r.stderr, `as of events stream sequence ${ctx.seqs.lifted}`);
});

Live('at the sequence of the deny policy: denied, naming the policy that isolates', async (ctx) => {
  const r = await knp([...explainArgs, '--at-seq', String(ctx.seqs.denied)], ctx.env);
  assert.is(r.code, 0, r.stderr);
  assert.is(verdict(r.stdout), 'DENIED');
  assert.match(r.stdout, 'isolated by x/deny-a');
  assert.is(verdict((await knp([...explainArgs, '--at-seq', String(ctx.seqs.pods)], ctx.env)).stdout), 'ALLOWED');
});

Live('at a wall-clock time while the policy was in force: denied', async (ctx) => {
  const r = await knp([...explainArgs, '--at', new Date(ctx.times.denied + 300).toISOString()], ctx.env);
  assert.is(r.code, 0, r.stderr);
  assert.is(verdict(r.stdout), 'DENIED');
  assert.match(r.stderr, `as of events stream sequence ${ctx.seqs.denied}`);
  const matrix = await knp(['explain', '--all-pairs', '--port', '80', '--json', '--at-seq', String(ctx.seqs.denied)], ctx.env);
  assert.equal(JSON.parse(matrix.stdout), { pods: ["x/a", "y/b"], port: 80, protocol: "TCP", allowed: [[false, true], [false, true]] }, "x/a admits no ingress, itself included");
});

Live('bad moments exit 2 with one line', async (ctx) => {
  for (const args of [['--at-seq', '999999'], ['--at', 'yesterday'], ['--at-seq', '3', '--at', '15m'], ['--at', '2001-01-01T00:00:00Z']]) {
    const r = await knp([...explainArgs, ...args], ctx.env);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.not.match(r.stderr, /^\s+at /m);
  }
});

Live('knp history --node lists each version of the node with what changed', async (ctx) => {
  const r = await knp(['history', '--node', 'node-1', '--json'], ctx.env);
  assert.is(r.code, 0, r.stderr);
  const versions = JSON.parse(r.stdout).versions as { seq: number; diff: { policies: { added: string[]; removed: string[] }; pods: { added: string[] } } }[];
  assert.equal(versions.map((v) => v.seq), [ctx.seqs.pods - 1, ctx.seqs.denied, ctx.seqs.lifted]);
  assert.equal(versions[1]!.diff.policies.added, ['x/deny-a']);
  assert.equal(versions[2]!.diff.policies.removed, ['x/deny-a']);
  const text = await knp(['history', '--node', 'node-1', '--since', new Date(ctx.times.denied - 500).toISOString()], ctx.env);
  assert.match(text.stdout, '+ policy x/deny-a');
  assert.match(text.stdout, '- policy x/deny-a');
  assert.not.match(text.stdout, `seq ${ctx.seqs.pods - 1} `);
});

Live('knp history --at gives every node\'s desired version at that time', async (ctx) => {
  const r = await knp(['history', '--at', new Date(ctx.times.denied + 300).toISOString(), '--json'], ctx.env);
  assert.is(r.code, 0, r.stderr);
  const nodes = JSON.parse(r.stdout).nodes as { node: string; desired?: { seq: number } }[];
  assert.equal(nodes.map((n) => [n.node, n.desired?.seq]), [['node-1', ctx.seqs.denied], ['node-2', ctx.seqs.pods]]);
});

Live.run();
