import { createPrivateKey } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addressSetHash, canonicalJson, generateSigningKeyPair, keyIdOf, makeRuleSet, names, signingKeyFrom, NODE_SUBJECT_MESSAGES,
  type AddressSet, type RuleSet, type Trust,
} from '@knp/shared';
import {
  DEFAULT_STREAM_SETTINGS, NodeWriter, SetCache, readNodeHead, ruleSetMsgHeaders, rulesStreamConfig, setsStreamConfig, type NodeTransport,
} from '@knp/shared/nats';
import { startNatsServer, type NatsServer } from '@knp/sim';
import { connect, type NatsConnection } from 'nats';

/**
 * The node transport on a real server: a writer's FULLs and DELTAs with sets in the content-addressed
 * store, read back by fresh readers; two writers racing; a forged message on the subject; a restarted
 * writer building on what is there; whole rule sets of before (schema 1) as a base.
 */
type Ctx = { nats: NatsServer; nc: NatsConnection };
const T = suite<Ctx>('node transport: deltas, set store, reconstruction, racing writers');
const EPOCH = '2026-12-04T00:00:00Z';
const key = signingKeyFrom(createPrivateKey(generateSigningKeyPair().privatePem));
const trust: Trust = { mode: 'signed', keys: new Map([[keyIdOf(key.publicKey), key.publicKey]]) };
let prefixes = 0;

T.before(async (ctx) => {
  ctx.nats = await startNatsServer();
  ctx.nc = await connect({ servers: ctx.nats.url });
});
T.after(async (ctx) => {
  await ctx.nc?.close();
  await ctx.nats?.stop();
});

async function transport(ctx: Ctx, prefix = `tr${++prefixes}`): Promise<NodeTransport> {
  const jsm = await ctx.nc.jetstreamManager();
  const settings = { ...DEFAULT_STREAM_SETTINGS, rulesPerNode: NODE_SUBJECT_MESSAGES };
  await jsm.streams.add(rulesStreamConfig(prefix, settings));
  await jsm.streams.add(setsStreamConfig(prefix, settings));
  return { js: ctx.nc.jetstream(), jsm, prefix, maxPayload: ctx.nc.info!.max_payload, trust, signer: key };
}

