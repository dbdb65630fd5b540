import { createPrivateKey, createPublicKey } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkEventSignature, generateSigningKeyPair, signingKeyFrom } from '@knp/shared';
import { EventSigner } from '../src/event-signer.js';

const Signer = suite('event signer');
const pair = generateSigningKeyPair();
const key = signingKeyFrom(createPrivateKey(pair.privatePem));
const trust = { mode: 'signed' as const, keys: new Map([[pair.keyId, createPublicKey(pair.publicPem)]]) };
const headersOf = (m: ReadonlyMap<string, string>) => ({ get: (name: string) => m.get(name) ?? '' });
const payload = Buffer.from('{"op":"added"}');

Signer('each event gets the next counter of one instance start, and verifies with the public key', () => {
  const signer = new EventSigner(key, () => 5_000);
  const [a, b] = [signer.next(), signer.next()];
  assert.equal([a, b], [{ start: 5_000, counter: 1 }, { start: 5_000, counter: 2 }]);
  assert.equal(checkEventSignature(trust, headersOf(signer.headers(b, payload)), payload), { origin: { keyId: pair.keyId, ...b } });
});

Signer('what this key signed counts as published; unsigned or other keys\' history does not; a restart starts after the newest start seen', () => {
  const before = new EventSigner(key, () => 9_000);
  const stored = headersOf(before.headers(before.next(), payload));
  const other = new EventSigner(signingKeyFrom(createPrivateKey(generateSigningKeyPair().privatePem)), () => 1);
  const restarted = new EventSigner(key, () => 8_000); // the clock went back
  assert.is(restarted.signedByUs(stored, payload), true);
  assert.is(restarted.signedByUs(stored, Buffer.from('{"op":"deleted"}')), false, 'a forged payload under our key id');
  assert.is(restarted.signedByUs(undefined, payload), false);
  assert.is(restarted.signedByUs(headersOf(other.headers(other.next(), payload)), payload), false);
  assert.is(restarted.next().start, 9_001);
});

Signer.run();
