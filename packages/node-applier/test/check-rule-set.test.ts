import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey } from 'node:crypto';
import {
  KEY_ID_HEADER, SIGNATURE_HEADER, STATEMENT_HEADER, generateSigningKeyPair, loadTrustedKeys, makeRuleSet, ruleSetHeaders,
  signingKeyFrom, statementOf, statementText, type RuleSet, type Trust,
} from '@knp/shared';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRuleSet, type ReceivedRuleSet } from '@knp/shared';
import { localPod, peers, tierRule, tieredRuleSet, withTiers } from '@knp/testing';

const Check = suite('checkRuleSet: which rule sets the applier of node-1 applies');
const EPOCH = '2026-12-04T01:30:05.123456789Z';
const events = { epoch: EPOCH, lastSeq: 40 };
const compiler = generateSigningKeyPair(), intruder = generateSigningKeyPair();
const signer = signingKeyFrom(createPrivateKey(compiler.privatePem));
const forger = signingKeyFrom(createPrivateKey(intruder.privatePem));
const dir = mkdtempSync(join(tmpdir(), 'knp-check-'));
writeFileSync(join(dir, 'compiler.pub'), compiler.publicPem);
const trusted: Trust = { mode: 'signed', keys: loadTrustedKeys([dir]) };
rmSync(dir, { recursive: true });
const unsigned: Trust = { mode: 'unsigned' };

const rule = { id: 'r1', direction: 'ingress', pod: 'u1', action: 'allow' } as never;
const ruleSet = (over: Partial<{ node: string; epoch: string; seq: number; rules: unknown[] }> = {}): RuleSet =>
  makeRuleSet({ node: over.node ?? 'node-1', pods: [], rules: (over.rules ?? []) as never, sets: [] }, { epoch: over.epoch ?? EPOCH, seq: over.seq ?? 30 });

/** A message as a compiler holding `key` publishes it; `body` replaces the content (a forgery keeping the header). */
function message(rs: RuleSet, key: typeof signer | 'unsigned' = signer, body?: object): ReceivedRuleSet {
  const h = ruleSetHeaders(key === 'unsigned' ? undefined : key, rs);
  return { statement: h.get(STATEMENT_HEADER), signature: { keyId: h.get(KEY_ID_HEADER), signature: h.get(SIGNATURE_HEADER) }, body: Buffer.from(JSON.stringify(body ?? rs)) };
}
const good = ruleSet();
const emptied = { ...good, rules: [], pods: [], sets: [] };
const withRule = ruleSet({ rules: [rule] });
const denyAll = tierRule('t1', 'ingress', 'Deny', [peers('any')]);
const tieredPod = (ids: string[]) => withTiers(localPod({ name: 'x/a', ips: ['10.0.0.1'] }), { ingress: { admin: ids } });
const tiered = tieredRuleSet({ pods: [tieredPod(['t1'])], tierRules: [denyAll] }, 30, EPOCH);
const badTiers = tieredRuleSet({ pods: [tieredPod(['t2'])], tierRules: [denyAll] }, 30, EPOCH);

const cases: Array<[name: string, msg: ReceivedRuleSet, trust: Trust, applied: { epoch: string; seq: number } | undefined, expected: string]> = [
  ['a signed rule set of the current epoch is applied', message(good), trusted, undefined, 'accept'],
  ['a newer signed rule set is applied over the one in force', message(good), trusted, { epoch: EPOCH, seq: 29 }, 'accept'],
  ['a rule set published by hand without a signature is refused', message(good, 'unsigned'), trusted, undefined, 'unsigned'],
  ['a message with no statement header is refused when signing is required', { ...message(good), statement: undefined }, trusted, undefined, 'unsigned'],
  ['a rule set signed by an untrusted key is refused', message(good, forger), trusted, undefined, 'untrusted-key'],
  ['a statement edited after signing is refused', { ...message(good), statement: statementText({ ...statementOf(good), seq: 31 }) }, trusted, undefined, 'bad-signature'],
  ['content swapped under a genuine statement (every jump gone) is refused', message(withRule, signer, { ...withRule, rules: [] }), trusted, undefined, 'hash-mismatch'],
  ['empty content carrying a non-empty rule set\'s hash is refused even unsigned', message(withRule, 'unsigned', { ...withRule, rules: [] }), unsigned, undefined, 'hash-mismatch'],
  ['a rule set for another node is refused', message(ruleSet({ node: 'node-2' })), trusted, undefined, 'wrong-node'],
  ['a rule set of a foreign epoch is refused', message(ruleSet({ epoch: '2026-12-04T01:30:05.1Z' })), trusted, undefined, 'foreign-epoch'],
  ['an epoch "zzzz" is refused', message(ruleSet({ epoch: 'zzzz' }), 'unsigned'), unsigned, undefined, 'foreign-epoch'],
  ['the same instant written with another offset is the same epoch', message(ruleSet({ epoch: '2026-12-04T02:30:05.123456789+01:00' })), trusted, undefined, 'accept'],
  ['a seq the events stream has not reached (2^53-1) is refused', message(ruleSet({ seq: Number.MAX_SAFE_INTEGER }), 'unsigned'), unsigned, undefined, 'future-seq'],
  ['a seq past the events stream\'s last is refused even signed', message(ruleSet({ seq: 41 })), trusted, undefined, 'future-seq'],
  ['the rule set in force, seen again, is stale', message(good), trusted, { epoch: EPOCH, seq: 30 }, 'stale'],
  ['an older rule set is stale', message(good), trusted, { epoch: EPOCH, seq: 35 }, 'stale'],
  ['a rule set of the current epoch replaces one of an older epoch', message(good), trusted, { epoch: '2025-01-01T00:00:00Z', seq: 900 }, 'accept'],
  ['a body that disagrees with its statement\'s version is refused', message(good, signer, { ...good, version: { epoch: EPOCH, seq: 12 } }), trusted, undefined, 'malformed'],
  ['a body that is not JSON is refused', { ...message(good), body: Buffer.from('{') }, trusted, undefined, 'malformed'],
  ['an unsigned rule set is applied when no compiler key is trusted', message(good, 'unsigned'), unsigned, undefined, 'accept'],
  ['a signed rule set with tier rules is applied', message(tiered), trusted, undefined, 'accept'],
  ['a signed rule set whose pod names a tier rule it does not hold is refused as malformed', message(badTiers), trusted, undefined, 'malformed'],
];
for (const [name, msg, trust, applied, expected] of cases)
  Check(`${name} -> ${expected}`, () => {
    const c = checkRuleSet(msg, trust, 'node-1', events, applied);
    assert.is(c.kind === 'refuse' ? c.reason : c.kind, expected, c.kind === 'refuse' ? c.detail : undefined);
  });
Check.run();