/** Version `seq` of a node with a big shared set: pods join and leave it one at a time. */
function version(seq: number, node = 'node-1'): RuleSet {
  const ips = Array.from({ length: 3000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.${1 + (i % 7)}`).filter((_, i) => (i + seq) % 97 !== 0).sort();
  const sets: AddressSet[] = [
    { kind: 'pods', id: 'pbig', selector: 'everyone', ips },
    { kind: 'pods', id: 'psmall', selector: 'app=web', ips: [`10.9.0.${1 + (seq % 5)}`] },
  ];
  const dir = { isolated: true, policies: ['ns/p'], rules: ['r1'] };
  return makeRuleSet({
    node, sets,
    // 40 pods and 20 rules that stay: what a DELTA does not carry again
    pods: Array.from({ length: 40 }, (_, i) => ({ uid: `u${i}`, pod: `ns/a${i}`, ips: [`10.8.0.${i + 1}`], ingress: dir, egress: { ...dir, isolated: i === 0 && seq % 2 === 0 } })),
    rules: Array.from({ length: 20 }, (_, i) => ({
      id: `r${String(i).padStart(2, '0')}`, direction: 'ingress' as const, terms: [{ kind: 'peers' as const, peers: ['pbig', 'psmall'], ports: [{ protocol: 'TCP' as const, port: 8000 + i }] }], origins: [{ policy: `ns/p${i}`, rule: 0 }],
    })),
  }, { epoch: EPOCH, seq });
}

const same = (a: RuleSet | undefined, b: RuleSet): void => assert.is(canonicalJson(a), canonicalJson(b));

T('a writer publishes a FULL then DELTAs; a fresh reader rebuilds the newest version from the subject and the store', async (ctx) => {
  const t = await transport(ctx);
  const writer = new NodeWriter(t);
  const kinds: string[] = [];
  let deltaBytes = 0;
  for (let seq = 1; seq <= 20; seq++) {
    const out = await writer.publish(version(seq));
    kinds.push(out.kind ?? out.decision);
    await writer.publish(version(seq + 100, 'node-2')); // interleaved: each reader reads its own subject only
    if (out.kind === 'delta') deltaBytes = Math.max(deltaBytes, out.bytes ?? 0);
  }
  assert.equal(kinds, ['full', ...Array<string>(19).fill('delta')]);
  assert.ok(deltaBytes < 2000, `a delta travels without the 3,000 members (${deltaBytes} bytes)`);
  const read = await readNodeHead(t, 'node-1');
  same(read.head?.ruleSet, version(20));
  assert.is(read.head?.sinceFull, 19);
  assert.equal(read.refused, []);
  assert.is(read.skipped, 0);
  same((await readNodeHead(t, 'node-2')).head?.ruleSet, version(120, 'node-2'));
  // compaction: a FULL of the head itself; readers then start there, the next publish is a DELTA on it
  assert.not.ok(await writer.compact('node-1', 64), 'not due');
  assert.ok(await writer.compact('node-1', 16));
  const compacted = await readNodeHead(t, 'node-1');
  same(compacted.head?.ruleSet, version(20));
  assert.is(compacted.head?.sinceFull, 0);
  assert.is((await writer.publish(version(21))).kind, 'delta');
  // the set store holds each content once; later contents of the big set are member deltas
  const info = await t.jsm.streams.info(names(t.prefix).setsStream);
  assert.ok(info.state.messages <= 2 * 40 + 2, `${info.state.messages} set contents`);
  assert.ok(info.state.bytes < 200_000, `set store ${info.state.bytes} bytes: deltas, not 20 copies of 3,000 addresses`);
  // set compaction: the newest content of a long member-delta chain is stored whole, under the same subject
  const big = version(120, 'node-2').sets.find((x) => x.id === 'pbig')!; // the newest content of pbig stored
  const stored = async () => JSON.parse(Buffer.from((await t.jsm.streams.getMessage(names(t.prefix).setsStream, { last_by_subj: names(t.prefix).setSubject('pbig', addressSetHash(big)) })).data).toString()) as { kind: string };
  assert.is((await stored()).kind, 'set-delta');
  assert.ok((await writer.compactSets()) >= 1);
  assert.is((await stored()).kind, 'set');
  same((await readNodeHead(t, 'node-2', new SetCache())).head?.ruleSet, version(120, 'node-2'));
});

T('the same content is adopted, an older version is behind, a restarted writer builds a DELTA on what is there, a new epoch publishes', async (ctx) => {
  const t = await transport(ctx);
  await new NodeWriter(t).publish(version(5));
  const restarted = new NodeWriter(t);
  assert.is((await restarted.publish({ ...version(5), version: { epoch: EPOCH, seq: 9 } })).decision, 'adopt');
  assert.is((await restarted.publish(version(4))).decision, 'behind');
  assert.is((await restarted.publish(version(6))).kind, 'delta');
  same((await readNodeHead(t, 'node-1')).head?.ruleSet, version(6));
  // a recreated events stream (a later epoch): the same content is published again under the new version
  const later: RuleSet = { ...version(6), version: { epoch: '2026-12-05T00:00:00Z', seq: 1 } };
  assert.is((await restarted.publish(later)).decision, 'publish');
  same((await readNodeHead(t, 'node-1')).head?.ruleSet, later);
});

T('two writers racing: the loser re-reads and builds on what won; the chain never forks', async (ctx) => {
  const t = await transport(ctx);
  const a = new NodeWriter(t), b = new NodeWriter(t);
  await a.publish(version(1));
  await b.publish(version(2)); // b reads a's FULL and builds on it
  for (let seq = 3; seq <= 15; seq += 2) await Promise.all([a.publish(version(seq)), b.publish(version(seq + 1))]);
  const read = await readNodeHead(t, 'node-1', new SetCache());
  same(read.head?.ruleSet, version(16));
  assert.equal(read.refused, []);
  assert.is(read.skipped, 0, 'every message builds on the one before it');
});

T('a forged message on the subject is refused by readers and written over; the chain continues', async (ctx) => {
  const t = await transport(ctx);
  const writer = new NodeWriter(t);
  await writer.publish(version(1));
  const subject = names(t.prefix).rulesSubject('node-1');
  const forged = { ...version(2), sets: [{ kind: 'pods', id: 'pbig', selector: 'everyone', ips: ['0.0.0.0'] }] };
  await t.js.publish(subject, Buffer.from(JSON.stringify(forged)));
  const read = await readNodeHead(t, 'node-1');
  same(read.head?.ruleSet, version(1));
  assert.equal(read.refused.map((r) => r.reason), ['unsigned']);
  // the writer's cached subject sequence is stale: it re-reads, skips the forgery and builds on version 1
  const out = await writer.publish(version(3));
  assert.is(out.decision, 'publish');
  same((await readNodeHead(t, 'node-1')).head?.ruleSet, version(3));
});

T('a whole rule set of before (schema 1) is a base the writer and readers build on', async (ctx) => {
  const t = await transport(ctx);
  const legacy = version(1);
  await t.js.publish(names(t.prefix).rulesSubject('node-1'), Buffer.from(JSON.stringify(legacy)), { headers: ruleSetMsgHeaders(key, legacy) });
  const out = await new NodeWriter(t).publish(version(2));
  assert.is(out.kind, 'delta');
  same((await readNodeHead(t, 'node-1')).head?.ruleSet, version(2));
});

T.run();
