import { createPrivateKey } from 'node:crypto';
import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import {
  addressSetHash, canonicalJson, encodeManifest, generateSigningKeyPair, pointerText, MANIFEST_SET_ID, keyIdOf, makeRuleSet, names, signingKeyFrom, NODE_SUBJECT_MESSAGES,
  type AddressSet, type RuleSet, type Trust,
} from '@knp/shared';
import {
  DEFAULT_STREAM_SETTINGS, FULL_SEQ_HEADER, NodeWriter, SetCache, readNodeHead, ruleSetMsgHeaders, rulesStreamConfig, setsStreamConfig, sweepSets, type NodeTransport,
} from '@knp/shared/nats';
import { startNatsServer, type NatsServer } from '@knp/sim';
import { connect, headers, type NatsConnection } from 'nats';

/**
 * The node transport on a real server: a writer's FULLs and DELTAs with sets in the content-addressed
 * store, read back by fresh readers; two writers racing; a forged message on the subject; a restarted
 * writer building on what is there; whole rule sets of before (schema 1) as a base; sweeping the set store.
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
  const afterCompaction = await writer.publish(version(21));
  assert.is(afterCompaction.kind, 'delta');
  // the delta names where its chain starts: a reader reads from the compacted FULL, not from the first message
  const last = await t.jsm.streams.getMessage(names(t.prefix).rulesStream, { last_by_subj: names(t.prefix).rulesSubject('node-1') });
  assert.is(Number(last.header.get(FULL_SEQ_HEADER)), compacted.subjectSeq, 'the hint is the FULL\'s sequence');
  const hinted = await readNodeHead(t, 'node-1', new SetCache());
  same(hinted.head?.ruleSet, version(21));
  assert.is(hinted.fullSeq, compacted.subjectSeq);
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

T('a reader starts at the FULL a DELTA names: messages before it are not read', async (ctx) => {
  const t = await transport(ctx);
  // an unsigned message first: a reader that reads the whole subject reports it as refused
  await t.js.publish(names(t.prefix).rulesSubject('node-1'), Buffer.from('{"forged":true}'));
  const writer = new NodeWriter(t);
  assert.is((await writer.publish(version(1))).kind, 'full');
  assert.is((await writer.publish(version(2))).kind, 'delta');
  const read = await readNodeHead(t, 'node-1', new SetCache());
  same(read.head?.ruleSet, version(2));
  assert.equal(read.refused, [], 'the forgery before the FULL was not read');
});

T('a content stored again after the trust period never becomes a member delta on its own descendant', async (ctx) => {
  // C0 whole, C1 a delta on C0, then C0 again once trust in its store ran out: as a delta on C1 it would
  // close a loop (C0 -> C1 -> C0) no reader resolves; stored whole instead
  const t = await transport(ctx);
  let clock = 1_000_000;
  const writer = new NodeWriter(t, new SetCache(), { now: () => clock });
  await writer.publish(version(1));
  clock += 4 * 60_000;
  await writer.publish(version(2));
  clock += 2 * 60_000;
  assert.is(addressSetHash(version(98).sets[0]!), addressSetHash(version(1).sets[0]!), 'the big set is back to its first content');
  await writer.publish(version(98));
  const fresh = await readNodeHead(t, 'node-1', new SetCache());
  same(fresh.head?.ruleSet, version(98));
  const c0 = JSON.parse(Buffer.from((await t.jsm.streams.getMessage(names(t.prefix).setsStream, { last_by_subj: names(t.prefix).setSubject('pbig', addressSetHash(version(1).sets[0]!)) })).data).toString()) as { kind: string };
  assert.is(c0.kind, 'set', 'the content stored again is whole');
});

T('a forged chunk manifest on the subject is refused, and neither readers nor the writer stop at it', async (ctx) => {
  const t = await transport(ctx);
  const writer = new NodeWriter(t);
  await writer.publish(version(1));
  const h = headers();
  for (const [k, v] of [['Knp-Chunk-Count', '1'], ['Knp-Chunk-Seqs', '999999'], ['Knp-Chunk-Size', '10'], ['Knp-Chunk-Sha256', '00']]) h.set(k!, v!);
  await t.js.publish(names(t.prefix).rulesSubject('node-1'), new Uint8Array(), { headers: h });
  const read = await readNodeHead(t, 'node-1', new SetCache());
  same(read.head?.ruleSet, version(1));
  assert.equal(read.refused.map((r) => r.reason), ['malformed']);
  assert.is((await writer.publish(version(2))).decision, 'publish');
  same((await readNodeHead(t, 'node-1', new SetCache())).head?.ruleSet, version(2));
});

T('a head whose set contents are gone from the store is published over with a FULL and its sets stored again', async (ctx) => {
  const t = await transport(ctx);
  await new NodeWriter(t).publish(version(1));
  await t.jsm.streams.purge(names(t.prefix).setsStream); // lost by hand: no reader can rebuild version 1
  const restarted = new NodeWriter(t);
  const out = await restarted.publish(version(2));
  assert.equal([out.decision, out.kind], ['publish', 'full']);
  same((await readNodeHead(t, 'node-1', new SetCache())).head?.ruleSet, version(2));
});

T('a set content past the max payload travels in parts and is read back whole', async (ctx) => {
  // a writer told a small max payload: the 3,000-address set (about 50 KiB) goes into the store in parts
  const t = { ...(await transport(ctx)), maxPayload: 16 * 1024 };
  await new NodeWriter(t).publish(version(1));
  const stored = await t.jsm.streams.info(names(t.prefix).setsStream, { subjects_filter: '>' });
  assert.ok(Object.keys(stored.state.subjects ?? {}).some((s) => s.includes('~')), 'the big set was stored in parts');
  same((await readNodeHead(t, 'node-1', new SetCache())).head?.ruleSet, version(1));
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

/** The contents the store holds, as `<set id>:<kind>` sorted (a content per subject). */
async function storeContents(t: NodeTransport): Promise<string[]> {
  const n = names(t.prefix);
  const info = await t.jsm.streams.info(n.setsStream, { subjects_filter: n.setsSubjects });
  const out: string[] = [];
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const m = await t.jsm.streams.getMessage(n.setsStream, { last_by_subj: subject });
    const c = JSON.parse(Buffer.from(m.data).toString()) as { kind: string; id?: string; set?: { id: string } };
    out.push(`${c.id ?? c.set?.id}:${c.kind}`);
  }
  return out.sort();
}

