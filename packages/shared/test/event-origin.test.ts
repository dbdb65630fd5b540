import { createPrivateKey } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  KEY_ID_HEADER, ORIGIN_HEADER, SIGNATURE_HEADER, checkEventSignature, eventSignatureHeaders, generateSigningKeyPair, parseOrigin,
  signingKeyFrom, type TrustedKeys,
} from '../src/index.js';
import { createPublicKey } from 'node:crypto';

const Origin = suite('event origin and signature');

const pair = () => {
  const p = generateSigningKeyPair();
  const key = signingKeyFrom(createPrivateKey(p.privatePem));
  return { key, trusted: new Map([[p.keyId, createPublicKey(p.publicPem)]]) as TrustedKeys };
};
const watcher = pair(), other = pair();
const signed = { mode: 'signed' as const, keys: watcher.trusted };
const payload = Buffer.from('{"schema":1,"op":"sync","kind":"NetworkPolicy","uids":[]}');
const headersOf = (m: ReadonlyMap<string, string>) => ({ get: (name: string) => m.get(name) ?? '' });
const good = eventSignatureHeaders(watcher.key, { start: 1_700_000_000_000, counter: 7 }, payload);
const edited = (name: string, value: string | undefined) => {
  const m = new Map(good);
  if (value === undefined) m.delete(name);
  else m.set(name, value);
  return headersOf(m);
};

Origin('origins are <start>.<counter>, decimal, bounded; anything else is none', () => {
  assert.equal(parseOrigin('1700000000000.7'), { start: 1_700_000_000_000, counter: 7 });
  for (const bad of [undefined, '', '1.', '.1', '-1.2', '1.2.3', '1e3.4', '1234567890123456.1', ' 1.2', '0x1.2']) assert.is(parseOrigin(bad), undefined, String(bad));
});

Origin('a signed event verifies and yields its origin with the signing key', () => {
  const r = checkEventSignature(signed, headersOf(good), payload);
  assert.equal(r, { origin: { keyId: watcher.key.keyId, start: 1_700_000_000_000, counter: 7 } });
});

Origin('unsigned trust takes everything and guards nothing', () => {
  assert.equal(checkEventSignature({ mode: 'unsigned' }, undefined, payload), { origin: undefined });
});

const refusalOf = (r: ReturnType<typeof checkEventSignature>): string => ('refusal' in r ? r.refusal.reason : 'accepted');

Origin('refused: no signature, another key, a bad signature, an edited payload or origin, a malformed origin', () => {
  assert.is(refusalOf(checkEventSignature(signed, undefined, payload)), 'unsigned');
  assert.is(refusalOf(checkEventSignature(signed, edited(SIGNATURE_HEADER, undefined), payload)), 'unsigned');
  assert.is(refusalOf(checkEventSignature(signed, headersOf(eventSignatureHeaders(other.key, { start: 1, counter: 1 }, payload)), payload)), 'untrusted-key');
  assert.is(refusalOf(checkEventSignature(signed, edited(KEY_ID_HEADER, other.key.keyId), payload)), 'untrusted-key');
  assert.is(refusalOf(checkEventSignature(signed, edited(SIGNATURE_HEADER, Buffer.alloc(64).toString('base64')), payload)), 'bad-signature');
  assert.is(refusalOf(checkEventSignature(signed, headersOf(good), Buffer.from(payload.toString().replace('[]', '["x"]')))), 'bad-signature');
  // a captured event cannot be given a newer origin: the origin is signed too
  assert.is(refusalOf(checkEventSignature(signed, edited(ORIGIN_HEADER, '1700000000000.8'), payload)), 'bad-signature');
  assert.is(refusalOf(checkEventSignature(signed, edited(ORIGIN_HEADER, 'later'), payload)), 'malformed');
  assert.is(refusalOf(checkEventSignature(signed, edited(ORIGIN_HEADER, undefined), payload)), 'malformed');
});

Origin.run();
