import { createPrivateKey } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addressSetHash, canonicalJson, checkManifest, deltaMessage, encodeManifest, expandNodeMessage, generateSigningKeyPair, isPointerPayload, keyIdOf,
  fullMessage, makeRuleSet, manifestStatement, namedSetRefs, reconstructNewest, parseManifest, parsePointer, planPointers, pointerFor, pointerText, signingKeyFrom, transportHeaders,
  KEY_ID_HEADER, MANIFEST_SET_ID, SIGNATURE_HEADER, STATEMENT_HEADER,
  type AddressSet, type EventManifest, type PointerCandidate, type RuleSet, type SetRef, type Trust,
} from '../src/index.js';
import { ManifestCache } from '../src/nats/index.js';

/**
 * Event manifests and pointers, pure: which nodes of one publish get a pointer, that a pointer expanded on
 * its base is exactly the compiled content, and that a pointer on any other base, or a manifest that is
 * not the one signed, is refused.
 */
const EPOCH = '2026-12-04T01:30:05Z';
const everyone = (seq: number): AddressSet => ({ kind: 'pods', id: 'pall', selector: 'everyone', ips: Array.from({ length: 50 }, (_, i) => `10.0.${i}.${seq}`) });
const web = (seq: number): AddressSet => ({ kind: 'pods', id: 'pweb', selector: 'app=web', ips: [`10.1.0.${seq}`] });

/** A node's rule set at `seq`: its own pods and rule, and the shared sets as they are at `sets`. */
function nodeAt(node: string, seq: number, sets: readonly AddressSet[], extraRule = false): RuleSet {
  const dir = { isolated: true, policies: ['ns/p'], rules: ['r1'] };
  return makeRuleSet({
    node, sets,
    pods: [{ uid: `${node}-u1`, pod: `ns/${node}-a`, ips: [`10.9.0.${node.length}`], ingress: dir, egress: { ...dir, isolated: false, rules: [] } }],
    rules: [
      { id: 'r1', direction: 'ingress', terms: [{ kind: 'peers', peers: sets.map((s) => s.id), ports: 'any' }], origins: [{ policy: 'ns/p', rule: 0 }] },
      ...(extraRule ? [{ id: 'r2', direction: 'egress' as const, terms: [{ kind: 'peers' as const, peers: 'any' as const, ports: 'any' as const }], origins: [{ policy: 'ns/q', rule: 0 }] }] : []),
    ],
  }, { epoch: EPOCH, seq });
}

const candidate = (base: RuleSet, next: RuleSet): PointerCandidate => ({ base, next, delta: deltaMessage(base, next).message });
const lookupOf = (...sets: AddressSet[]) => (ref: SetRef) => sets.find((s) => s.id === ref.id && addressSetHash(s) === ref.hash);
const nodes = (n: number): string[] => Array.from({ length: n }, (_, i) => `node-${i}`);

const Plan = suite('manifests: which nodes get a pointer');

Plan('a set on every node changes: every node gets a pointer, expanding to exactly the compiled content', () => {
  const cs = nodes(6).map((node) => candidate(nodeAt(node, 1, [everyone(1), web(1)]), nodeAt(node, 2, [everyone(2), web(1)])));
  const plan = planPointers(cs, { perManifest: 4, min: 4 });
  assert.equal(plan.manifests.map((m) => m.nodes.length), [4, 2]);
  assert.equal(plan.sets.map((s) => s.id), ['pall'], 'the changed content once');
  for (const { manifest } of plan.manifests) assert.equal(manifest.sets, [{ id: 'pall', hash: addressSetHash(everyone(2)) }]);
  for (const c of cs) {
    const { manifest } = plan.manifests.find((m) => m.nodes.includes(c.next.node))!;
    const pointer = pointerFor(manifest, encodeManifest(manifest).hash, c.next.node)!;
    const out = expandNodeMessage(pointer, c.base, lookupOf(everyone(2)));
    assert.is(out.kind, 'ok');
    if (out.kind === 'ok') assert.is(canonicalJson(out.ruleSet), canonicalJson(c.next));
  }
});