const HOUR = 3_600_000;
const purgeNode = async (t: NodeTransport, node: string): Promise<void> => {
  const n = names(t.prefix);
  await t.jsm.streams.purge(n.rulesStream, { filter: n.rulesSubject(node) });
};

T('a sweep purges old contents no retained message names, and keeps the named ones and the bases of kept deltas', async (ctx) => {
  const t = await transport(ctx);
  const writer = new NodeWriter(t);
  // pbig: P1 whole, P2..P4 member deltas each on the one before (the writer's newest content of the set);
  // psmall: a whole content per version. node-2's only message (a FULL of version 4) names P4 and S4.
  for (let seq = 1; seq <= 3; seq++) await writer.publish(version(seq));
  await writer.publish(version(4, 'node-2'));
  assert.equal(await storeContents(t), ['pbig:set', 'pbig:set-delta', 'pbig:set-delta', 'pbig:set-delta', 'psmall:set', 'psmall:set', 'psmall:set', 'psmall:set']);
  // everything named by a retained message: nothing goes, however old
  assert.equal(await sweepSets(t, { graceMs: 1000, now: Date.now() + HOUR }), { kept: 8, purged: 0 });
  // node-1 gone: S1..S3 are named by nothing; P1..P3 neither, but P4 (named) is a delta on P3 on P2 on P1.
  // An unsigned FULL naming S1..S3 and a payload that is not JSON name nothing, and do not stop the sweep.
  const n = names(t.prefix);
  const forged = { schema: 2, kind: 'full', node: 'node-5', version: { epoch: EPOCH, seq: 1 }, contentHash: 'a'.repeat(64), pods: [], rules: [], sets: [1, 2, 3].map((seq) => version(seq).sets[1]!).map((s) => ({ id: s.id, hash: addressSetHash(s) })) };
  await t.js.publish(n.rulesSubject('node-5'), Buffer.from(JSON.stringify(forged)));
  await t.js.publish(n.rulesSubject('node-6'), Buffer.from('{"schema":2, not json'));
  await purgeNode(t, 'node-1');
  assert.equal(await sweepSets(t, { graceMs: 1000, now: Date.now() + HOUR }), { kept: 5, purged: 3 });
  assert.equal(await storeContents(t), ['pbig:set', 'pbig:set-delta', 'pbig:set-delta', 'pbig:set-delta', 'psmall:set']);
  same((await readNodeHead(t, 'node-2', new SetCache())).head?.ruleSet, version(4, 'node-2'));
  // a second sweep (or another compiler's at once) finds nothing more to do
  const again = await Promise.all([sweepSets(t, { graceMs: 1000, now: Date.now() + HOUR }), sweepSets(t, { graceMs: 1000, now: Date.now() + HOUR })]);
  assert.equal(again, [{ kept: 5, purged: 0 }, { kept: 5, purged: 0 }]);
  same((await readNodeHead(t, 'node-2', new SetCache())).head?.ruleSet, version(4, 'node-2'));
});

