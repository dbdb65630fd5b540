import { createPrivateKey } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addressSetHash, canonicalJson, checkNodeMessage, checkSetContent, deltaMessage, expandNodeMessage, fullMessage, generateSigningKeyPair,
  advanceHead, keyIdOf, makeRuleSet, nextNodeMessage, nodeMessageStatement, parseNodeMessage, reconstructNewest, resolveSetContent, seededRandom,
  setContentOf, setRefOf, setStatement, signingKeyFrom, transportHeaders, KEY_ID_HEADER, MAX_DELTAS, SIGNATURE_HEADER, STATEMENT_HEADER,
  type AddressSet, type LocalPod, type NodeMessage, type Rule, type RuleSet, type SetLookup, type SetRef, type TierRule, type Trust,
} from '../src/index.js';

// ---- random rule sets over small pools, so pairs share, change, move and drop items ------------------------
const EPOCH = '2026-12-04T01:30:05.123456789Z';
type Rand = { int(n: number): number; chance(p: number): boolean };
const rand = (seed: number): Rand => {
  const next = seededRandom(seed);
  return { int: (n) => Math.floor(next() * n), chance: (p) => next() < p };
};
const sample = <T>(r: Rand, xs: readonly T[], p: number): T[] => xs.filter(() => r.chance(p));

function randomSet(r: Rand, id: string): AddressSet {
  const ips = sample(r, Array.from({ length: 24 }, (_, i) => `10.0.${i % 3}.${i}`), 0.5).sort();
  switch (r.int(4)) {
    case 0: return { kind: 'cidr', id, cidr: '10.0.0.0/8', except: r.chance(0.5) ? ['10.1.0.0/16'] : [] };
    case 1: return { kind: 'pod-ports', id, selector: `app=${id}`, entries: ips.map((ip) => ({ ip, protocol: 'TCP' as const, port: 80 + r.int(2) })) };
    case 2: return { kind: 'nodes', id, selector: `role=${id}`, ips };
    default: return { kind: 'pods', id, selector: `app=${id}`, ips };
  }
}