Plan('a node with another change, or holding a changed set that did not change there, gets a plain DELTA', () => {
  const setOnly = nodes(4).map((node) => candidate(nodeAt(node, 1, [everyone(1), web(1)]), nodeAt(node, 2, [everyone(2), web(2)])));
  const ruleToo = candidate(nodeAt('rules', 1, [everyone(1)]), nodeAt('rules', 2, [everyone(2)], true));
  // pweb changed elsewhere, not here: replacing it by the manifest's content would be wrong
  const stale = candidate(nodeAt('stale', 1, [everyone(1), web(1)]), nodeAt('stale', 2, [everyone(2), web(1)]));
  const moved = candidate(nodeAt('moved', 1, [everyone(1), web(1)]), nodeAt('moved', 2, [web(2), everyone(2)]));
  const plan = planPointers([...setOnly, ruleToo, stale, moved], { perManifest: 32, min: 4 });
  assert.equal(plan.manifests.flatMap((m) => m.nodes), nodes(4));
});

Plan('fewer set-only nodes than the minimum, or two versions: no pointers for those', () => {
  const three = nodes(3).map((node) => candidate(nodeAt(node, 1, [everyone(1)]), nodeAt(node, 2, [everyone(2)])));
  assert.equal(planPointers(three, { min: 4 }).manifests, []);
  const other = candidate(nodeAt('later', 1, [everyone(1)]), nodeAt('later', 3, [everyone(2)]));
  const plan = planPointers([...nodes(4).map((node) => candidate(nodeAt(node, 1, [everyone(1)]), nodeAt(node, 2, [everyone(2)]))), other], { min: 4 });
  assert.equal(plan.manifests.flatMap((m) => m.nodes), nodes(4));
  assert.equal(plan.manifests[0]!.manifest.version, { epoch: EPOCH, seq: 2 });
});

Plan('a pointer on another base, or with no base, is wrong-base; it names its manifest and sets for the sweep', () => {
  const cs = nodes(4).map((node) => candidate(nodeAt(node, 1, [everyone(1)]), nodeAt(node, 2, [everyone(2)])));
  const { manifest } = planPointers(cs, { min: 4 }).manifests[0]!;
  const hash = encodeManifest(manifest).hash;
  const pointer = pointerFor(manifest, hash, 'node-0')!;
  const older = expandNodeMessage(pointer, nodeAt('node-0', 0, [everyone(0)], true), lookupOf(everyone(2)));
  assert.is(older.kind === 'refuse' && older.reason, 'wrong-base');
  const none = expandNodeMessage(pointer, undefined, lookupOf(everyone(2)));
  assert.is(none.kind === 'refuse' && none.reason, 'wrong-base');
  const missing = expandNodeMessage(pointer, cs[0]!.base, () => undefined);
  assert.equal(missing.kind === 'missing' && missing.refs, [{ id: 'pall', hash: addressSetHash(everyone(2)) }]);
  assert.equal(namedSetRefs(pointer), [...manifest.sets, { id: MANIFEST_SET_ID, hash }]);
  assert.is(pointerFor(manifest, hash, 'node-9'), undefined, 'no entry: no pointer message');
});

Plan('an old pointer published again after newer ones is no step back for a reader rebuilding the chain', () => {
  const at = (seq: number) => nodeAt('node-0', seq, [everyone(seq)]);
  const pointerTo = (from: number, to: number) => {
    const cs = [candidate(at(from), at(to)), ...nodes(3).map((n) => candidate(nodeAt(n, from, [everyone(from)]), nodeAt(n, to, [everyone(to)])))];
    const { manifest } = planPointers(cs, { min: 4 }).manifests[0]!;
    return pointerFor(manifest, encodeManifest(manifest).hash, 'node-0')!;
  };
  const p2 = pointerTo(1, 2), p3 = pointerTo(2, 3);
  const out = reconstructNewest([fullMessage(at(1)).message, p2, p3, p2], lookupOf(everyone(1), everyone(2), everyone(3)));
  assert.is(out.kind === 'ok' && out.head.ruleSet.version.seq, 3);
  assert.is(out.kind === 'ok' && out.skipped, 1);
});

Plan('manifest fetches are shared while in flight, and a failed one is tried again', async () => {
  const cache = new ManifestCache(2);
  let calls = 0;
  const ok = { kind: 'ok', value: manifestOf(1) } as const;
  const fetch = () => { calls += 1; return new Promise<typeof ok>((resolve) => setTimeout(() => resolve(ok), 5)); };
  const [a, b] = await Promise.all([cache.fetch('h1', fetch), cache.fetch('h1', fetch)]);
  assert.is(calls, 1);
  assert.is(a, b);
  let fail = true;
  const flaky = () => { calls += 1; return fail ? Promise.reject(new Error('not yet')) : Promise.resolve(ok); };
  await cache.fetch('h2', flaky).catch(() => undefined);
  fail = false;
  assert.is((await cache.fetch('h2', flaky)).kind, 'ok');
  assert.is(calls, 3);
  await cache.fetch('h3', fetch);
  await cache.fetch('h1', fetch); // evicted (two held, least recently used out): fetched again
  assert.is(calls, 5);
});