T('a sweep keeps contents younger than the grace: a writer may be about to name them', async (ctx) => {
  const t = await transport(ctx);
  await new NodeWriter(t).publish(version(1));
  await purgeNode(t, 'node-1');
  assert.equal(await sweepSets(t, { graceMs: 60_000 }), { kept: 2, purged: 0 });
  assert.equal(await sweepSets(t, { graceMs: 60_000, now: Date.now() + 61_000 }), { kept: 0, purged: 2 });
  assert.equal(await storeContents(t), []);
});

T('after its trust period a writer stores a content again rather than naming it, and stores a new one whole rather than on a swept base', async (ctx) => {
  const t = await transport(ctx);
  let clock = Date.now();
  const writer = new NodeWriter(t, new SetCache(), { storeTrustMs: 30_000, now: () => clock });
  await writer.publish(version(1)); // P1, S1
  await purgeNode(t, 'node-1'); // the node went away: P1 and S1 are named by nothing
  assert.equal(await sweepSets(t, { graceMs: 60_000, now: Date.now() + HOUR }), { kept: 0, purged: 2 });
  clock += 30_000;
  // P2: a delta on P1 would be unreadable now; stored whole
  await writer.publish(version(2, 'node-3'));
  same((await readNodeHead(t, 'node-3', new SetCache())).head?.ruleSet, version(2, 'node-3'));
  // P1 and S1 again: stored again (a new message on the same subject; P1 as a delta on P2), so readers find them
  await writer.publish(version(1, 'node-2'));
  same((await readNodeHead(t, 'node-2', new SetCache())).head?.ruleSet, version(1, 'node-2'));
  assert.equal(await storeContents(t), ['pbig:set', 'pbig:set-delta', 'psmall:set', 'psmall:set']);
  // within the trust period a content is named without storing it again: the store keeps one message per content
  const before = (await t.jsm.streams.info(names(t.prefix).setsStream)).state.last_seq;
  await writer.publish(version(1, 'node-4'));
  assert.is((await t.jsm.streams.info(names(t.prefix).setsStream)).state.last_seq, before);
});

/** Version `seq` of `node` where only the big shared set differs from version 1: what a pod joining a set used everywhere does. */
function setOnly(seq: number, node: string, extraPod = false): RuleSet {
  const v1 = version(1, node);
  const pods = extraPod ? [...v1.pods, { ...v1.pods[0]!, uid: 'extra', pod: 'ns/extra', ips: ['10.8.1.1'] }] : v1.pods;
  return makeRuleSet({ node, pods, rules: v1.rules, sets: [version(seq, node).sets[0]!, v1.sets[1]!] }, { epoch: EPOCH, seq });
}
const group = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const kindsOf = (results: PromiseSettledResult<{ kind?: string; decision: string }>[]): string[] => results.map((r) => (r.status === 'fulfilled' ? (r.value.kind ?? r.value.decision) : `failed: ${String(r.reason)}`));

T('nodes whose only change is a shared set get pointers to one signed manifest; fresh readers and a second writer rebuild exactly', async (ctx) => {
  const t = await transport(ctx);
  const writer = new NodeWriter(t);
  const nodes = group('n', 6);
  assert.equal(kindsOf(await writer.publishMany(nodes.map((n) => setOnly(1, n)))), Array(6).fill('full'));
  const two = await writer.publishMany(nodes.map((n) => setOnly(2, n)), undefined, { perManifest: 4 });
  assert.equal(kindsOf(two), Array(6).fill('pointer'));
  for (const r of two) if (r.status === 'fulfilled') assert.ok((r.value.bytes ?? 0) < 120, `a pointer is ${r.value.bytes} bytes`);
  const manifests = Object.keys((await t.jsm.streams.info(names(t.prefix).setsStream, { subjects_filter: names(t.prefix).setSubject(MANIFEST_SET_ID, '*') })).state.subjects ?? {});
  assert.is(manifests.length, 2, 'six nodes, four per manifest');
  for (const node of nodes) {
    const read = await readNodeHead(t, node);
    same(read.head?.ruleSet, setOnly(2, node));
    assert.equal([read.head?.sinceFull, read.refused], [1, []]);
  }
  // one node also gains a pod: a DELTA for it, pointers for the others
  const three = await writer.publishMany(nodes.map((n, i) => setOnly(3, n, i === 0)));
  assert.equal(kindsOf(three), ['delta', ...Array(5).fill('pointer')]);
  // a second writer reads the chains (pointers included) and builds on them
  const second = new NodeWriter(t);
  assert.equal(kindsOf(await second.publishMany(nodes.map((n, i) => setOnly(4, n, i === 0)))), Array(6).fill('pointer'));
  // a sweep keeps the manifests and set contents retained pointers name, however old
  await sweepSets(t, { graceMs: 1000, now: Date.now() + HOUR });
  for (const [i, node] of nodes.entries()) same((await readNodeHead(t, node)).head?.ruleSet, setOnly(4, node, i === 0));
  // fewer set-only nodes than the minimum: plain DELTAs
  assert.equal(kindsOf(await writer.publishMany(nodes.slice(0, 3).map((n, i) => setOnly(5, n, i === 0)))), Array(3).fill('delta'));
});