function randomRuleSet(r: Rand, seq: number, node = 'node-a'): RuleSet {
  const sets = sample(r, ['s1', 's2', 's3', 's4', 's5', 's6'], 0.6).map((id) => randomSet(r, id));
  const rules: Rule[] = sample(r, ['r1', 'r2', 'r3', 'r4', 'r5'], 0.6).map((id) => ({
    id, direction: r.chance(0.5) ? 'ingress' : 'egress', terms: [{ kind: 'peers', peers: sets.slice(0, r.int(3)).map((s) => s.id), ports: 'any' }],
    origins: [{ policy: `ns/p-${id}`, rule: r.int(3) }],
  }));
  const tierRules: TierRule[] = sample(r, ['t1', 't2'], 0.3).map((id) => ({
    id, direction: 'ingress', action: 'Deny', terms: [{ kind: 'peers', peers: 'any', ports: 'any' }], origin: { policy: id, tier: 'admin', priority: 1, rule: 0 },
  }));
  const dir = () => ({ isolated: r.chance(0.5), policies: ['ns/p'], rules: sample(r, rules.map((x) => x.id), 0.5) });
  const pods: LocalPod[] = sample(r, ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'], 0.6).map((uid) => ({ uid, pod: `ns/${uid}`, ips: [`10.9.0.${uid.slice(1)}`], ingress: dir(), egress: dir() }));
  if (r.chance(0.3)) pods.reverse(); // an order that is no sort: the delta must keep it exactly
  return makeRuleSet({ node, pods, rules, sets, ...(tierRules.length ? { tierRules } : {}) }, { epoch: EPOCH, seq });
}

/** `rs` a step later: most items kept as they are, some moved, changed or dropped, one set's members nudged. */
function evolved(r: Rand, rs: RuleSet): RuleSet {
  const pods = r.chance(0.5) ? [...rs.pods].reverse() : rs.pods.filter(() => r.chance(0.8));
  const sets = rs.sets.map((s) => (r.chance(0.3) ? nudged(r, s) : s));
  const rules = rs.rules.filter(() => r.chance(0.9));
  return makeRuleSet({ node: rs.node, pods, rules, sets, ...(rs.tierRules ? { tierRules: rs.tierRules } : {}) }, { epoch: EPOCH, seq: rs.version.seq + 1 });
}

/** `set` with one member added or removed (a pod joining or leaving). */
function nudged(r: Rand, set: AddressSet): AddressSet {
  const ip = `10.0.7.${r.int(250)}`;
  if (set.kind === 'pods' || set.kind === 'nodes') return { ...set, ips: set.ips.includes(ip) ? set.ips.filter((x) => x !== ip) : [...set.ips, ip].sort() };
  if (set.kind === 'pod-ports') return { ...set, entries: set.entries.length > 0 && r.chance(0.5) ? set.entries.slice(1) : [...set.entries, { ip, protocol: 'TCP', port: 80 }] };
  return set;
}

/** A set store as a reader holds it: contents by (id, hash). */
function storeOf(...ruleSets: RuleSet[]): SetLookup {
  const m = new Map<string, AddressSet>();
  for (const rs of ruleSets) for (const s of rs.sets) m.set(`${s.id}.${addressSetHash(s)}`, s);
  return (ref: SetRef) => m.get(`${ref.id}.${ref.hash}`);
}
const wire = (m: NodeMessage): NodeMessage => {
  const parsed = parseNodeMessage(JSON.stringify(m));
  if (parsed.kind !== 'ok') throw new Error(parsed.detail);
  return parsed.value;
};
const same = (a: RuleSet, b: RuleSet): void => assert.is(canonicalJson(a), canonicalJson(b));

// ---- delta and expansion -----------------------------------------------------------------------------------
const Delta = suite('node messages: expand(delta(a, b), a) == b, through the wire');
Delta('300 random pairs, content hash checked', () => {
  const r = rand(7);
  for (let i = 0; i < 300; i++) {
    const a = randomRuleSet(r, 10 + i), b = r.chance(0.5) ? randomRuleSet(r, 11 + i) : evolved(r, a);
    const { message, sets } = deltaMessage(a, b);
    const lookup = storeOf(makeRuleSet({ node: 'x', pods: [], rules: [], sets: [...sets] }, a.version));
    const out = expandNodeMessage(wire(message), a, lookup);
    if (out.kind !== 'ok') assert.unreachable(`pair ${i}: ${JSON.stringify(out)}`);
    else same(out.ruleSet, b);
  }
});
Delta('an applier restarted from its state file (the rule set as JSON) resumes deltas on it', () => {
  const r = rand(13);
  const a = randomRuleSet(r, 1), b = evolved(r, a);
  const fromFile = JSON.parse(JSON.stringify(a)) as RuleSet;
  const out = expandNodeMessage(wire(deltaMessage(a, b).message), fromFile, storeOf(b));
  assert.ok(out.kind === 'ok' && out.ruleSet.contentHash === b.contentHash);
});
Delta('a FULL expands to the rule set from its sets alone', () => {
  const r = rand(8);
  for (let i = 0; i < 50; i++) {
    const b = randomRuleSet(r, i);
    const out = expandNodeMessage(wire(fullMessage(b).message), undefined, storeOf(b));
    assert.is(out.kind, 'ok');
    if (out.kind === 'ok') same(out.ruleSet, b);
  }
});
Delta('an unchanged set travels as nothing, a changed one as a reference', () => {
  const set: AddressSet = { kind: 'pods', id: 's1', selector: 'app=a', ips: ['10.0.0.1'] };
  const other: AddressSet = { kind: 'pods', id: 's2', selector: 'app=b', ips: ['10.0.0.2'] };
  const a = makeRuleSet({ node: 'n', pods: [], rules: [], sets: [set, other] }, { epoch: EPOCH, seq: 1 });
  const b = makeRuleSet({ node: 'n', pods: [], rules: [], sets: [{ ...set, ips: ['10.0.0.1', '10.0.0.3'] }, other] }, { epoch: EPOCH, seq: 2 });
  const { message, sets } = deltaMessage(a, b);
  assert.equal(message.sets, { del: [], put: [[0, setRefOf(b.sets[0]!)]] });
  assert.equal(sets.map((s) => s.id), ['s1']);
  assert.is(message.pods, undefined);
});
Delta.run();

const Refuse = suite('node messages: refusals keep the reader where it was');
const r0 = rand(9);
const A = randomRuleSet(r0, 1), B = randomRuleSet(r0, 2), C = randomRuleSet(r0, 3);
const all = storeOf(A, B, C);
Refuse('a delta on another base is refused (wrong-base)', () => {
  const out = expandNodeMessage(deltaMessage(A, B).message, C, all);
  assert.is(out.kind === 'refuse' && out.reason, 'wrong-base');
  assert.is(expandNodeMessage(deltaMessage(A, B).message, undefined, all).kind, 'refuse');
});
Refuse('a delta whose result does not hash to its contentHash is refused', () => {
  const m = { ...deltaMessage(A, B).message, contentHash: C.contentHash };
  const out = expandNodeMessage(m, A, all);
  assert.is(out.kind === 'refuse' && out.reason, 'hash-mismatch');
});
Refuse('a set whose content does not hash to its reference is refused, never mixed in', () => {
  const target = makeRuleSet({ node: 'n', pods: [], rules: [], sets: [{ kind: 'pods', id: 's1', selector: 'x', ips: ['10.0.0.1'] }] }, { epoch: EPOCH, seq: 1 });
  const forged: SetLookup = (ref) => ({ kind: 'pods', id: ref.id, selector: 'x', ips: ['0.0.0.0'] });
  const out = expandNodeMessage(fullMessage(target).message, undefined, forged);
  assert.is(out.kind === 'refuse' && out.reason, 'hash-mismatch');
});
Refuse('set contents not in hand: missing, with the references to fetch', () => {
  const out = expandNodeMessage(fullMessage(B).message, undefined, () => undefined);
  if (B.sets.length === 0) assert.is(out.kind, 'ok');
  else assert.equal(out.kind === 'missing' && out.refs, B.sets.map(setRefOf));
});
Refuse('malformed shapes are refused at the edge', () => {
  const full = fullMessage(B).message;
  const cases: Array<[string, unknown]> = [
    ['schema 1', { ...full, schema: 1 }], ['no kind', { ...full, kind: 'patch' }], ['bad hash', { ...full, contentHash: 'x' }],
    ['sets with members', { ...full, sets: [{ id: 's1', ips: [] }] }], ['delta with bad put', { ...deltaMessage(A, B).message, pods: { del: [], put: [[-1, {}]] } }],
    ['delta without base', { ...deltaMessage(A, B).message, base: undefined }], ['not JSON', '{'],
  ];
  for (const [name, v] of cases) assert.is(parseNodeMessage(typeof v === 'string' ? v : JSON.stringify(v)).kind, 'malformed', name);
});
Refuse.run();

// ---- set store -------------------------------------------------------------------------------------------
const Sets = suite('set store: member deltas on a base content');
Sets('resolve(setContentOf(b, a), a) == b for random pairs of the same set', () => {
  const r = rand(10);
  let deltas = 0;
  for (let i = 0; i < 300; i++) {
    const a = randomSet(r, 's');
    const b = r.chance(0.5) ? randomSet(r, 's') : nudged(r, a);
    const content = setContentOf(b, a);
    deltas += content.kind === 'set-delta' ? 1 : 0;
    const out = resolveSetContent(JSON.parse(JSON.stringify(content)), a);
    assert.is(out.kind === 'ok' && addressSetHash(out.set), addressSetHash(b), `pair ${i}`);
  }
  assert.ok(deltas > 10, `some pairs travel as deltas (${deltas})`);
});
Sets('one address more in a big set is one address on the wire', () => {
  const ips = Array.from({ length: 5000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`).sort();
  const a: AddressSet = { kind: 'pods', id: 's', selector: 'all', ips };
  const b: AddressSet = { ...a, ips: [...ips, '10.99.0.1'].sort() };
  const c = setContentOf(b, a);
  assert.ok(JSON.stringify(c).length < 300, JSON.stringify(c));
  assert.is(resolveSetContent(c, b).kind, 'refuse', 'a delta on another base is refused');
});
Sets.run();

// ---- chain and reconstruction ----------------------------------------------------------------------------
const Chain = suite('chain: FULL every N, reconstruction from the retained messages');
Chain('a reader rebuilds the newest version from the last MAX_DELTAS + 1 messages; deltas stay on their chain', () => {
  const r = rand(11);
  const N = 4;
  const published: NodeMessage[] = [];
  const seen: RuleSet[] = [];
  let head: { ruleSet: RuleSet; sinceFull: number } | undefined;
  for (let i = 1; i <= 30; i++) {
    const next = randomRuleSet(r, i);
    seen.push(next);
    const { message } = nextNodeMessage(head, next, N);
    published.push(wire(message));
    head = advanceHead(head, message, next);
  }
  const retained = published.slice(-(N + 1));
  assert.ok(retained.some((m) => m.kind === 'full'));
  const out = reconstructNewest(retained, storeOf(...seen));
  if (out.kind !== 'ok') assert.unreachable(JSON.stringify(out));
  else {
    same(out.head.ruleSet, seen.at(-1)!);
    assert.is(out.skipped, 0);
  }
  // a reader that missed set contents learns which to fetch; one with no FULL retained has nothing to build on
  assert.is(reconstructNewest(retained.filter((m) => m.kind === 'delta'), storeOf(...seen)).kind, 'empty');
});
Chain('a DELTA worked out earlier is used only when its base is the head (content and version) and it reaches the next', () => {
  const head = { ruleSet: B, sinceFull: 1 };
  const known = deltaMessage(B, C);
  assert.is(nextNodeMessage(head, C, MAX_DELTAS, known).message, known.message, 'its base is the head: taken as it is');
  for (const [name, stale] of [
    ['another base', deltaMessage(A, C)],
    ['the head content at another version', deltaMessage(makeRuleSet({ node: B.node, pods: B.pods, rules: B.rules, sets: B.sets, ...(B.tierRules ? { tierRules: B.tierRules } : {}) }, { ...B.version, seq: B.version.seq + 7 }), C)],
  ] as const) {
    const out = nextNodeMessage(head, C, MAX_DELTAS, stale).message;
    assert.ok(out.kind === 'delta' && out.base.contentHash === B.contentHash && out.base.version.seq === B.version.seq, name);
  }
});

Chain('a message that does not build on the chain is skipped, never applied', () => {
  const r = rand(12);
  const a = randomRuleSet(r, 1), b = randomRuleSet(r, 2), x = randomRuleSet(r, 3);
  const forged = deltaMessage(x, randomRuleSet(r, 4)).message;
  const out = reconstructNewest([fullMessage(a).message, forged, deltaMessage(a, b).message], storeOf(a, b, x));
  assert.ok(out.kind === 'ok' && out.head.ruleSet.contentHash === b.contentHash && out.skipped === 1);
});
Chain.run();

// ---- statements and signatures -------------------------------------------------------------------------
const Signed = suite('statements: signed node and set messages');
const pair = generateSigningKeyPair();
const key = signingKeyFrom(createPrivateKey(pair.privatePem));
const trust: Trust = { mode: 'signed', keys: new Map([[keyIdOf(key.publicKey), key.publicKey]]) };
const received = (headers: ReadonlyMap<string, string>, body: unknown) => ({
  statement: headers.get(STATEMENT_HEADER), signature: { keyId: headers.get(KEY_ID_HEADER), signature: headers.get(SIGNATURE_HEADER) },
  body: Buffer.from(JSON.stringify(body)),
});
Signed('a signed delta is checked; its statement covers the base', () => {
  const m = deltaMessage(A, B).message;
  assert.is(nodeMessageStatement(m).base, A.contentHash);
  assert.is(checkNodeMessage(received(transportHeaders(key, nodeMessageStatement(m)), m), trust, 'node-a').kind, 'ok');
});
Signed('unsigned, another node, or a body that disagrees with its statement: refused', () => {
  const m = deltaMessage(A, B).message;
  const unsigned = checkNodeMessage(received(transportHeaders(undefined, nodeMessageStatement(m)), m), trust, 'node-a');
  assert.is(unsigned.kind === 'refuse' && unsigned.reason, 'unsigned');
  const headers = transportHeaders(key, nodeMessageStatement(m));
  const other = checkNodeMessage(received(headers, m), trust, 'node-b');
  assert.is(other.kind === 'refuse' && other.reason, 'wrong-node');
  const rebased = checkNodeMessage(received(headers, { ...m, base: { ...m.base, contentHash: C.contentHash } }), trust, 'node-a');
  assert.is(rebased.kind === 'refuse' && rebased.reason, 'malformed');
});
Signed('a set store message must provide exactly the content asked for', () => {
  const set: AddressSet = { kind: 'pods', id: 's1', selector: 'a', ips: ['10.0.0.1'] };
  const content = setContentOf(set, undefined);
  const headers = transportHeaders(key, setStatement(content));
  assert.is(checkSetContent(received(headers, content), trust, setRefOf(set)).kind, 'ok');
  const tampered = { kind: 'set', set: { ...set, ips: ['0.0.0.0/0'] } };
  const out = checkSetContent(received(headers, tampered), trust, setRefOf(set));
  assert.is(out.kind === 'refuse' && out.reason, 'malformed', 'the tampered content no longer matches the signed statement');
  const elsewhere = checkSetContent(received(headers, content), trust, { id: 's1', hash: 'f'.repeat(64) });
  assert.is(elsewhere.kind === 'refuse' && elsewhere.reason, 'hash-mismatch');
});
Signed.run();
