import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import {
  KEY_ID_HEADER, SIGNATURE_HEADER, KeyError, checkSignature, generateSigningKeyPair, loadSigningKey, loadTrustedKeys, signatureHeaders, signingKeyFrom, type Trust,
} from '../src/index.js';

const Signing = suite('Ed25519 signatures and trust');
const bytes = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const pair = generateSigningKeyPair();
const signer = signingKeyFrom(createPrivateKey(pair.privatePem));
const other = signingKeyFrom(createPrivateKey(generateSigningKeyPair().privatePem));

function trusting(...pems: string[]): Trust {
  const dir = mkdtempSync(join(tmpdir(), 'knp-keys-'));
  try {
    pems.forEach((pem, i) => writeFileSync(join(dir, `k${i}.pub`), pem));
    return { mode: 'signed', keys: loadTrustedKeys([dir]) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const signed = (key: typeof signer, data: string) => {
  const h = signatureHeaders(key, bytes(data));
  return { keyId: h.get(KEY_ID_HEADER), signature: h.get(SIGNATURE_HEADER) };
};

const trust = trusting(pair.publicPem);
const cases: Array<[name: string, check: () => ReturnType<typeof checkSignature>, expected: string | undefined]> = [
  ['a message signed by a trusted key is accepted', () => checkSignature(trust, signed(signer, 'event'), bytes('event')), undefined],
  ['a message signed by another key is refused as untrusted', () => checkSignature(trust, signed(other, 'event'), bytes('event')), 'untrusted-key'],
  ['a changed payload is refused as a bad signature', () => checkSignature(trust, signed(signer, 'event'), bytes('event!')), 'bad-signature'],
  ['a signature cut short is refused', () => checkSignature(trust, { keyId: signer.keyId, signature: 'AAAA' }, bytes('event')), 'bad-signature'],
  ['an unsigned message is refused when signing is required', () => checkSignature(trust, { keyId: undefined, signature: undefined }, bytes('event')), 'unsigned'],
  ['a malformed key id is refused', () => checkSignature(trust, { keyId: '../../etc', signature: signed(signer, 'e').signature }, bytes('e')), 'untrusted-key'],
  ['without trusted keys everything is accepted (unsigned mode)', () => checkSignature({ mode: 'unsigned' }, { keyId: undefined, signature: undefined }, bytes('event')), undefined],
];
for (const [name, check, expected] of cases) Signing(name, () => assert.is(check()?.reason, expected));

Signing('key files round-trip: the private key signs, its public key verifies, ids agree', () => {
  const dir = mkdtempSync(join(tmpdir(), 'knp-keys-'));
  try {
    writeFileSync(join(dir, 'w.key'), pair.privatePem);
    writeFileSync(join(dir, 'w.pub'), pair.publicPem);
    const key = loadSigningKey(join(dir, 'w.key'));
    assert.is(key.keyId, pair.keyId);
    const keys = loadTrustedKeys([join(dir, 'w.pub')]);
    assert.equal([...keys.keys()], [pair.keyId]);
    assert.throws(() => loadSigningKey(join(dir, 'missing.key')), (err: unknown) => err instanceof KeyError && /missing\.key/.test((err as Error).message));
    writeFileSync(join(dir, 'junk.pub'), 'not a key');
    assert.throws(() => loadTrustedKeys([dir]), (err: unknown) => err instanceof KeyError && /junk\.pub/.test((err as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Signing.run();