T('a forged pointer (no manifest, another group\'s manifest, an unsigned manifest) is refused by readers and published over', async (ctx) => {
  const t = await transport(ctx);
  const n = names(t.prefix);
  const writer = new NodeWriter(t);
  const nodes = group('f', 4), others = group('o', 4);
  await writer.publishMany([...nodes, ...others].map((x) => setOnly(1, x)));
  assert.equal(kindsOf(await writer.publishMany([...nodes, ...others].map((x) => setOnly(2, x)), undefined, { perManifest: 4 })), Array(8).fill('pointer'));
  const othersManifest = Object.keys((await t.jsm.streams.info(n.setsStream, { subjects_filter: n.setSubject(MANIFEST_SET_ID, '*') })).state.subjects ?? {})
    .map((s) => n.setOfSubject(s)!.hash);
  // an unsigned manifest that would move f-2 to version 3's set
  const forged = { schema: 2, kind: 'manifest', version: { epoch: EPOCH, seq: 3 }, sets: [{ id: 'pbig', hash: addressSetHash(setOnly(3, 'f-2').sets[0]!) }], nodes: [['f-2', setOnly(3, 'f-2').contentHash]] } as const;
  const { text, hash } = encodeManifest(forged);
  await t.js.publish(n.setSubject(MANIFEST_SET_ID, hash), Buffer.from(text));
  await writer.publishMany([setOnly(3, 'f-2')]); // the set content is in the store: only the signature is missing
  const forgeries = [['f-0', 'e'.repeat(64)], ['f-1', othersManifest.find((h) => h !== othersManifest[0]) ?? othersManifest[0]!], ['f-2', hash]] as const;
  for (const [node, manifest] of forgeries) await t.js.publish(n.rulesSubject(node), Buffer.from(pointerText(manifest)));
  const reasons = [];
  for (const [node] of forgeries) {
    const read = await readNodeHead(t, node);
    reasons.push(read.refused.at(-1)?.reason);
    assert.ok(read.head !== undefined, `${node}: the reader keeps the chain`);
  }
  assert.equal(reasons, ['malformed', 'wrong-node', 'unsigned']);
  // the writer publishes over each (its held heads are behind the forged messages: it reads again)
  assert.equal(kindsOf(await writer.publishMany(nodes.map((x) => setOnly(4, x)))).filter((k) => k.startsWith('failed')), []);
  for (const node of nodes) same((await readNodeHead(t, node)).head?.ruleSet, setOnly(4, node));
});

T('an old pointer published again is skipped without fetching what its manifest names (long swept, maybe)', async (ctx) => {
  const t = await transport(ctx);
  const n = names(t.prefix);
  const writer = new NodeWriter(t);
  const nodes = group('q', 4);
  await writer.publishMany(nodes.map((x) => setOnly(1, x)));
  assert.equal(kindsOf(await writer.publishMany(nodes.map((x) => setOnly(2, x)))), Array(4).fill('pointer'));
  const [manifest] = Object.keys((await t.jsm.streams.info(n.setsStream, { subjects_filter: n.setSubject(MANIFEST_SET_ID, '*') })).state.subjects ?? {}).map((s) => n.setOfSubject(s)!.hash);
  // version 3: the big set back to version 1's content, and a pod more; then a FULL of it (compaction), so
  // nothing a reader builds on names version 2's content of the big set any more
  const three = (node: string): RuleSet => {
    const { pods, rules, sets } = setOnly(1, node, true);
    return makeRuleSet({ node, pods, rules, sets }, { epoch: EPOCH, seq: 3 });
  };
  assert.equal(kindsOf(await writer.publishMany(nodes.map(three))), Array(4).fill('delta'));
  assert.ok(await writer.compact('q-1', 1));
  // that content is swept (stored before the manifest, it can be older than the grace while the manifest is
  // not), and version 2's pointer, seen on q-0's subject, is published on q-1's: its manifest has q-1 too
  await t.jsm.streams.purge(n.setsStream, { filter: n.setSubject('pbig', addressSetHash(setOnly(2, 'q-0').sets[0]!)) });
  await t.js.publish(n.rulesSubject('q-1'), Buffer.from(pointerText(manifest!)));
  const read = await readNodeHead(t, 'q-1', new SetCache());
  same(read.head?.ruleSet, three('q-1'));
  assert.is(read.skipped, 1);
});

T.run();