const Check = suite('manifests: signature, bytes and shape at the edge');
const key = signingKeyFrom(createPrivateKey(generateSigningKeyPair().privatePem));
const other = signingKeyFrom(createPrivateKey(generateSigningKeyPair().privatePem));
const trust: Trust = { mode: 'signed', keys: new Map([[keyIdOf(key.publicKey), key.publicKey]]) };
function manifestOf(seq: number): EventManifest {
  return { schema: 2, kind: 'manifest', version: { epoch: EPOCH, seq }, sets: [], nodes: [] };
}
const manifest: EventManifest = { schema: 2, kind: 'manifest', version: { epoch: EPOCH, seq: 7 }, sets: [{ id: 'pall', hash: addressSetHash(everyone(7)) }], nodes: [['node-0', 'a'.repeat(64)]] };
const received = (headers: ReadonlyMap<string, string>, text: string) => ({
  statement: headers.get(STATEMENT_HEADER), signature: { keyId: headers.get(KEY_ID_HEADER), signature: headers.get(SIGNATURE_HEADER) }, body: Buffer.from(text),
});

Check('a signed manifest is read; changed bytes, an unsigned one or a foreign key are refused', () => {
  const { text, hash } = encodeManifest(manifest);
  const ok = checkManifest(received(transportHeaders(key, manifestStatement(manifest)), text), trust, hash);
  assert.is(ok.kind, 'ok');
  if (ok.kind === 'ok') assert.equal(ok.value, manifest);
  const forged = text.replace('a'.repeat(64), 'b'.repeat(64));
  const tampered = checkManifest(received(transportHeaders(key, manifestStatement(manifest)), forged), trust, hash);
  assert.is(tampered.kind === 'refuse' && tampered.reason, 'hash-mismatch');
  // a forger who signs its own bytes still needs a trusted key
  const forgedManifest = JSON.parse(forged) as EventManifest;
  const foreign = checkManifest(received(transportHeaders(other, manifestStatement(forgedManifest)), forged), trust, encodeManifest(forgedManifest).hash);
  assert.is(foreign.kind === 'refuse' && foreign.reason, 'untrusted-key');
  const unsigned = checkManifest(received(transportHeaders(undefined, manifestStatement(manifest)), text), trust, hash);
  assert.is(unsigned.kind === 'refuse' && unsigned.reason, 'unsigned');
  // a statement for another manifest, signed, does not cover these bytes
  const swapped = checkManifest(received(transportHeaders(key, manifestStatement(forgedManifest)), text), trust, hash);
  assert.is(swapped.kind === 'refuse' && swapped.reason, 'malformed');
});

Check('pointer and manifest shapes', () => {
  const text = pointerText('c'.repeat(64));
  assert.ok(isPointerPayload(Buffer.from(text)));
  assert.equal(parsePointer(text), { kind: 'ok', value: { manifest: 'c'.repeat(64) } });
  assert.not.ok(isPointerPayload(Buffer.from('{"schema":2,"kind":"delta","node":"x"}')));
  for (const bad of ['{"schema":2,"kind":"pointer","manifest":"nothex"}', '{"schema":2,"kind":"pointer"}', '[]', 'not json']) assert.is(parsePointer(bad).kind, 'malformed', bad);
  const good = JSON.parse(encodeManifest(manifest).text) as Record<string, unknown>;
  assert.is(parseManifest(JSON.stringify(good)).kind, 'ok');
  for (const [name, v] of [
    ['nodes as an object', { ...good, nodes: { '__proto__': 'a'.repeat(64) } }],
    ['a node entry without a hash', { ...good, nodes: [['node-0']] }],
    ['a set ref without a hash', { ...good, sets: [{ id: 'pall' }] }],
    ['no version', { ...good, version: undefined }],
    ['another kind', { ...good, kind: 'set' }],
  ] as const) assert.is(parseManifest(JSON.stringify(v)).kind, 'malformed', name);
});

Plan.run();
Check.run();
